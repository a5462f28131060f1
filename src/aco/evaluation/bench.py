"""`aco bench`: replay routers on one table under one protocol and summarise them side by side.

Every router tunes, and every regret is counted, with one `Objective` (the value of a success in USD). A router
that does not apply to the table is skipped with a note (`applicable`); one that fails while it runs becomes a note
saying why, and the others' rows stand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from aco.datasets.table import OutcomeTable
from aco.errors import DataError
from aco.evaluation import metrics
from aco.evaluation.protocol import Split, kfold_splits
from aco.evaluation.replay import Decisions, RouterRun, replay
from aco.policies.objective import Objective
from aco.routers.base import Router, best_index, cheapest_index
from aco.routers.peers import peer_names
from aco.routers.registry import available, build_router, make_router, router_label

BASELINES = ("best-single", "cheapest", "random", "heuristic", "dimension-best", "oracle")
LEARNED = ("category-stats", "gbdt", "mf", "cascade", "agreement")  # run by default next to the baselines


@dataclass(frozen=True)
class Note:
    """A router that has no row, and why: `skipped` (it does not apply to the table) or `failed` (it raised)."""

    router: str
    status: str
    reason: str

    def __str__(self) -> str:
        return f"{self.status} {self.router}: {self.reason}"


def unmet(router: Router, *tables: OutcomeTable) -> str | None:
    """Why `router` cannot run on these tables (training and test), or None when it can."""
    return next((why for why in (router.unmet_requirement(t) for t in tables) if why is not None), None)


def applicable(specs: Sequence[str], *tables: OutcomeTable) -> tuple[list[str], list[Note]]:
    """The specs whose routers apply to every table, and a `skipped` note for each of the others.

    An unknown or malformed spec raises (before anything runs).
    """
    kept: list[str] = []
    notes: list[Note] = []
    for spec in specs:
        why = unmet(make_router(spec), *tables)
        if why is None:
            kept.append(spec)
        else:
            notes.append(Note(spec, "skipped", why))
    return kept, notes


def default_router_specs(table: OutcomeTable, extra: Sequence[str] = ()) -> list[str]:
    """Every single model, the baselines, the published peers of this table, the learned routers, then `extra`."""
    registered = available()
    specs = [f"always:{name}" for name in table.model_names]
    specs += list(BASELINES)
    specs += [f"peer:{name}" for name in peer_names(table)]
    specs += [name for name in LEARNED if name in registered]
    specs += [s for s in extra if s not in specs]
    return specs


@dataclass(frozen=True)
class References:
    """Whole-table reference points every row is compared with."""

    best_single: str
    best_single_success: float
    best_single_cost_usd: float
    most_expensive: str
    most_expensive_cost_usd: float
    cheapest: str
    cheapest_success: float
    cheapest_cost_usd: float
    oracle_success: float
    oracle_cost_usd: float
    cost_range_usd: tuple[float, float]
    single_model_hull_aiq: float

    @classmethod
    def of(cls, table: OutcomeTable) -> References:
        mean, total = table.mean_score(), table.total_cost_usd()
        best = best_index(mean, total, table.model_names)
        dear = int(np.argmax(total))
        cheap = cheapest_index(total, mean, table.model_names)
        top = table.score.max(axis=1, keepdims=True)
        oracle_cost = np.where(np.isclose(table.score, top), table.cost_usd, np.inf).min(axis=1)
        oracle_cost[top[:, 0] <= 0.0] = 0.0  # the oracle abstains where no model solves the task
        return cls(
            best_single=table.model_names[best], best_single_success=float(mean[best]),
            best_single_cost_usd=float(total[best]), most_expensive=table.model_names[dear],
            most_expensive_cost_usd=float(total[dear]), cheapest=table.model_names[cheap],
            cheapest_success=float(mean[cheap]), cheapest_cost_usd=float(total[cheap]),
            oracle_success=float(top.mean()), oracle_cost_usd=float(oracle_cost.sum()),
            cost_range_usd=(float(total.min()), float(total.max())),
            single_model_hull_aiq=metrics.aiq(total, mean, float(total.min()), float(total.max())),
        )


def _curve(run: RouterRun, table: OutcomeTable) -> tuple[np.ndarray, np.ndarray]:
    points = [p.decisions for p in run.sweep] or [run.decisions]
    cost = np.array([d.cost_usd(table).sum() for d in points])
    quality = np.array([d.score(table).mean() for d in points])
    return cost, quality


def _calibration(run: RouterRun, table: OutcomeTable) -> dict[str, float]:
    if run.p_success is None:
        return {}
    known = ~np.isnan(run.p_success)
    if not known.any():
        return {}
    p, y = run.p_success[known], table.success[known]
    return {"brier": metrics.brier(p, y), "ece": metrics.ece(p, y)}


def verifier_metrics(run: RouterRun, table: OutcomeTable, seed: int = 0) -> dict[str, Any]:
    """How well the router's verifier told right runs from wrong ones: its P(correct) on every run it judged
    against that run's recorded verdict (AUC with a bootstrap 95% CI, Brier, ECE); empty without a verifier."""
    if run.verified is None:
        return {}
    judged = ~np.isnan(run.verified)
    p, y = run.verified[judged], table.success[judged]
    if len(p) == 0:
        return {}
    out: dict[str, Any] = {"name": run.verifier, "runs": len(p), "brier": metrics.brier(p, y),
                           "ece": metrics.ece(p, y)}
    if 0 < y.sum() < len(y):
        auc, lo, hi = metrics.roc_auc_ci(p, y, seed=seed)
        out.update({"auc": auc, "auc_ci": [lo, hi]})
    else:
        out.update({"auc": None, "auc_ci": None})
    return out


def _curve_metrics(run: RouterRun, cost: np.ndarray, quality: np.ndarray, refs: References,
                   ) -> dict[str, float | None]:
    """AIQ, APGR and CPT of a swept router (None for a router with no knob: one point is no curve).

    APGR and CPT use cost normalised between the cheapest model (0) and the best single model (1); on a
    two-model table with unit call costs this is RouteLLM's strong-call share.
    """
    if not run.sweep:
        return {"aiq": None, "apgr": None, "cpt50": None, "cpt80": None}
    span = refs.best_single_cost_usd - refs.cheapest_cost_usd
    share = (cost - refs.cheapest_cost_usd) / span if span > 0 else np.zeros_like(cost)
    weak, strong = refs.cheapest_success, refs.best_single_success
    return {
        "aiq": metrics.aiq(cost, quality, *refs.cost_range_usd),
        "apgr": metrics.apgr(share, quality, weak, strong),
        "cpt50": metrics.cpt(share, quality, weak, strong, 0.5),
        "cpt80": metrics.cpt(share, quality, weak, strong, 0.8),
    }


def summarize(run: RouterRun, table: OutcomeTable, refs: References, seed: int = 0,
              objective: Objective | None = None) -> dict[str, Any]:
    """One bench row: every metric of the protocol for one replayed router (regret: `objective`, default the
    table's)."""
    objective = objective or Objective.of_table(table)
    d = run.decisions
    score, cost = d.score(table), d.cost_usd(table)
    regret = metrics.regret_per_task(score, cost, table.score, table.cost_usd, objective.cost_weight)
    protected = table.tasks["category"].isin(table.protected_categories).to_numpy()
    share = metrics.model_share(d.model_idx, table.n_models)
    curve_cost, curve_quality = _curve(run, table)
    row: dict[str, Any] = {
        "router": run.label,
        "success": metrics.success(score),
        "success_ci": list(metrics.bootstrap_ci(score, seed=seed)),
        "avg_perf": 100.0 * metrics.success(score),
        "cost_usd": metrics.total_cost(cost),
        "cost_ci": [x * table.n_tasks for x in metrics.bootstrap_ci(cost, seed=seed)],
        "cost_per_task_usd": float(cost.mean()),
        "cost_reduction_vs_best_single": metrics.cost_reduction(float(cost.sum()), refs.best_single_cost_usd),
        "cost_reduction_vs_most_expensive": metrics.cost_reduction(float(cost.sum()),
                                                                   refs.most_expensive_cost_usd),
        "oracle_gap": metrics.oracle_gap(float(score.mean()), refs.oracle_success),
        "regret": float(regret.sum()),
        "perf_per_usd": metrics.perf_per_dollar(score, cost),
        "unsafe_rate": metrics.unsafe_rate(score, protected, table.success_threshold),
        "model_share": {m: float(s) for m, s in zip(table.model_names, share, strict=True) if s > 0},
        **_curve_metrics(run, curve_cost, curve_quality, refs),
        "fit_seconds": run.fit_seconds,
        "route_seconds": run.route_seconds,
        "knob": run.knob,
        "curve": [{"knob": p.knob_value, "success": float(q), "cost_usd": float(c)}
                  for p, c, q in zip(run.sweep, curve_cost, curve_quality, strict=False)],
    }
    row.update(_calibration(run, table))
    verifier = verifier_metrics(run, table, seed)
    if verifier:
        row["verifier"] = verifier
        row["verifier_auc"] = verifier["auc"]
    bad = metrics.out_of_range(row, metrics.row_ranges(refs.cheapest_success, refs.best_single_success,
                                                       refs.oracle_success))
    if bad:
        raise ValueError(f"{run.label}: metrics outside their documented range: {', '.join(bad)}")
    return row


@dataclass
class BenchResult:
    """Rows (one per router) plus the runs behind them, ready for JSON, tables and plots."""

    dataset: str
    table: OutcomeTable
    refs: References
    folds: int
    seed: int
    objective: Objective = field(default_factory=Objective.paper)
    runs: list[RouterRun] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    trained_on: str = ""  # --train/--test: the training table's name

    def to_json(self) -> dict[str, Any]:
        t = self.table
        return {
            "dataset": self.dataset,
            "n_tasks": t.n_tasks,
            "folds": self.folds,
            "trained_on": self.trained_on or None,
            "seed": self.seed,
            "models": [
                {"name": m.name, "tier": m.tier, "success": float(s), "cost_usd": float(c)}
                for m, s, c in zip(t.models, t.mean_score(), t.total_cost_usd(), strict=True)
            ],
            "references": asdict(self.refs),
            "frontier": [{"name": name, "success": s, "cost_usd": c} for name, s, c in frontier(t)],
            "objective": {"value_usd": self.objective.value_usd, "source": self.objective.source,
                          "reward": "score - cost_usd / value_usd"},
            "rows": self.rows,
            "notes": [asdict(n) for n in self.notes],
        }


def transfer_tables(train: OutcomeTable, test: OutcomeTable) -> tuple[OutcomeTable, OutcomeTable, list[Note]]:
    """`--train/--test` tables aligned: the test table's models in the training table's order (a model in one and
    not the other raises a DataError naming it), and tasks of the test table dropped from training (with a note)."""
    test = test.aligned_to(train)
    shared = train.tasks.index.isin(test.tasks.index)
    if not shared.any():
        return train, test, []
    if shared.all():
        raise DataError(f"every training task of {train.name} is also in {test.name}: nothing left to train on",
                        field="task_id")
    note = Note("*", "dropped", f"{int(shared.sum())} task ids of {test.name} are also in {train.name} "
                                f"(e.g. {train.task_ids[int(np.flatnonzero(shared)[0])]!r}): left out of training")
    return train.subset(np.flatnonzero(~shared)), test, [note]


def run_bench(table: OutcomeTable, specs: Sequence[str], *, folds: int = 5, seed: int = 0,
              groups: np.ndarray | None = None, splits: Sequence[Split] | None = None,
              test_table: OutcomeTable | None = None,
              on_step: Callable[[str, int], None] | None = None,
              objective: Objective | None = None) -> BenchResult:
    """Replay every router spec on the same splits and summarise; `on_step(label, fold)` reports progress.

    `objective` (default: the training table's, see `Objective.of_table`) is the value of a success every router
    tunes with and every regret uses. A router that raises becomes a `failed` note; the others' rows stand.
    """
    notes: list[Note] = []
    if test_table is not None:
        table, test_table, notes = transfer_tables(table, test_table)
    objective = objective or Objective.of_table(table)
    routers = [build_router(spec, objective) for spec in specs]  # a bad spec raises before anything runs
    if splits is None:
        n_folds = 1 if test_table is not None else folds
        splits = kfold_splits(table.n_tasks, n_folds, seed, groups)
    target = test_table if test_table is not None else table
    refs = References.of(target)
    result = BenchResult(dataset=target.name, table=target, refs=refs, folds=len(splits), seed=seed,
                         objective=objective, notes=notes, trained_on=table.name if test_table is not None else "")
    for router in routers:
        label = router_label(router)
        callback = (lambda fold, _label=label: on_step(_label, fold)) if on_step else None
        try:
            run = replay(router, table, splits, label=label, on_fold=callback, test_table=test_table)
            row = summarize(run, target, refs, seed, objective)
        except Exception as exc:  # one failing router never discards the others' results
            result.notes.append(Note(label, "failed", f"{type(exc).__name__}: {exc}"))
            continue
        result.runs.append(run)
        result.rows.append(row)
    return result


def frontier(table: OutcomeTable) -> list[tuple[str, float, float]]:
    """Single models on the cost-quality frontier: (name, success, total cost), by increasing cost."""
    mean, total = table.mean_score(), table.total_cost_usd()
    order = np.lexsort((-mean, total))
    out: list[tuple[str, float, float]] = []
    best = -np.inf
    for j in order:
        if mean[j] > best + 1e-12:
            out.append((table.model_names[j], float(mean[j]), float(total[j])))
            best = mean[j]
    return out


__all__ = ["BenchResult", "Decisions", "Note", "References", "applicable", "default_router_specs", "frontier",
           "run_bench", "summarize", "transfer_tables", "unmet", "verifier_metrics"]
