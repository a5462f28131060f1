"""`mf`: RouteLLM-style matrix factorisation of task x model success.

logit P(success | task, model) = <W x_task, v_model> + b_model, with the task projected by W (d -> k) and a
k-dimensional embedding per model, trained with full-batch Adam on cross-entropy (soft labels) + L2.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from aco.estimators.base import CalibratedEstimator, State
from aco.estimators.calibration import EPS, logit, sigmoid


class MFEstimator(CalibratedEstimator):
    """Bilinear task-model factorisation (RouteLLM's MF router), calibrated."""

    kind = "mf"

    def __init__(self, dim: int = 16, steps: int = 300, learning_rate: float = 0.05, l2: float = 1e-3,
                 calibration: str = "isotonic", inner_folds: int = 3, seed: int = 0) -> None:
        super().__init__(calibration, inner_folds, seed)
        self.dim = dim
        self.steps = steps
        self.learning_rate = learning_rate
        self.l2 = l2
        self.center_ = np.zeros(0)
        self.scale_ = np.zeros(0)
        self.proj_ = np.zeros((0, 0))
        self.model_emb_ = np.zeros((0, 0))
        self.bias_ = np.zeros(0)

    def params(self) -> dict[str, Any]:
        return {"dim": self.dim, "steps": self.steps, "learning_rate": self.learning_rate, "l2": self.l2,
                "calibration": self.calibration, "inner_folds": self.inner_folds, "seed": self.seed}

    def _fit_raw(self, X: np.ndarray, Y: np.ndarray, cost_usd: np.ndarray) -> None:
        with threadpool_limits(limits=1):  # 300 small products: BLAS threads only contend (measured 9x slower)
            self._adam(X, Y)

    def _adam(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.center_ = X.mean(axis=0)
        self.scale_ = np.where(X.std(axis=0) > 1e-12, X.std(axis=0), 1.0)
        Z = (X - self.center_) / self.scale_
        n, m = Y.shape
        rng = np.random.default_rng(self.seed)
        params = [rng.normal(0, 0.1, (Z.shape[1], self.dim)), rng.normal(0, 0.1, (m, self.dim)),
                  logit(np.clip(Y.mean(axis=0), EPS, 1 - EPS))]
        moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        for step in range(1, self.steps + 1):
            proj, emb, bias = params
            hidden = Z @ proj
            grad_logit = (sigmoid(hidden @ emb.T + bias) - Y) / (n * m)
            grads = [Z.T @ (grad_logit @ emb) + self.l2 * proj, grad_logit.T @ hidden + self.l2 * emb,
                     grad_logit.sum(axis=0)]
            for i, (g, (m1, m2)) in enumerate(zip(grads, moments, strict=True)):
                m1[...] = 0.9 * m1 + 0.1 * g
                m2[...] = 0.999 * m2 + 0.001 * g * g
                update = (m1 / (1 - 0.9**step)) / (np.sqrt(m2 / (1 - 0.999**step)) + 1e-8)
                params[i] = params[i] - self.learning_rate * update
        self.proj_, self.model_emb_, self.bias_ = params

    def _predict_raw(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, float) - self.center_) / self.scale_
        return sigmoid((Z @ self.proj_) @ self.model_emb_.T + self.bias_)

    def _raw_state(self) -> State:
        return {"center": self.center_, "scale": self.scale_, "proj": self.proj_, "model_emb": self.model_emb_,
                "bias": self.bias_}

    def _load_raw_state(self, state: State) -> None:
        for key in ("center", "scale", "proj", "model_emb", "bias"):
            setattr(self, f"{key}_", np.asarray(state[key], float))
