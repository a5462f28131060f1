"""The `SuccessEstimator` contract and a base class that calibrates any raw learner by cross-fitting.

An estimator learns, from features X (n, d), outcomes Y (n, m) in [0, 1] (soft labels allowed) and costs
(n, m), a calibrated P(success) for each of the m candidate models and an expected cost per model.
Calibration maps are fitted on out-of-fold raw predictions of the TRAINING data only (inner folds), then
the learner is refitted on all training rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

from aco.estimators.calibration import CalibrationMap, cross_fit, fit_calibration

State = dict[str, Any]


@runtime_checkable
class SuccessEstimator(Protocol):
    """Predicts calibrated P(success) (n, m) and expected cost (n, m) for every candidate model."""

    def fit(self, X: np.ndarray, Y: np.ndarray, cost_usd: np.ndarray) -> Self: ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...

    def expected_cost_usd(self, X: np.ndarray) -> np.ndarray: ...


class CalibratedEstimator(ABC):
    """Raw learner (`_fit_raw`, `_predict_raw`) + per-model calibration fitted on inner out-of-fold scores.

    Subclasses keep their parameters in `params()` and their fitted state in `_raw_state()` /
    `_load_raw_state()` (JSON values and numpy arrays only).
    """

    kind: str = ""

    def __init__(self, calibration: str = "isotonic", inner_folds: int = 3, seed: int = 0) -> None:
        self.calibration = calibration
        self.inner_folds = inner_folds
        self.seed = seed
        self.calibrators_: list[CalibrationMap] = []
        self.mean_cost_usd_: np.ndarray = np.zeros(0)
        self.oof_proba_: np.ndarray | None = None

    # --- subclass hooks -----------------------------------------------------------------------------
    @abstractmethod
    def _fit_raw(self, X: np.ndarray, Y: np.ndarray, cost_usd: np.ndarray) -> None:
        """Fit the raw learner on all given rows."""

    @abstractmethod
    def _predict_raw(self, X: np.ndarray) -> np.ndarray:
        """Raw scores in [0, 1], shape (n, m)."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Constructor parameters (JSON values)."""

    @abstractmethod
    def _raw_state(self) -> State: ...

    @abstractmethod
    def _load_raw_state(self, state: State) -> None: ...

    def _fresh(self) -> Self:
        return type(self)(**self.params())

    # --- contract -----------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, Y: np.ndarray, cost_usd: np.ndarray) -> Self:
        X, Y = np.asarray(X, float), np.asarray(Y, float)
        if X.shape[0] != Y.shape[0] or Y.shape != np.shape(cost_usd):
            raise ValueError(f"shapes disagree: X {X.shape}, Y {Y.shape}, cost {np.shape(cost_usd)}")
        self.mean_cost_usd_ = np.asarray(cost_usd, float).mean(axis=0)
        n = X.shape[0]
        if self.calibration != "none" and n >= 2 * self.inner_folds:
            def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
                inner = self._fresh()
                inner._fit_raw(X[train], Y[train], np.asarray(cost_usd)[train])
                return inner._predict_raw(X[test])

            raw = cross_fit(fit_predict, n, self.inner_folds, self.seed)
            self.calibrators_ = [fit_calibration(self.calibration, raw[:, j], Y[:, j]) for j in range(Y.shape[1])]
            self.oof_proba_ = self._calibrate(raw)
        else:
            self.calibrators_ = [fit_calibration("none", Y[:, j], Y[:, j]) for j in range(Y.shape[1])]
        self._fit_raw(X, Y, np.asarray(cost_usd, float))
        if self.oof_proba_ is None:
            self.oof_proba_ = self._calibrate(self._predict_raw(X))
        return self

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        return np.column_stack([cal(raw[:, j]) for j, cal in enumerate(self.calibrators_)])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated P(success), shape (n, m)."""
        return self._calibrate(self._predict_raw(np.asarray(X, float)))

    def expected_cost_usd(self, X: np.ndarray) -> np.ndarray:
        """Expected cost per model: the training mean cost per task (n, m)."""
        return np.broadcast_to(self.mean_cost_usd_, (np.shape(X)[0], len(self.mean_cost_usd_))).copy()

    # --- state --------------------------------------------------------------------------------------
    def to_state(self) -> State:
        """Parameters, calibration tables (readable) and the fitted learner (arrays / model text)."""
        return {"kind": self.kind, "params": self.params(), "mean_cost_usd": self.mean_cost_usd_,
                "calibration": [c.to_json() for c in self.calibrators_], "raw": self._raw_state()}

    def load_state(self, state: State) -> Self:
        self.mean_cost_usd_ = np.asarray(state["mean_cost_usd"], float)
        self.calibrators_ = [CalibrationMap.from_json(c) for c in state["calibration"]]
        self._load_raw_state(state["raw"])
        return self
