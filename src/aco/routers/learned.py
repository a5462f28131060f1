"""Predictive routers: features -> calibrated success estimator -> policy.

Registered as `gbdt`, `gbdt-pooled`, `knn`, `category-stats`, `logreg` and `mf`. The policy is a parameter
(`gbdt:utility`, `knn:conformal`, ...; default `threshold`) and its parameter is the router's knob:
`threshold` (cheapest model with P >= t), `lam` (max P - lam x cost, cost relative to the dearest model's mean
cost per task) or `target_success` (conformal). When `threshold` / `lam` is None it is chosen on the
TRAINING tasks only, from the estimator's inner out-of-fold predictions, to maximise the mean reward
score - 0.1 x cost_usd (Agent-as-a-Router's reward). Tasks of protected categories only get models of
tier >= `floor_tier`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.estimators import (
    CalibratedEstimator,
    CategoryStatsEstimator,
    GBDTEstimator,
    KNNEstimator,
    LogRegEstimator,
    MFEstimator,
    estimator_from_state,
)
from aco.features import DEFAULT_FEATURES, Features, features_from_state, make_features
from aco.policies import ConformalThreshold, calibrate_threshold, chosen_values, floors, threshold, utility
from aco.routers.base import Router, Routing
from aco.routers.registry import register

REWARD_COST_WEIGHT = 0.1
POLICIES = ("threshold", "utility", "conformal")
THRESHOLD_GRID = tuple(float(x) for x in np.round(np.linspace(0.05, 0.95, 19), 2))
LAMBDA_GRID = (0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
TARGET_GRID = tuple(float(x) for x in np.round(np.linspace(0.3, 0.95, 14), 3))
_KNOBS = {"threshold": ("threshold", THRESHOLD_GRID), "utility": ("lam", LAMBDA_GRID),
          "conformal": ("target_success", TARGET_GRID)}


def mean_reward(score: np.ndarray, cost_usd: np.ndarray, model_idx: np.ndarray) -> float:
    """Mean of score - 0.1 x cost_usd of the chosen models."""
    return float((chosen_values(score, model_idx) - REWARD_COST_WEIGHT * chosen_values(cost_usd, model_idx)).mean())


class LearnedRouter(Router):
    """Base of the predictive routers; subclasses set `name`, `default_features` and `_estimator`."""

    spec_arg: ClassVar[str] = "policy"
    default_features: ClassVar[str] = DEFAULT_FEATURES

    def __init__(self, policy: str = "threshold", threshold: float | None = None, lam: float | None = None,
                 target_success: float | None = None, delta: float = 0.1, features: str | None = None,
                 floor_tier: int = 2, calibration_share: float = 0.3, seed: int = 0) -> None:
        self.policy = policy
        self.threshold = threshold
        self.lam = lam
        self.target_success = target_success
        self.delta = delta
        self.features = features
        self.floor_tier = floor_tier
        self.calibration_share = calibration_share
        self.seed = seed

    # --- the knob depends on the policy -------------------------------------------------------------
    @property  # type: ignore[override]
    def knob(self) -> str | None:  # type: ignore[override]
        return _KNOBS[self.policy][0] if self.policy in _KNOBS else None

    @property  # type: ignore[override]
    def knob_grid(self) -> tuple[float, ...]:  # type: ignore[override]
        return _KNOBS[self.policy][1] if self.policy in _KNOBS else ()

    def _estimator(self) -> CalibratedEstimator:
        raise NotImplementedError

    # --- fitting ------------------------------------------------------------------------------------
    def _fit(self, table: OutcomeTable) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}; choose one of {', '.join(POLICIES)}")
        self.tiers_ = np.array([m.tier for m in table.models])
        self.protected_ = tuple(table.protected_categories)
        self.relative_cost_scale_usd_ = float(max(table.cost_usd.mean(axis=0).max(), 1e-12))
        rows = np.arange(table.n_tasks)
        cal_rows = np.zeros(0, dtype=int)
        if self.policy == "conformal" and table.n_tasks >= 10:
            rng = np.random.default_rng(self.seed)
            perm = rng.permutation(table.n_tasks)
            n_cal = max(round(self.calibration_share * table.n_tasks), 1)
            cal_rows, rows = np.sort(perm[:n_cal]), np.sort(perm[n_cal:])
        self.features_: Features = make_features(self.features or self.default_features, self.seed)
        train = table.subset(rows)
        X = self.features_.fit_transform(train.tasks)
        self.estimator_ = self._estimator().fit(X, train.score, train.cost_usd)
        self._choose_defaults(train)
        self.calibration_set_: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if len(cal_rows):
            cal = table.subset(cal_rows)
            Xc = self.features_.transform(cal.tasks)
            self.calibration_set_ = (self.estimator_.predict_proba(Xc), cal.score,
                                     self.estimator_.expected_cost_usd(Xc))
        self.default_target_ = float(table.mean_score().max())

    def _choose_defaults(self, train: OutcomeTable) -> None:
        """Threshold and lambda maximising the mean training reward on out-of-fold predictions."""
        p = self.estimator_.oof_proba_
        assert p is not None
        cost = self.estimator_.mean_cost_usd_
        rel = cost / self.relative_cost_scale_usd_
        self.auto_threshold_ = max(THRESHOLD_GRID, key=lambda t: (
            mean_reward(train.score, train.cost_usd, threshold(p, cost, t)), -t))
        self.auto_lam_ = max(LAMBDA_GRID, key=lambda lam: (
            mean_reward(train.score, train.cost_usd, utility(p, rel, lam)), lam))

    # --- state for artifacts ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Fitted state as JSON values and arrays (see `aco.artifacts`)."""
        return {"features": self.features_.to_state(), "estimator": self.estimator_.to_state(),
                "tiers": self.tiers_, "protected": list(self.protected_),
                "relative_cost_scale_usd": self.relative_cost_scale_usd_, "auto_threshold": self.auto_threshold_,
                "auto_lam": self.auto_lam_, "default_target": self.default_target_,
                "calibration_set": None if self.calibration_set_ is None else list(self.calibration_set_)}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore the fitted state written by `to_state`."""
        self.features_ = features_from_state(state["features"])
        self.estimator_ = estimator_from_state(state["estimator"])
        self.tiers_ = np.asarray(state["tiers"], int)
        self.protected_ = tuple(state["protected"])
        self.relative_cost_scale_usd_ = float(state["relative_cost_scale_usd"])
        self.auto_threshold_ = float(state["auto_threshold"])
        self.auto_lam_ = float(state["auto_lam"])
        self.default_target_ = float(state["default_target"])
        cal = state["calibration_set"]
        self.calibration_set_ = None if cal is None else (np.asarray(cal[0]), np.asarray(cal[1]), np.asarray(cal[2]))

    def describe(self) -> dict[str, Any]:
        """Readable policy settings, thresholds and calibration tables for the artifact metadata."""
        policy: dict[str, Any] = {"name": self.policy, "knob": self.knob,
                                  "knob_value": getattr(self, str(self.knob)),
                                  "auto_threshold": self.auto_threshold_, "auto_lam": self.auto_lam_,
                                  "floor_tier": self.floor_tier, "protected_categories": list(self.protected_)}
        if self.policy == "conformal":
            cert = self.certified_threshold()
            policy.update(target_success=self.target_success or self.default_target_, delta=self.delta,
                          certified_threshold=cert.threshold, feasible=cert.feasible,
                          calibration_success=cert.calibration_success, n_calibration=cert.n_calibration)
        return {"policy": policy, "features": self.features_.names(),
                "calibration": [c.to_json() for c in self.estimator_.calibrators_]}

    # --- routing ------------------------------------------------------------------------------------
    def certified_threshold(self) -> ConformalThreshold:
        """The conformal threshold for the current target (the training best-single success by default)."""
        target = self.target_success if self.target_success is not None else self.default_target_
        if self.calibration_set_ is None:
            return ConformalThreshold(0.99, False, float("nan"), 0)
        p_cal, score_cal, cost_cal = self.calibration_set_
        return calibrate_threshold(p_cal, score_cal, cost_cal, target, self.delta)

    def predict(self, tasks: TaskSet) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated P(success) and expected cost (n, m) for every task and candidate model.

        The last prediction is reused when the same task frame object is routed again (a knob sweep).
        """
        cached = getattr(self, "_last_prediction", None)
        if cached is not None and cached[0] is tasks.tasks:
            return cached[1], cached[2]
        X = self.features_.transform(tasks.tasks)
        p, cost = self.estimator_.predict_proba(X), self.estimator_.expected_cost_usd(X)
        self._last_prediction = (tasks.tasks, p, cost)
        return p, cost

    def decide(self, p: np.ndarray, cost: np.ndarray, categories: Any) -> tuple[np.ndarray, str]:
        """Apply the policy (with safety floors): model per task and a reason template."""
        allowed = floors(categories, self.protected_, self.tiers_, self.floor_tier) if self.protected_ else None
        if self.policy == "utility":
            lam = self.lam if self.lam is not None else self.auto_lam_
            return utility(p, cost / self.relative_cost_scale_usd_, lam, allowed), f"max P - {lam:g} x relative cost"
        if self.policy == "conformal":
            cert = self.certified_threshold()
            flag = "" if cert.feasible else " (target not certified: most conservative rule)"
            return (threshold(p, cost, cert.threshold, allowed),
                    f"cheapest with P >= {cert.threshold:.2f} (conformal, delta {self.delta:g}){flag}")
        t = self.threshold if self.threshold is not None else self.auto_threshold_
        return threshold(p, cost, t, allowed), f"cheapest with P >= {t:.2f}"

    def route(self, tasks: TaskSet) -> Routing:
        p, cost = self.predict(tasks)
        idx, why = self.decide(p, cost, tasks.tasks["category"].to_numpy())
        names = tasks.model_names
        chosen_p, chosen_cost = chosen_values(p, idx), chosen_values(cost, idx)
        reasons = [f"{why}: {names[j]} (P={pj:.2f}, ~${cj:.4f})"
                   for j, pj, cj in zip(idx.tolist(), chosen_p.tolist(), chosen_cost.tolist(), strict=True)]
        return Routing(model_idx=idx, p_success=p, reasons=reasons)


@register
class GBDTRouter(LearnedRouter):
    """LightGBM per model, isotonic-calibrated on inner folds, then the policy."""

    name = "gbdt"

    def _estimator(self) -> CalibratedEstimator:
        return GBDTEstimator(seed=self.seed)


@register
class PooledGBDTRouter(LearnedRouter):
    """One LightGBM with the model as a one-hot feature (the alternative to one booster per model)."""

    name = "gbdt-pooled"

    def _estimator(self) -> CalibratedEstimator:
        return GBDTEstimator(pooled=True, seed=self.seed)


@register
class KNNRouter(LearnedRouter):
    """Similar training tasks vote (similarity-weighted, Beta-smoothed), isotonic-calibrated."""

    name = "knn"

    def _estimator(self) -> CalibratedEstimator:
        return KNNEstimator(seed=self.seed)


@register
class CategoryStatsRouter(LearnedRouter):
    """Beta-smoothed success per (category, source, language, model)."""

    name = "category-stats"
    default_features: ClassVar[str] = "category,source,language"

    def _estimator(self) -> CalibratedEstimator:
        return CategoryStatsEstimator(seed=self.seed)


@register
class LogRegRouter(LearnedRouter):
    """Logistic regression per model (reference learner), sigmoid-calibrated."""

    name = "logreg"

    def _estimator(self) -> CalibratedEstimator:
        return LogRegEstimator(seed=self.seed)


@register
class MFRouter(LearnedRouter):
    """RouteLLM-style matrix factorisation of task x model, isotonic-calibrated."""

    name = "mf"

    def _estimator(self) -> CalibratedEstimator:
        return MFEstimator(seed=self.seed)
