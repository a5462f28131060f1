"""`knn`: retrieval over similar training tasks ("last time a task like this, model X failed, Y succeeded").

Features are standardised on the training rows; the k most cosine-similar training tasks vote with their
similarity as weight, Beta-smoothed towards each model's overall success rate. Expected cost is the
neighbours' weighted mean cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aco.estimators.base import CalibratedEstimator, State
from aco.estimators.calibration import beta_smooth


class KNNEstimator(CalibratedEstimator):
    """Similarity-weighted success of the k nearest training tasks, per model."""

    kind = "knn"

    def __init__(self, k: int = 25, prior_strength: float = 2.0, calibration: str = "isotonic",
                 inner_folds: int = 3, seed: int = 0) -> None:
        super().__init__(calibration, inner_folds, seed)
        self.k = k
        self.prior_strength = prior_strength
        self.center_ = np.zeros(0)
        self.scale_ = np.zeros(0)
        self.train_x_ = np.zeros((0, 0))
        self.train_y_ = np.zeros((0, 0))
        self.train_cost_usd_ = np.zeros((0, 0))

    def params(self) -> dict[str, Any]:
        return {"k": self.k, "prior_strength": self.prior_strength, "calibration": self.calibration,
                "inner_folds": self.inner_folds, "seed": self.seed}

    def _embed(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, float) - self.center_) / self.scale_
        return np.asarray(Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12))

    def _fit_raw(self, X: np.ndarray, Y: np.ndarray, cost_usd: np.ndarray) -> None:
        self.center_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 1e-12, X.std(axis=0), 1.0)
        self.train_x_ = self._embed(X)
        self.train_y_ = np.asarray(Y, float)
        self.train_cost_usd_ = np.asarray(cost_usd, float)

    def neighbours(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (n, k) of the nearest training tasks and their non-negative similarity weights."""
        sim = self._embed(X) @ self.train_x_.T
        k = min(self.k, sim.shape[1])
        idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        weight = np.maximum(np.take_along_axis(sim, idx, axis=1), 0.0)
        return idx, weight

    def _weighted_mean(self, values: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx, weight = self.neighbours(X)
        total = np.einsum("nk,nkm->nm", weight, values[idx])
        return total, weight.sum(axis=1, keepdims=True)

    def _predict_raw(self, X: np.ndarray) -> np.ndarray:
        total, mass = self._weighted_mean(self.train_y_, X)
        return beta_smooth(total, mass, self.train_y_.mean(axis=0), self.prior_strength)

    def expected_cost_usd(self, X: np.ndarray) -> np.ndarray:
        total, mass = self._weighted_mean(self.train_cost_usd_, np.asarray(X, float))
        return beta_smooth(total, mass, self.train_cost_usd_.mean(axis=0), self.prior_strength)

    def _raw_state(self) -> State:
        return {"center": self.center_, "scale": self.scale_, "train_x": self.train_x_, "train_y": self.train_y_,
                "train_cost_usd": self.train_cost_usd_}

    def _load_raw_state(self, state: State) -> None:
        self.center_ = np.asarray(state["center"], float)
        self.scale_ = np.asarray(state["scale"], float)
        self.train_x_ = np.asarray(state["train_x"], float)
        self.train_y_ = np.asarray(state["train_y"], float)
        self.train_cost_usd_ = np.asarray(state["train_cost_usd"], float)
