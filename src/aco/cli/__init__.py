"""The `aco` command line (typer): the function signatures are the CLI."""
