"""`aco bench`: replay routers on recorded outcomes and compare them with every baseline and the oracle."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aco.cli.options import DataDirOption
from aco.datasets.table import OutcomeTable
from aco.errors import AcoError
from aco.evaluation.bench import BenchResult, default_router_specs
from aco.settings import AcoSettings

DEFAULT_DATASET = "swebench-verified"


def _clean(value: Any) -> Any:
    """JSON-safe values: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def _load(name: str, data_dir: Path | None) -> OutcomeTable:
    from aco.datasets.registry import load_dataset

    return load_dataset(name, data_dir if data_dir is not None else AcoSettings().data_dir)


def _groups(table: OutcomeTable, group_by: str) -> np.ndarray | None:
    if group_by == "none":
        return None
    if group_by not in table.tasks.columns:
        raise AcoError(f"--group-by {group_by!r}: the table has no such task column "
                       f"(have {', '.join(map(str, table.tasks.columns))})")
    return np.asarray(table.tasks[group_by].astype(str))


def bench(
    dataset: Annotated[str, typer.Argument(help="Dataset name or outcomes file.")] = DEFAULT_DATASET,
    routers: Annotated[str | None, typer.Option(help="Comma-separated router specs (default: all baselines).")] = None,
    folds: Annotated[int, typer.Option(min=1, help="Cross-validation folds over tasks; 1 = whole table.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the folds, random routers and bootstrap.")] = 0,
    group_by: Annotated[str, typer.Option(help="Task column whose groups stay in one fold, or 'none'.")] = "none",
    train: Annotated[str | None, typer.Option(help="Transfer: train on this dataset ...")] = None,
    test: Annotated[str | None, typer.Option(help="... and test on this one.")] = None,
    protected: Annotated[str | None, typer.Option(help="Comma-separated protected categories (unsafe rate).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON here.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    data_dir: DataDirOption = None,
    stream: Annotated[bool, typer.Option("--stream", help="Streaming replay, online learning.")] = False,
    order: Annotated[str, typer.Option(help="--stream order: dataset (its own) or shuffle.")] = "dataset",
    seeds: Annotated[int, typer.Option(min=1, help="--stream seeds (shuffle: orders; dataset: exploration).")] = 1,
    verifier: Annotated[str, typer.Option(help="--stream feedback: benchmark or posthoc:<signal>.")] = "benchmark",
    engine: Annotated[str, typer.Option(help="Run the grid here (local) or on Dask (dask).")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="--engine dask: scheduler address (default: a "
                                                       "LocalCluster).")] = None,
    holdout_group: Annotated[str | None, typer.Option(help="Leave-one-group-out over this task column (category, "
                                                           "source, group); with --train/--test: the test groups "
                                                           "to report. Online routers run --seeds seeds.")] = None,
    aliases: Annotated[Path | None, typer.Option(help="--train/--test: model-name aliases (TOML/JSON `aliases` "
                                                      "table, or an aco config).")] = None,
    markdown: Annotated[Path | None, typer.Option(help="--holdout-group: also write the table as Markdown.")] = None,
) -> None:
    """Replay routers on recorded outcomes: success, cost, savings, regret and calibration side by side."""
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=220)
    if (train is None) != (test is None):
        raise AcoError("--train and --test go together")
    table = _load(train or dataset, data_dir)
    if holdout_group is not None or aliases is not None:
        from aco.cli.shift import shift_bench

        return shift_bench(table, _load(test, data_dir) if test else None, holdout_group, routers, seed, seeds,
                           aliases, json_path, markdown, console)
    if stream:
        from aco.cli.online import stream_bench

        return stream_bench(table, routers, order, seed, seeds, folds, json_path, report, verifier)
    test_table = _load(test, data_dir) if test is not None else None
    if protected:
        categories = [c.strip() for c in protected.split(",") if c.strip()]
        table = table.with_protected(categories)
        test_table = test_table.with_protected(categories) if test_table is not None else None
    target = test_table or table
    specs = [s.strip() for s in routers.split(",") if s.strip()] if routers else default_router_specs(target)
    n_folds = 1 if test_table is not None else folds
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        bar = progress.add_task(f"replaying on {target.name}", total=len(specs) * n_folds)

        def step(label: str, fold: int) -> None:
            progress.update(bar, advance=1, description=f"{label} (fold {fold + 1}/{n_folds})")

        from aco.engines import make_engine

        result = make_engine(engine, scheduler).run_bench(table, specs, folds=folds, seed=seed,
                                                          groups=_groups(table, group_by),
                                                          test_table=test_table, on_step=step)
    _print(result, console)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(_clean(result.to_json()), indent=2))
        console.print(f"wrote {json_path}")
    if report is not None:
        from aco.report.html import write_report

        write_report(result, report)
        console.print(f"wrote {report}")


def _print(result: BenchResult, console: Console) -> None:
    from aco.report.table import bench_table

    console.print(bench_table(result))


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
