"""`hybrid` (ACO v7): start from the heuristic tier, escalate when P(success) < s, downgrade when a cheaper
model has P(success) >= d.

Starting model: the heuristic router's pick (keyword/length difficulty + 1 -> price tier). With the
calibrated gbdt estimator's P(success):
- escalate: if P(start) < s, take the cheapest dearer model with P >= s (else the most likely model);
- downgrade: if P(start) >= s, take the cheapest cheaper model with P >= d, if any.
s and d default to the pair maximising the mean reward score - cost_usd / value_usd (`aco.policies.objective`)
on the estimator's inner out-of-fold predictions of the TRAINING tasks (never the test fold); a value on a grid
edge extends the grid. Setting `s` alone (as the knob sweep does, s = 0 .. 1) uses d = s, one threshold both ways:
s = 0 sends every task to the cheapest model and s = 1 to the most likely one, so the curve spans the cost range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.estimators import CalibratedEstimator, GBDTEstimator, estimator_from_state
from aco.features import DEFAULT_FEATURES, Features, features_from_state, make_features
from aco.policies import chosen_values, most_likely
from aco.policies.objective import best_on_grid
from aco.policies.rules import cheapest_of
from aco.routers.base import Router, Routing, objective_for
from aco.routers.baselines import HeuristicRouter
from aco.routers.registry import register

S_GRID = tuple(float(x) for x in np.round(np.linspace(0.1, 0.9, 17), 2))
D_GRID = tuple(float(x) for x in np.round(np.linspace(0.5, 0.95, 10), 2))
SWEEP_GRID = tuple(float(x) for x in np.round(np.linspace(0.0, 1.0, 21), 2))
KEPT, ESCALATED, NONE_REACHES, DOWNGRADED = 0, 1, 2, 3


def hybrid_actions(p: np.ndarray, cost_usd: np.ndarray, start: np.ndarray, s: float, d: float,
                   names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(model, action) per task: escalate/downgrade from `start` (n,) given P(success) (n, m) and mean cost per
    model (m,); action is KEPT, ESCALATED, NONE_REACHES (no dearer model reaches s: the most likely one) or
    DOWNGRADED. Ties as in `aco.policies.rules`."""
    cost = np.broadcast_to(np.asarray(cost_usd, float), p.shape)
    start_cost = chosen_values(cost, start)[:, None]
    start_p = chosen_values(p, start)
    dearer, any_dearer = cheapest_of((cost > start_cost) & (p >= s), p, cost, names)
    escalated = np.where(any_dearer, dearer, most_likely(p, cost, names=names))
    cheaper, any_cheaper = cheapest_of((cost < start_cost) & (p >= d), p, cost, names)
    downgraded = np.where(any_cheaper, cheaper, start)
    escalate = start_p < s
    idx = np.where(escalate, escalated, downgraded)
    action = np.where(escalate, np.where(any_dearer, ESCALATED, NONE_REACHES),
                      np.where(any_cheaper, DOWNGRADED, KEPT))
    return np.asarray(idx), np.where(idx == start, KEPT, action)


def hybrid_decisions(p: np.ndarray, cost_usd: np.ndarray, start: np.ndarray, s: float, d: float,
                     names: Sequence[str] | None = None) -> np.ndarray:
    """The model per task of `hybrid_actions`."""
    return hybrid_actions(p, cost_usd, start, s, d, names)[0]


@register
class HybridRouter(Router):
    """ACO v7: heuristic tier, then escalate (P < s) or downgrade (cheaper P >= d) with calibrated gbdt."""

    name = "hybrid"
    knob: ClassVar[str | None] = "s"
    knob_grid: ClassVar[tuple[float, ...]] = SWEEP_GRID

    def __init__(self, s: float | None = None, d: float | None = None, features: str | None = None,
                 value_usd: float | None = None, seed: int = 0) -> None:
        self.s = s
        self.d = d
        self.features = features
        self.value_usd = value_usd
        self.seed = seed

    def _fit(self, table: OutcomeTable) -> None:
        self.heuristic_ = HeuristicRouter().fit(table)
        self.features_: Features = make_features(self.features or DEFAULT_FEATURES, self.seed)
        X = self.features_.fit_transform(table.tasks)
        self.estimator_: CalibratedEstimator = GBDTEstimator(seed=self.seed).fit(X, table.score, table.cost_usd)
        p = self.estimator_.oof_proba_
        assert p is not None
        start = self.heuristic_.route(table.task_set()).model_idx
        cost, names = self.estimator_.mean_cost_usd_, self.models_
        objective = objective_for(self.value_usd, table)

        def value(s: float, d: float) -> float:
            return objective.mean_reward(table.score, table.cost_usd, hybrid_decisions(p, cost, start, s, d, names))

        pairs = [(s, d) for s in S_GRID for d in D_GRID]
        _, d0 = max(pairs, key=lambda sd: (value(*sd), sd[0], sd[1]))  # then s, d refined past grid edges
        self.auto_s_ = best_on_grid(S_GRID, lambda s: value(s, d0), low=0.0, high=1.0, prefer_high=True)
        self.auto_d_ = best_on_grid(D_GRID, lambda d: value(self.auto_s_, d), low=0.0, high=1.0, prefer_high=True)
        self.value_usd_ = objective.value_usd

    def to_state(self) -> dict[str, Any]:
        """Fitted state as JSON values and arrays (see `aco.artifacts`)."""
        return {"features": self.features_.to_state(), "estimator": self.estimator_.to_state(),
                "heuristic_tiers": self.heuristic_.tiers_, "heuristic_tier_model": self.heuristic_.tier_model_,
                "auto_s": self.auto_s_, "auto_d": self.auto_d_}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore the fitted state written by `to_state`."""
        self.features_ = features_from_state(state["features"])
        self.estimator_ = estimator_from_state(state["estimator"])
        self.heuristic_ = HeuristicRouter()
        self.heuristic_.tiers_ = np.asarray(state["heuristic_tiers"], int)
        self.heuristic_.tier_model_ = np.asarray(state["heuristic_tier_model"], int)
        self.auto_s_, self.auto_d_ = float(state["auto_s"]), float(state["auto_d"])

    def describe(self) -> dict[str, Any]:
        """Readable thresholds and calibration tables for the artifact metadata."""
        return {"policy": {"name": "hybrid", "knob": "s", "knob_value": self.s, "auto_s": self.auto_s_,
                           "auto_d": self.auto_d_, "d": self.d},
                "features": self.features_.names(),
                "calibration": [c.to_json() for c in self.estimator_.calibrators_]}

    def route(self, tasks: TaskSet) -> Routing:
        cached = getattr(self, "_last_prediction", None)
        if cached is not None and cached[0] is tasks.tasks:  # the same frame again (a knob sweep)
            p = cached[1]
        else:
            p = self.estimator_.predict_proba(self.features_.transform(tasks.tasks))
            self._last_prediction = (tasks.tasks, p)
        start = self.heuristic_.route(tasks).model_idx
        s = self.s if self.s is not None else self.auto_s_
        d = self.d if self.d is not None else (s if self.s is not None else self.auto_d_)
        names = tasks.model_names
        idx, action = hybrid_actions(p, self.estimator_.mean_cost_usd_, start, s, d, names)
        said = {KEPT: "kept", ESCALATED: f"escalated (P < {s:.2f})", DOWNGRADED: f"downgraded (cheaper P >= {d:.2f})",
                NONE_REACHES: f"P < {s:.2f} and no dearer model reaches it: most likely"}
        reasons = [f"heuristic {names[a]} (P={p[i, a]:.2f}) -> {said[int(k)]}"
                   + ("" if k == KEPT else f": {names[b]} (P={p[i, b]:.2f})")
                   for i, (a, b, k) in enumerate(zip(start.tolist(), idx.tolist(), action.tolist(), strict=True))]
        return Routing(model_idx=idx, p_success=p, reasons=reasons)
