"""`aco bench`: replay routers on recorded outcomes and compare them with every baseline and the oracle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aco.cli.options import DataDirOption, load_table, write_json
from aco.datasets.table import OutcomeTable
from aco.errors import AcoError
from aco.evaluation.bench import BenchResult, Note, applicable, default_router_specs, unmet
from aco.policies.objective import Objective
from aco.routers.registry import make_router

DEFAULT_DATASET = "swebench-verified"


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
    value_usd: Annotated[float | None, typer.Option(
        "--value-usd",
        help="Value of one success in USD: reward = score - cost_usd / value, for knob tuning and regret "
             "(default: the table's, e.g. the break-even of its cheapest and best models; 10 = the paper's "
             "score - 0.1 x cost_usd).")] = None,
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
    if value_usd is not None and not value_usd > 0:
        raise typer.BadParameter(f"must be a positive number of USD, got {value_usd:g}", param_hint="'--value-usd'")
    table = load_table(train or dataset, data_dir)
    objective = Objective.given(value_usd) if value_usd is not None else Objective.of_table(table)
    if holdout_group is not None or aliases is not None:
        from aco.cli.shift import shift_bench

        return shift_bench(table, load_table(test, data_dir) if test else None, holdout_group, routers, seed, seeds,
                           aliases, json_path, markdown, console, objective)
    if stream:
        from aco.cli.online import stream_bench

        return stream_bench(table, routers, order, seed, seeds, folds, json_path, report, verifier, objective)
    test_table = load_table(test, data_dir) if test is not None else None
    if protected:
        categories = [c.strip() for c in protected.split(",") if c.strip()]
        table = table.with_protected(categories)
        test_table = test_table.with_protected(categories) if test_table is not None else None
    target = test_table or table
    tables = (table, target) if test_table is not None else (table,)
    specs, skipped = _specs(routers, tables)
    n_folds = 1 if test_table is not None else folds
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        bar = progress.add_task(f"replaying on {target.name}", total=len(specs) * n_folds)

        def step(label: str, fold: int) -> None:
            progress.update(bar, advance=1, description=f"{label} (fold {fold + 1}/{n_folds})")

        from aco.engines import make_engine

        result = make_engine(engine, scheduler).run_bench(table, specs, folds=folds, seed=seed,
                                                          groups=_groups(table, group_by),
                                                          test_table=test_table, on_step=step, objective=objective)
    result.notes[:0] = skipped
    _print(result, console)
    if json_path is not None:
        write_json(json_path, result.to_json())
        console.print(f"wrote {json_path}")
    if report is not None:
        from aco.report.html import write_report

        write_report(result, report)
        console.print(f"wrote {report}")


def _specs(routers: str | None, tables: tuple[OutcomeTable, ...]) -> tuple[list[str], list[Note]]:
    """The router specs to run and a note for each default one that does not apply to the tables.

    An explicitly requested router that does not apply is a one-line error before anything runs.
    """
    if not routers:
        return applicable(default_router_specs(tables[-1]), *tables)
    specs = [s.strip() for s in routers.split(",") if s.strip()]
    for spec in specs:
        why = unmet(make_router(spec), *tables)
        if why is not None:
            raise AcoError(f"router {spec!r} does not apply: {why}")
    return specs, []


def _print(result: BenchResult, console: Console) -> None:
    from aco.report.table import bench_table

    console.print(bench_table(result))
    console.print(f"objective: {result.objective.describe()}")
    for note in result.notes:
        console.print(str(note), markup=False)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
