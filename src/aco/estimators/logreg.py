"""`logreg`: one L2-regularised logistic regression per model on standardised features (reference learner).

Soft labels (scores in [0, 1]) are handled by weighting each row once as a success (weight = score) and
once as a failure (weight = 1 - score).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from aco.estimators.base import CalibratedEstimator, State
from aco.estimators.calibration import EPS, logit, sigmoid


class LogRegEstimator(CalibratedEstimator):
    """Per-model logistic regression, calibrated (sigmoid by default)."""

    kind = "logreg"

    def __init__(self, C: float = 0.1, calibration: str = "sigmoid", inner_folds: int = 3, seed: int = 0) -> None:
        super().__init__(calibration, inner_folds, seed)
        self.C = C
        self.center_ = np.zeros(0)
        self.scale_ = np.zeros(0)
        self.coef_ = np.zeros((0, 0))
        self.intercept_ = np.zeros(0)

    def params(self) -> dict[str, Any]:
        return {"C": self.C, "calibration": self.calibration, "inner_folds": self.inner_folds, "seed": self.seed}

    def _fit_raw(self, X: np.ndarray, Y: np.ndarray, cost_usd: np.ndarray) -> None:
        self.center_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 1e-12, X.std(axis=0), 1.0)
        Z = (X - self.center_) / self.scale_
        n, m = Y.shape
        self.coef_ = np.zeros((m, X.shape[1]))
        self.intercept_ = logit(np.clip(Y.mean(axis=0), EPS, 1 - EPS))
        doubled = np.vstack([Z, Z])
        labels = np.r_[np.ones(n), np.zeros(n)]
        for j in range(m):
            weight = np.r_[Y[:, j], 1.0 - Y[:, j]]
            if np.ptp(Y[:, j]) < EPS:
                continue
            model = LogisticRegression(C=self.C, max_iter=500).fit(doubled, labels, sample_weight=weight)
            self.coef_[j] = model.coef_[0]
            self.intercept_[j] = model.intercept_[0]

    def _predict_raw(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, float) - self.center_) / self.scale_
        return sigmoid(Z @ self.coef_.T + self.intercept_)

    def _raw_state(self) -> State:
        return {"center": self.center_, "scale": self.scale_, "coef": self.coef_, "intercept": self.intercept_}

    def _load_raw_state(self, state: State) -> None:
        self.center_ = np.asarray(state["center"], float)
        self.scale_ = np.asarray(state["scale"], float)
        self.coef_ = np.asarray(state["coef"], float)
        self.intercept_ = np.asarray(state["intercept"], float)
