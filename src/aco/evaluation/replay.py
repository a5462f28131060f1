"""Replay a router on recorded outcomes under the protocol: fit on training folds, route the test fold.

Everything per task is kept as arrays in the table's task order, so metrics are vectorised. A cascade
pays for every model it ran (`paid` mask); the realised score is the final model's recorded score.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from aco.datasets.table import OutcomeTable
from aco.evaluation.protocol import Split
from aco.routers.base import Router, Routing


@dataclass(frozen=True)
class Decisions:
    """Per-task decisions over a whole table: final model, the paid runs, extra USD paid (partial runs) and the
    tasks whose result was not kept (abstained or given up)."""

    model_idx: np.ndarray
    paid: np.ndarray
    extra_cost_usd: np.ndarray | None = None
    no_result: np.ndarray | None = None

    def score(self, table: OutcomeTable) -> np.ndarray:
        """Realised score per task (0 where no result was kept)."""
        got = np.asarray(table.score[np.arange(table.n_tasks), self.model_idx])
        return got if self.no_result is None else np.where(self.no_result, 0.0, got)

    def cost_usd(self, table: OutcomeTable) -> np.ndarray:
        """Realised cost per task: every paid run plus any extra (partial runs)."""
        cost = np.asarray((self.paid * table.cost_usd).sum(axis=1))
        return cost if self.extra_cost_usd is None else cost + self.extra_cost_usd


@dataclass(frozen=True)
class SweepPoint:
    """The router's decisions at one value of its knob."""

    knob_value: float
    decisions: Decisions


@dataclass(frozen=True)
class RouterRun:
    """A router replayed on every task of a table (each task routed by the fold that held it out)."""

    label: str
    decisions: Decisions
    fold: np.ndarray
    p_success: np.ndarray | None = None
    propensity: np.ndarray | None = None
    reasons: Sequence[str] | None = None
    knob: str | None = None
    sweep: tuple[SweepPoint, ...] = ()
    fit_seconds: float = 0.0
    route_seconds: float = 0.0
    extras: dict[str, object] = field(default_factory=dict)
    verified: np.ndarray | None = None  # (n, m) P(correct) the router's verifier gave each run it judged
    verifier: str | None = None


class _Collector:
    """Fills table-ordered arrays fold by fold."""

    def __init__(self, n_tasks: int, n_models: int) -> None:
        self.model_idx = np.full(n_tasks, -1, dtype=int)
        self.paid = np.zeros((n_tasks, n_models), dtype=bool)
        self.extra_cost_usd: np.ndarray | None = None
        self.no_result: np.ndarray | None = None
        self.p_success: np.ndarray | None = None
        self.propensity: np.ndarray | None = None
        self.reasons: list[str] | None = None
        self.verified: np.ndarray | None = None
        self.n_models = n_models

    def add(self, rows: np.ndarray, routing: Routing) -> None:
        n_tasks = len(self.model_idx)
        self.model_idx[rows] = routing.model_idx
        self.paid[rows] = routing.paid(self.n_models)
        if routing.extra_cost_usd is not None:
            if self.extra_cost_usd is None:
                self.extra_cost_usd = np.zeros(n_tasks)
            self.extra_cost_usd[rows] = routing.extra_cost_usd
        if routing.abstain is not None:
            if self.no_result is None:
                self.no_result = np.zeros(n_tasks, dtype=bool)
            self.no_result[rows] = np.asarray(routing.abstain, dtype=bool)
        if routing.p_success is not None:
            if self.p_success is None:
                self.p_success = np.full((n_tasks, self.n_models), np.nan)
            self.p_success[rows] = routing.p_success
        if routing.verified is not None:
            if self.verified is None:
                self.verified = np.full((n_tasks, self.n_models), np.nan)
            self.verified[rows] = routing.verified
        if routing.propensity is not None:
            if self.propensity is None:
                self.propensity = np.ones(n_tasks)
            self.propensity[rows] = routing.propensity
        if routing.reasons is not None:
            if self.reasons is None:
                self.reasons = [""] * n_tasks
            for row, reason in zip(rows.tolist(), routing.reasons, strict=True):
                self.reasons[row] = reason

    def decisions(self) -> Decisions:
        if (self.model_idx < 0).any():
            raise RuntimeError("some tasks were never routed: the splits do not cover the table")
        return Decisions(self.model_idx.copy(), self.paid.copy(),
                         None if self.extra_cost_usd is None else self.extra_cost_usd.copy(),
                         None if self.no_result is None else self.no_result.copy())


def _check_routing(routing: Routing, n_tasks: int, n_models: int, label: str) -> None:
    if len(routing.model_idx) != n_tasks:
        raise ValueError(f"{label} returned {len(routing.model_idx)} decisions for {n_tasks} tasks")
    if n_tasks and (routing.model_idx.min() < 0 or routing.model_idx.max() >= n_models):
        raise ValueError(f"{label} chose a model index outside 0..{n_models - 1}")


def replay(router: Router, table: OutcomeTable, splits: Sequence[Split], *, label: str | None = None,
           sweep: bool = True, on_fold: Callable[[int], None] | None = None,
           test_table: OutcomeTable | None = None) -> RouterRun:
    """Fit a fresh clone of `router` on each split's training tasks and route its test tasks.

    With `test_table` (transfer), splits index the training table and routing runs on `test_table`.
    With `sweep`, the router's knob is swept over its grid on every fold after fitting once.
    """
    label = label or router.name
    target = test_table if test_table is not None else table
    main = _Collector(target.n_tasks, target.n_models)
    fold_of = np.full(target.n_tasks, -1, dtype=int)
    knob_values = router.knob_values() if sweep else ()
    swept = {value: _Collector(target.n_tasks, target.n_models) for value in knob_values}
    fit_seconds = route_seconds = 0.0
    for split in splits:
        fitted = router.clone()
        start = time.perf_counter()
        fitted.fit(table.subset(split.train))
        fit_seconds += time.perf_counter() - start
        rows = np.arange(target.n_tasks) if test_table is not None else split.test
        test = target.subset(rows)
        start = time.perf_counter()
        routing = fitted.route_table(test)
        route_seconds += time.perf_counter() - start
        _check_routing(routing, test.n_tasks, test.n_models, label)
        main.add(rows, routing)
        fold_of[rows] = split.fold
        if knob_values and router.knob:
            for value in knob_values:
                fitted.set_params(**{router.knob: value})
                swept[value].add(rows, fitted.route_table(test))
        if on_fold is not None:
            on_fold(split.fold)
    return RouterRun(
        label=label, decisions=main.decisions(), fold=fold_of, p_success=main.p_success,
        propensity=main.propensity, reasons=main.reasons, knob=router.knob,
        sweep=tuple(SweepPoint(float(v), c.decisions()) for v, c in swept.items()),
        fit_seconds=fit_seconds, route_seconds=route_seconds, verified=main.verified,
        verifier=router.verifier_name if main.verified is not None else None,
    )
