"""`aco datasets list|info|fetch|ensure`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from aco.cli.options import DataDirOption
from aco.settings import AcoSettings

if TYPE_CHECKING:
    import httpx

TransportFactory = Callable[[], "httpx.BaseTransport | None"]


def _data_dir(explicit: Path | None) -> Path | None:
    return explicit if explicit is not None else AcoSettings().data_dir


def list_datasets() -> None:
    """List the datasets aco knows, with their source."""
    from aco.datasets.registry import DATASETS, describe

    table = Table(title="datasets")
    table.add_column("name")
    table.add_column("description")
    for name in DATASETS:
        table.add_row(name, describe(name))
    Console().print(table)


def info(name: Annotated[str, typer.Argument(help="Dataset name or path to an outcomes CSV/JSONL.")],
         data_dir: DataDirOption = None) -> None:
    """Shape, models (mean score, total cost) and categories of one dataset."""
    from aco.datasets.registry import dataset_info

    details = dataset_info(name, _data_dir(data_dir))
    console = Console()
    console.print(f"[bold]{name}[/]: {details['n_tasks']} tasks x {details['n_models']} models "
                  f"({details.get('path', '')})")
    table = Table()
    for column in ("model", "tier", "success", "total cost $"):
        table.add_column(column)
    for model in details["models"]:
        table.add_row(model["name"], str(model.get("tier", "")), f"{model['success']:.3f}",
                      f"{model['cost_usd']:,.2f}")
    console.print(table)


def network_transport() -> httpx.BaseTransport | None:
    """The transport downloads use by default: None, i.e. httpx's own network transport."""
    return None


def _echo_fetched(name: str, paths: list[Path] | tuple[Path, ...]) -> None:
    from aco.datasets.fetch import not_fetched_note

    for path in paths:
        typer.echo(f"fetched {path}")
    note = not_fetched_note(name)
    if note:
        typer.echo(f"not fetched (not needed for the outcome table): {note}")


def make_fetch(transport_factory: TransportFactory = network_transport) -> Callable[..., None]:
    """The `fetch` command, downloading through `transport_factory()` (tests inject a mock)."""

    def fetch(name: Annotated[str, typer.Argument(help="Dataset to download.")],
              dest: Annotated[Path | None, typer.Option(help="Destination folder (default: the data dir).")] = None,
              data_dir: DataDirOption = None) -> None:
        """Download a dataset from its public source at a pinned commit, checking its pins."""
        from aco.datasets.fetch import fetch_dataset
        from aco.datasets.location import resolve_data_dir

        target = dest or resolve_data_dir(_data_dir(data_dir))
        _echo_fetched(name, fetch_dataset(name, target, transport_factory()))

    return fetch


def make_ensure(transport_factory: TransportFactory = network_transport) -> Callable[..., None]:
    """The `ensure` command, downloading through `transport_factory()` (tests inject a mock)."""

    def ensure(name: Annotated[str, typer.Argument(help="Dataset name (or path of an outcomes CSV/JSONL).")],
               data_dir: DataDirOption = None) -> None:
        """Do nothing if the dataset is present (say where); else download it and say where to."""
        from aco.datasets.fetch import ensure_dataset

        if Path(name).suffix.lower() in (".csv", ".jsonl") and Path(name).is_file():
            typer.echo(f"{name}: outcomes file present")
            return
        result = ensure_dataset(name, _data_dir(data_dir), transport_factory())
        if not result.fetched:
            typer.echo(f"{name}: present in {result.root}")
            return
        _echo_fetched(name, result.paths)
        typer.echo(f"{name}: downloaded into {result.root}")
        if _data_dir(data_dir) is None and not result.found_by_default:
            typer.echo(f"another data folder takes precedence: set ACO_DATA_DIR={result.root} to use it")

    return ensure


def register(app: typer.Typer, *, transport_factory: TransportFactory = network_transport) -> None:
    group = typer.Typer(help="List, describe and fetch outcome datasets.", no_args_is_help=True)
    group.command("list")(list_datasets)
    group.command("info")(info)
    group.command("fetch")(make_fetch(transport_factory))
    group.command("ensure")(make_ensure(transport_factory))
    app.add_typer(group, name="datasets")
