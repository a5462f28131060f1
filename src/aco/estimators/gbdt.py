"""`gbdt`: one LightGBM classifier per candidate model (cross-entropy on the score, so soft labels work),
calibrated by isotonic regression on inner out-of-fold predictions, and compiled to numpy trees.

`pooled=True` instead fits ONE booster with the model as one-hot features (rows = task x model), the
alternative the issue asks to compare.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np

from aco.estimators.base import CalibratedEstimator, State
from aco.estimators.calibration import EPS, logit, sigmoid
from aco.estimators.trees import TreeEnsemble, compile_boosters


class GBDTEstimator(CalibratedEstimator):
    """Gradient-boosted success predictor per model (or pooled over models), calibrated."""

    kind = "gbdt"

    def __init__(self, n_estimators: int = 50, learning_rate: float = 0.1, num_leaves: int = 6,
                 min_child_samples: int = 10, pooled: bool = False, calibration: str = "isotonic",
                 inner_folds: int = 3, seed: int = 0) -> None:
        super().__init__(calibration, inner_folds, seed)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.pooled = pooled
        self.trees_: TreeEnsemble | None = None
        self.n_models_ = 0

    def params(self) -> dict[str, Any]:
        return {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
                "pooled": self.pooled, "calibration": self.calibration, "inner_folds": self.inner_folds,
                "seed": self.seed}

    def _booster(self, X: np.ndarray, y: np.ndarray) -> dict[str, Any] | None:
        if np.ptp(y) < EPS:
            return None
        params = {"objective": "cross_entropy", "learning_rate": self.learning_rate,
                  "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_child_samples,
                  "feature_fraction": 0.8, "lambda_l2": 1.0, "num_threads": 1, "deterministic": True,
                  "seed": self.seed, "verbose": -1, "max_bin": 31,
                  "force_col_wise": True}
        data = lgb.Dataset(X, label=y, params={"verbose": -1, "max_bin": 31})
        booster = lgb.train(params, data, num_boost_round=self.n_estimators)
        dump: dict[str, Any] = booster.dump_model()
        return dump

    @staticmethod
    def _pool(X: np.ndarray, m: int) -> np.ndarray:
        n = X.shape[0]
        return np.hstack([np.repeat(X, m, axis=0), np.tile(np.eye(m), (n, 1))])

    def _fit_raw(self, X: np.ndarray, Y: np.ndarray, cost_usd: np.ndarray) -> None:
        m = Y.shape[1]
        self.n_models_ = m
        constants = logit(np.clip(Y.mean(axis=0), EPS, 1 - EPS))
        if self.pooled:
            dump = self._booster(self._pool(X, m), Y.ravel())
            self.trees_ = compile_boosters([dump], np.array([logit(np.array(Y.mean()))]))
        else:
            self.trees_ = compile_boosters([self._booster(X, Y[:, j]) for j in range(m)], constants)

    def _predict_raw(self, X: np.ndarray) -> np.ndarray:
        if self.trees_ is None:
            raise ValueError("GBDTEstimator is not fitted")
        if self.pooled:
            return sigmoid(self.trees_.raw_score(self._pool(X, self.n_models_))).reshape(-1, self.n_models_)
        return sigmoid(self.trees_.raw_score(X))

    def _raw_state(self) -> State:
        assert self.trees_ is not None
        return {"n_models": self.n_models_, "trees": self.trees_.to_state()}

    def _load_raw_state(self, state: State) -> None:
        self.n_models_ = int(state["n_models"])
        self.trees_ = TreeEnsemble.from_state(state["trees"])
