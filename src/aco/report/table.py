"""The terminal table of `aco bench` (rich)."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

from aco.catalog import format_usd
from aco.evaluation.bench import BenchResult


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value + 0.0:.1f}%".replace("-0.0%", "0.0%")


def _num(value: Any, fmt: str = ".3f") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def _top_share(row: dict[str, Any]) -> str:
    shares: dict[str, float] = row.get("model_share", {})
    if not shares:
        return "-"
    name, share = max(shares.items(), key=lambda kv: kv[1])
    return f"{name} {100 * share:.0f}%" if len(shares) > 1 else name


def bench_table(result: BenchResult) -> Table:
    """Rows of the bench result with the key metrics, references in the caption."""
    refs = result.refs
    folds = ("whole table, no CV" if result.folds == 1 else f"{result.folds}-fold CV, seed {result.seed}")
    if result.trained_on:
        folds = f"trained on {result.trained_on}"
    table = Table(
        title=f"aco bench {result.dataset}: {result.table.n_tasks} tasks x {result.table.n_models} models "
              f"({folds})",
        caption=(f"best single {refs.best_single} {refs.best_single_success:.3f} / "
                 f"${format_usd(refs.best_single_cost_usd)}; oracle {refs.oracle_success:.3f} / "
                 f"${format_usd(refs.oracle_cost_usd)}; regret: reward = score - cost_usd / "
                 f"{format_usd(result.objective.value_usd)}"),
    )
    for column, justify in (("router", "left"), ("success [95% CI]", "right"), ("cost $", "right"),
                            ("$/task", "right"), ("saved vs best", "right"), ("regret", "right"),
                            ("oracle gap", "right"), ("AIQ", "right"), ("APGR", "right"),
                            ("Brier", "right"), ("verifier AUC", "right"), ("main model", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in result.rows:
        lo, hi = row["success_ci"]
        table.add_row(
            row["router"], f"{row['success']:.3f} [{lo:.3f}, {hi:.3f}]", format_usd(row["cost_usd"]),
            format_usd(row["cost_per_task_usd"]), _pct(row["cost_reduction_vs_best_single"]),
            _num(row["regret"], ".1f"), _num(row["oracle_gap"]), _num(row.get("aiq")),
            _num(row.get("apgr")), _num(row.get("brier")), _num(row.get("verifier_auc")), _top_share(row),
        )
    return table
