"""`hybrid` (ACO v7): start from the heuristic tier, escalate when P(success) < s, downgrade when a cheaper
model has P(success) >= d.

Starting model: the heuristic router's pick (keyword/length difficulty + 1 -> price tier). With the
calibrated gbdt estimator's P(success):
- escalate: if P(start) < s, take the cheapest dearer model with P >= s (else the most likely model);
- downgrade: if P(start) >= s, take the cheapest cheaper model with P >= d, if any.
s (the knob) and d default to the pair maximising the mean reward score - 0.1 x cost_usd on the
estimator's inner out-of-fold predictions of the TRAINING tasks (never the test fold).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.estimators import CalibratedEstimator, GBDTEstimator, estimator_from_state
from aco.features import DEFAULT_FEATURES, Features, features_from_state, make_features
from aco.policies import chosen_values, most_likely
from aco.routers.base import Router, Routing
from aco.routers.baselines import HeuristicRouter
from aco.routers.learned import mean_reward
from aco.routers.registry import register

S_GRID = tuple(float(x) for x in np.round(np.linspace(0.1, 0.9, 17), 2))
D_GRID = tuple(float(x) for x in np.round(np.linspace(0.5, 0.95, 10), 2))


def hybrid_decisions(p: np.ndarray, cost_usd: np.ndarray, start: np.ndarray, s: float, d: float) -> np.ndarray:
    """Escalate/downgrade from `start` (n,) given P(success) (n, m) and mean cost per model (m,)."""
    cost = np.broadcast_to(np.asarray(cost_usd, float), p.shape)
    start_cost = chosen_values(cost, start)[:, None]
    start_p = chosen_values(p, start)
    dearer_ok = (cost > start_cost) & (p >= s)
    escalated = np.where(dearer_ok.any(axis=1), np.argmin(np.where(dearer_ok, cost, np.inf), axis=1),
                         most_likely(p, cost))
    cheaper_ok = (cost < start_cost) & (p >= d)
    downgraded = np.where(cheaper_ok.any(axis=1), np.argmin(np.where(cheaper_ok, cost, np.inf), axis=1), start)
    return np.where(start_p < s, escalated, downgraded)


@register
class HybridRouter(Router):
    """ACO v7: heuristic tier, then escalate (P < s) or downgrade (cheaper P >= d) with calibrated gbdt."""

    name = "hybrid"
    knob: ClassVar[str | None] = "s"
    knob_grid: ClassVar[tuple[float, ...]] = S_GRID

    def __init__(self, s: float | None = None, d: float | None = None, features: str | None = None,
                 seed: int = 0) -> None:
        self.s = s
        self.d = d
        self.features = features
        self.seed = seed

    def _fit(self, table: OutcomeTable) -> None:
        self.heuristic_ = HeuristicRouter().fit(table)
        self.features_: Features = make_features(self.features or DEFAULT_FEATURES, self.seed)
        X = self.features_.fit_transform(table.tasks)
        self.estimator_: CalibratedEstimator = GBDTEstimator(seed=self.seed).fit(X, table.score, table.cost_usd)
        p = self.estimator_.oof_proba_
        assert p is not None
        start = self.heuristic_.route(table.task_set()).model_idx
        cost = self.estimator_.mean_cost_usd_
        pairs = [(s, d) for s in S_GRID for d in D_GRID]
        self.auto_s_, self.auto_d_ = max(pairs, key=lambda sd: (
            mean_reward(table.score, table.cost_usd, hybrid_decisions(p, cost, start, *sd)), sd[0], sd[1]))

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
        d = self.d if self.d is not None else self.auto_d_
        idx = hybrid_decisions(p, self.estimator_.mean_cost_usd_, start, s, d)
        names = tasks.model_names
        reasons = [f"heuristic {names[a]} (P={p[i, a]:.2f}) -> "
                   + ("kept" if a == b else ("escalated (P < s)" if p[i, a] < s else "downgraded (P >= d)"))
                   + f" to {names[b]} (s={s:.2f}, d={d:.2f})"
                   for i, (a, b) in enumerate(zip(start.tolist(), idx.tolist(), strict=True))]
        return Routing(model_idx=idx, p_success=p, reasons=reasons)
