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


def _usage_error_type() -> type[Exception]:
    """The ClickException class of the click that typer runs on (recent typer vendors its own copy)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "ClickException":
            return cls
    raise RuntimeError("typer.BadParameter does not derive from a ClickException")  # pragma: no cover


def main() -> None:
    """Console entry point.

    A usage error (unknown option, missing argument, bad value) prints the usage line and one line naming the
    problem; an AcoError prints `error: ...`; both exit 2 without a traceback.
    """
    app = build_app()
    try:
        code = app(prog_name="aco", standalone_mode=False)
    except AcoError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        raise SystemExit(1) from None
    except _usage_error_type() as exc:
        exc.show()  # type: ignore[attr-defined]
        raise SystemExit(exc.exit_code) from None  # type: ignore[attr-defined]
    # non-standalone click returns the code of an explicit exit (e.g. --help) instead of exiting
    raise SystemExit(code if isinstance(code, int) else 0)
