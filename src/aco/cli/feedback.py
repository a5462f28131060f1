"""`aco trajectories`: execution feedback on SWE-bench Verified trajectories.

Route-AUC of the trajectory value head at K = 0..6 (95% CIs), the escalate-at-K cost-success curve, the
selection bias of the tasks without turns, per-step routing shares and stop-rule savings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aco.cli.options import DataDirOption, write_json
from aco.datasets.location import resolve_data_dir
from aco.errors import AcoError
from aco.routers.trajectory import HEAD_FAMILIES, PairReport, evaluate_pair
from aco.settings import AcoSettings
from aco.trajectories.pairs import PAIRS, load_pair


def _parse_ks(spec: str) -> list[int]:
    """`0..6`, `3` or `0,3,6` as a list of K."""
    try:
        if ".." in spec:
            lo, hi = spec.split("..", 1)
            return list(range(int(lo), int(hi) + 1))
        return [int(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise AcoError(f"--k {spec!r}: expected e.g. 0..6, 3 or 0,3,6") from None


def _auc_table(report: PairReport) -> Table:
    table = Table(title=f"{report.pair}: Route-AUC of 'escalate' (cheap run fails), {report.n_tasks} tasks")
    for column in ("K", "Route-AUC [95% CI]", "bag-of-words [95% CI]", "AUC fail&strong-ok", "Brier", "ECE",
                   "best curve point", "head (inner CV)"):
        table.add_column(column, justify="right")
    for r in report.by_k:
        best = max(r.curve, key=lambda c: (c["success"], -c["cost_usd"]))
        heads = sorted(set(r.chosen_heads), key=r.chosen_heads.count, reverse=True)
        table.add_row(str(r.k), f"{r.route_auc:.3f} [{r.route_auc_ci[0]:.3f}, {r.route_auc_ci[1]:.3f}]",
                      f"{r.bow_auc:.3f} [{r.bow_auc_ci[0]:.3f}, {r.bow_auc_ci[1]:.3f}]",
                      f"{r.route_auc_strict:.3f}", f"{r.brier:.3f}", f"{r.ece:.3f}",
                      f"{best['success']:.3f} / ${best['cost_usd']:.1f}", ", ".join(heads))
    return table


def _curve_table(report: PairReport, k: int) -> Table:
    table = Table(title=f"{report.pair}: escalate at K={k} (cheap {report.cheap_success:.3f} / "
                        f"${report.cheap_cost_usd:.1f}, strong {report.strong_success:.3f} / "
                        f"${report.strong_cost_usd:.1f})")
    for column in ("rule", "value of success $", "escalated", "success", "cost $"):
        table.add_column(column, justify="right")
    result = next(r for r in report.by_k if r.k == k)
    for point in result.curve:
        value = "-" if point["rule"] == "share" else f"{point['value_usd']:g}"
        table.add_row(point["rule"], value, f"{point['escalated_share']:.2f}",
                      f"{point['success']:.3f}", f"{point['cost_usd']:.1f}")
    return table


def _print(report: PairReport, console: Console) -> None:
    console.print(report.description)
    console.print(_auc_table(report))
    k_curve = 3 if any(r.k == 3 for r in report.by_k) else report.by_k[-1].k
    console.print(_curve_table(report, k_curve))
    console.print("selection bias:", report.selection_bias)
    console.print("per-step routing:", report.step_routing)
    stops = [s for s in report.stop_rule if s["k"] == k_curve]
    for s in stops:
        console.print(f"stop at K={s['k']} when P x ${s['value_usd']:g} < remaining cost: stopped {s['n_stopped']}, "
                      f"failed runs cut {s['failed_cut']}/{s['failed_runs']}, successes lost {s['successes_lost']}, "
                      f"saved ${s['saved_usd']:.2f} of ${s['total_usd']:.2f}")


def trajectories(
    pair: Annotated[str, typer.Option(help=f"Cheap -> strong pair: {', '.join(PAIRS)}, or 'all'.")] = "all",
    k: Annotated[str, typer.Option("--k", help="Turns read before deciding: 0..6, 3 or 0,3,6.")] = "0..6",
    seed: Annotated[int, typer.Option(help="Seed of the folds and the bootstrap.")] = 0,
    heads: Annotated[str, typer.Option(help="Value-head candidates: base, or base plus families up to "
                                            "localisation, reproduction or semantics (slower).")] = "base",
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the reports as JSON here.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Escalate after K turns: Route-AUC per K, cost-success curve, per-step routing, stop-rule savings."""
    console = Console()
    ks = _parse_ks(k)
    if any(x < 0 for x in ks) or not ks:
        raise AcoError(f"--k {k!r}: K must be >= 0")
    root = resolve_data_dir(data_dir if data_dir is not None else AcoSettings().data_dir)
    names = list(PAIRS) if pair == "all" else [pair]
    if heads not in HEAD_FAMILIES:
        raise AcoError(f"--heads {heads!r}: choose one of {', '.join(HEAD_FAMILIES)}")
    reports = [evaluate_pair(load_pair(name, root), ks, seed, heads) for name in names]
    for report in reports:
        _print(report, console)
    if json_path is not None:
        write_json(json_path, [r.as_dict() for r in reports])
        console.print(f"wrote {json_path}")


def register(app: typer.Typer) -> None:
    app.command("trajectories")(trajectories)
