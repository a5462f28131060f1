"""`aco datasets list|info|fetch`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aco.cli.options import DataDirOption
from aco.settings import AcoSettings


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


def fetch(name: Annotated[str, typer.Argument(help="Dataset to download.")],
          dest: Annotated[Path | None, typer.Option(help="Destination folder (default: the data dir).")] = None,
          data_dir: DataDirOption = None) -> None:
    """Download a dataset from its public source at a pinned commit, checking sha256."""
    from aco.datasets.fetch import fetch_dataset
    from aco.datasets.location import resolve_data_dir

    target = dest or resolve_data_dir(_data_dir(data_dir))
    for path in fetch_dataset(name, target):
        typer.echo(f"fetched {path}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="List, describe and fetch outcome datasets.", no_args_is_help=True)
    group.command("list")(list_datasets)
    group.command("info")(info)
    group.command("fetch")(fetch)
    app.add_typer(group, name="datasets")
