"""`python -m aco ...`: the same as the `aco` console command."""

from aco.cli.app import main

main()
