"""The `aco` application: each command module registers its commands on the one app."""

from __future__ import annotations

import importlib

import typer

from aco.errors import AcoError

_COMMAND_MODULES = (
    "aco.cli.datasets",
    "aco.cli.bench",
    "aco.cli.serve",
    "aco.cli.online",
    "aco.cli.feedback",
    "aco.cli.train",
    "aco.cli.scale",
    "aco.cli.parity",
)


def build_app() -> typer.Typer:
    """A fresh app with every command registered (no globals, so tests get their own)."""
    app = typer.Typer(
        name="aco", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
        help="aco, the Agent Cost Optimizer: replay, train and serve cost-aware model routers.",
    )
    for module in _COMMAND_MODULES:
        importlib.import_module(module).register(app)
    return app


def main() -> None:
    """Console entry point: AcoErrors become a one-line message and exit code 2."""
    app = build_app()
    try:
        app(standalone_mode=False)
    except AcoError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        raise SystemExit(1) from None
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        raise
