"""`aco replay-live`: replay a split's test tasks through a running `aco serve` and compare with `aco bench`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aco.cli.options import DataDirOption
from aco.errors import AcoError
from aco.settings import AcoSettings

MAX_SHOWN = 20


def replay_live(
    dataset: Annotated[str, typer.Argument(help="Dataset whose test tasks are replayed (e.g. routerbench-mbpp).")],
    router: Annotated[Path, typer.Option(help="The artifact the profile serves (trained with --holdout).")],
    url: Annotated[str, typer.Option(help="Base URL of the running proxy.")] = "http://127.0.0.1:8000",
    profile: Annotated[str, typer.Option(help="Profile serving the artifact (model aco/<profile>).")] = "default",
    holdout: Annotated[str, typer.Option(help="The split the artifact was trained on: auto, split or fold:K.")]
    = "auto",
    report_outcomes: Annotated[bool, typer.Option(
        help="After all decisions, report each task's replayed verdict to /v1/outcomes (needs the API key in "
             "$ACO_API_KEY): the proxy's store then holds a log for `aco evaluate-log` and `aco train "
             "--from-store`.")] = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the report (every difference) here.")]
    = None,
    data_dir: DataDirOption = None,
) -> None:
    """Send each test task to the proxy over HTTP (replay upstream behind it) and print every difference between
    the live decisions, costs and outcomes and `aco bench`'s replay of the same router on the same split. Exits
    with status 1 when they differ."""
    import os

    from aco.datasets.registry import load_dataset
    from aco.evaluation.parity import replay_live as run

    table = load_dataset(dataset, data_dir if data_dir is not None else AcoSettings().data_dir)
    key = os.environ.get("ACO_API_KEY") if report_outcomes else None
    if report_outcomes and not key:
        raise AcoError("--report-outcomes needs the proxy's API key in $ACO_API_KEY")
    report = run(url, profile, table, router, holdout=holdout, outcomes_key=key)
    console = Console(width=140)
    summary = Table(title=f"replay-live: {dataset} holdout {holdout}, profile {profile} at {url}")
    for name in ("router", "tasks", "differing decisions", "live cost USD", "replayed cost USD", "live success",
                 "replayed success", "parity"):
        summary.add_column(name)
    s = report.summary()
    summary.add_row(s["router"], str(s["tasks"]), str(s["differing_decisions"]), f"{s['live_cost_usd']:.6f}",
                    f"{s['replayed_cost_usd']:.6f}", f"{s['live_success']:.4f}", f"{s['replayed_success']:.4f}",
                    "yes" if report.ok else "NO")
    console.print(summary)
    for diff in report.differences[:MAX_SHOWN]:
        console.print(f"  {diff['task_id']}: {diff['field']} replayed {diff['replayed']!r}, live {diff['live']!r}")
    if len(report.differences) > MAX_SHOWN:
        console.print(f"  ... and {len(report.differences) - MAX_SHOWN} more (see --json)")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report.to_json(), indent=2, default=str), encoding="utf-8")
        console.print(f"wrote {json_path}")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("replay-live")(replay_live)
