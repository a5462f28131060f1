"""Predictive routers: features -> calibrated success estimator -> policy.

Registered as `gbdt`, `gbdt-pooled`, `knn`, `category-stats`, `logreg` and `mf`. The policy is a parameter
(`gbdt:utility`, `knn:conformal`, ...; default `threshold`) and its parameter is the router's knob:
`threshold` (cheapest model with P >= t), `lam` (max P - lam x cost, cost relative to the dearest model's mean
cost per task) or `target_success` (conformal). When `threshold` / `lam` is None it is chosen on the
TRAINING tasks only, from the estimator's inner out-of-fold predictions, to maximise the mean reward
score - cost_usd / value_usd (`aco.policies.objective`; `value_usd` None = the training table's default), on a
grid that is extended past an edge the best value lands on. Tasks of protected categories only get models of
tier >= `floor_tier`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from aco.catalog import format_usd
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
from aco.policies.objective import Objective, best_on_grid
from aco.policies.rules import reaches
from aco.records import Decision
from aco.routers.base import Router, Routing, objective_for
from aco.routers.decision import NoModelAllowedError, TaskContext, allowed_mask
from aco.routers.registry import register

POLICIES = ("threshold", "utility", "conformal")
THRESHOLD_GRID = tuple(float(x) for x in np.round(np.linspace(0.05, 0.95, 19), 2))
LAMBDA_GRID = (0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
TARGET_GRID = tuple(float(x) for x in np.round(np.linspace(0.3, 0.95, 14), 3))
_KNOBS = {"threshold": ("threshold", THRESHOLD_GRID), "utility": ("lam", LAMBDA_GRID),
          "conformal": ("target_success", TARGET_GRID)}


class LearnedRouter(Router):
    """Base of the predictive routers; subclasses set `name`, `default_features` and `_estimator`."""

    spec_arg: ClassVar[str] = "policy"
    default_features: ClassVar[str] = DEFAULT_FEATURES

    def __init__(self, policy: str = "threshold", threshold: float | None = None, lam: float | None = None,
                 target_success: float | None = None, delta: float = 0.1, features: str | None = None,
                 floor_tier: int = 2, calibration_share: float = 0.3, value_usd: float | None = None,
                 seed: int = 0) -> None:
        self.policy = policy
        self.threshold = threshold
        self.lam = lam
        self.target_success = target_success
        self.delta = delta
        self.features = features
        self.floor_tier = floor_tier
        self.calibration_share = calibration_share
        self.value_usd = value_usd
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
        self.categories_ = tuple(sorted(set(table.tasks["category"].astype(str)) - {""}))
        self.objective_ = objective_for(self.value_usd, table)
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
        names, reward = self.models_, self.objective_.mean_reward
        self.auto_threshold_ = best_on_grid(
            THRESHOLD_GRID, lambda t: reward(train.score, train.cost_usd, threshold(p, cost, t, names=names)),
            low=0.0, high=1.0)
        self.auto_lam_ = best_on_grid(
            LAMBDA_GRID, lambda lam: reward(train.score, train.cost_usd, utility(p, rel, lam, names=names)),
            low=0.0, prefer_high=True)

    # --- state for artifacts ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Fitted state as JSON values and arrays (see `aco.artifacts`)."""
        return {"features": self.features_.to_state(), "estimator": self.estimator_.to_state(),
                "tiers": self.tiers_, "protected": list(self.protected_),
                "relative_cost_scale_usd": self.relative_cost_scale_usd_, "auto_threshold": self.auto_threshold_,
                "categories": list(self.categories_), "value_usd": self.objective_.value_usd,
                "value_source": self.objective_.source,
                "auto_lam": self.auto_lam_, "default_target": self.default_target_,
                "calibration_set": None if self.calibration_set_ is None else list(self.calibration_set_)}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore the fitted state written by `to_state`."""
        self.features_ = features_from_state(state["features"])
        self.estimator_ = estimator_from_state(state["estimator"])
        self.tiers_ = np.asarray(state["tiers"], int)
        self.protected_ = tuple(state["protected"])
        self.categories_ = tuple(state.get("categories", ()))  # older artifacts: unknown
        self.objective_ = Objective(float(state.get("value_usd", 10.0)),
                                    str(state.get("value_source", "Agent-as-a-Router's reward (older artifact)")))
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
                                  "floor_tier": self.floor_tier, "protected_categories": list(self.protected_),
                                  "value_usd": self.objective_.value_usd, "value_source": self.objective_.source}
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

    def apply_policy(self, p: np.ndarray, cost: np.ndarray, categories: Any,
                     permitted: np.ndarray | None = None) -> tuple[np.ndarray, str]:
        """Apply the policy (with safety floors, within the `permitted` (n, m) mask): model per task and the rule
        as a phrase (see `explain`)."""
        allowed = self._allowed(categories, permitted)
        names = self.models_
        if self.policy == "utility":
            lam = self.lam if self.lam is not None else self.auto_lam_
            return (utility(p, cost / self.relative_cost_scale_usd_, lam, allowed, names=names),
                    f"max P - {lam:g} x relative cost")
        t = self._threshold()
        return threshold(p, cost, t, allowed, names=names), f"cheapest with P >= {t:.2f}{self._conformal_note()}"

    def _allowed(self, categories: Any, permitted: np.ndarray | None) -> np.ndarray | None:
        """The safety floors' mask within the `permitted` one (None: every model)."""
        allowed = floors(categories, self.protected_, self.tiers_, self.floor_tier) if self.protected_ else None
        if permitted is None:
            return allowed
        allowed = permitted if allowed is None else allowed & permitted
        if not allowed.any(axis=1).all():
            raise NoModelAllowedError("no permitted model meets the safety floor of this category")
        return allowed

    def permitted(self, context: TaskContext) -> tuple[str, ...]:
        mask = self._allowed(np.array([context.category], dtype=object), None)
        return tuple(self.models_) if mask is None else tuple(m for m, ok in zip(self.models_, mask[0], strict=True)
                                                               if ok)

    def _threshold(self) -> float:
        if self.policy == "conformal":
            return self.certified_threshold().threshold
        return self.threshold if self.threshold is not None else self.auto_threshold_

    def _conformal_note(self) -> str:
        if self.policy != "conformal":
            return ""
        flag = "" if self.certified_threshold().feasible else "; target not certified: most conservative rule"
        return f" (conformal, delta {self.delta:g}{flag})"

    def explain(self, p: np.ndarray, cost: np.ndarray, idx: np.ndarray, categories: Any,
                permitted: np.ndarray | None = None) -> list[str]:
        """One reason per task saying what the rule did: the model it met the rule with, or that no model
        reached the threshold (and the most likely one was taken), plus an unseen category by name."""
        names = self.models_
        chosen_p, chosen_cost = chosen_values(p, idx), chosen_values(cost, idx)
        cats = [str(c) for c in np.asarray(categories, dtype=object)]
        if self.policy == "utility":
            lam = self.lam if self.lam is not None else self.auto_lam_
            heads = [f"max P - {lam:g} x relative cost"] * len(idx)
        else:
            t = self._threshold()
            allowed = self._allowed(cats, permitted)
            note = self._conformal_note()
            heads = [f"cheapest with P >= {t:.2f}{note}" if ok else f"no model reaches P >= {t:.2f}{note}; most likely"
                     for ok in reaches(p, t, allowed).tolist()]
        known = set(self.categories_)
        return [f"{head}: {names[j]} (P={pj:.2f}, ~${format_usd(cj)})"
                + (f"; category {c!r} unseen in training" if c and known and c not in known else "")
                for head, j, pj, cj, c in zip(heads, idx.tolist(), chosen_p.tolist(), chosen_cost.tolist(), cats,
                                              strict=True)]

    def route(self, tasks: TaskSet) -> Routing:
        p, cost = self.predict(tasks)
        categories = tasks.tasks["category"].to_numpy()
        idx, _ = self.apply_policy(p, cost, categories)
        return Routing(model_idx=idx, p_success=p, reasons=self.explain(p, cost, idx, categories))

    def _decide(self, context: TaskContext, allowed: frozenset[str] | None) -> Decision:
        """One task: featurise its row, predict, apply the policy within the allowed models."""
        X = self.features_.transform(context.task_frame())
        p, cost = self.estimator_.predict_proba(X), self.estimator_.expected_cost_usd(X)
        categories = np.array([context.category], dtype=object)
        permitted = allowed_mask(allowed, self.models_)
        idx, _ = self.apply_policy(p, cost, categories, permitted)
        j = int(idx[0])
        by_model = dict(zip(self.models_, p[0].tolist(), strict=True))
        return Decision(task_id=context.task_id, model=self.models_[j], p_success=by_model[self.models_[j]],
                        reason=self.explain(p, cost, idx, categories, permitted)[0], step_kind=context.step_kind,
                        p_success_by_model=by_model, expected_cost_usd=float(cost[0, j]))


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
