"""`aco bench --holdout-group COLUMN` and `aco bench --train A --test B --aliases FILE`: the shift protocols."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from aco.datasets.table import OutcomeTable
from aco.errors import AcoError
from aco.policies.objective import Objective

STATIC_DEFAULT = ("shift", "category-stats", "dimension-best")
ONLINE_DEFAULT = ("orchestrator-shift",)


def shift_bench(table: OutcomeTable, test_table: OutcomeTable | None, holdout_group: str | None,
                routers: str | None, seed: int, seeds: int, aliases: Path | None, json_path: Path | None,
                markdown: Path | None, console: Console, objective: Objective | None = None) -> None:
    """Leave-one-group-out on `table` (or transfer to each group of `test_table`), printed per group and pooled."""
    from aco.datasets.aliases import align_models, read_aliases
    from aco.evaluation.shift import run_holdout, run_transfer
    from aco.report.shift_table import shift_markdown, shift_table

    if aliases is not None and test_table is None:
        raise AcoError("--aliases maps model names between --train and --test tables: give both")
    specs = [s.strip() for s in routers.split(",") if s.strip()] if routers else [*STATIC_DEFAULT, *ONLINE_DEFAULT]
    seed_list = list(range(seed, seed + seeds))
    column = holdout_group or "category"
    with console.status("shift protocol") as status:
        def progress(message: str) -> None:
            status.update(message)

        if test_table is not None:
            train, test = (align_models(table, test_table, read_aliases(aliases)) if aliases is not None
                           else (table, test_table))
            result = run_transfer(train, test, column, specs, seed_list, progress, objective)
        else:
            result = run_holdout(table, column, specs, seed_list, progress, objective)
    console.print(shift_table(result))
    console.print(f"objective: {result.objective.describe()}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result.to_json(), indent=2, allow_nan=False))
        console.print(f"wrote {json_path}")
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(shift_markdown(result) + "\n")
        console.print(f"wrote {markdown}")
