"""`category-stats`: Beta-smoothed success rate per (feature cell, model), e.g. per (category, model).

A cell is a distinct feature row (with one-hot category/source features: one cell per category/source
pair). The prior is each model's overall rate with `prior_strength` pseudo-tasks; an unseen cell gets it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aco.estimators.base import CalibratedEstimator, State
from aco.estimators.calibration import beta_smooth


class CategoryStatsEstimator(CalibratedEstimator):
    """Success rate per (cell, model) shrunk towards the model's overall rate (Beta prior)."""

    kind = "category-stats"

    def __init__(self, prior_strength: float = 4.0, calibration: str = "none", inner_folds: int = 3,
                 seed: int = 0) -> None:
        super().__init__(calibration, inner_folds, seed)
        self.prior_strength = prior_strength
        self.cells_ = np.zeros((0, 0))
        self.cell_proba_ = np.zeros((0, 0))
        self.cell_count_ = np.zeros(0)
        self.prior_ = np.zeros(0)

    def params(self) -> dict[str, Any]:
        return {"prior_strength": self.prior_strength, "calibration": self.calibration,
                "inner_folds": self.inner_folds, "seed": self.seed}

    def _fit_raw(self, X: np.ndarray, Y: np.ndarray, cost_usd: np.ndarray) -> None:
        cells, inverse = np.unique(np.round(X, 9), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        counts = np.bincount(inverse, minlength=len(cells)).astype(float)
        sums = np.zeros((len(cells), Y.shape[1]))
        np.add.at(sums, inverse, Y)
        self.prior_ = Y.mean(axis=0)
        self.cells_ = cells
        self.cell_count_ = counts
        self.cell_proba_ = beta_smooth(sums, counts[:, None], self.prior_, self.prior_strength)

    def cell_of(self, X: np.ndarray) -> np.ndarray:
        """Index of each row's training cell, -1 when unseen."""
        lookup = {row.tobytes(): i for i, row in enumerate(np.ascontiguousarray(self.cells_))}
        rows = np.ascontiguousarray(np.round(np.asarray(X, float), 9))
        return np.array([lookup.get(row.tobytes(), -1) for row in rows], dtype=int)

    def _predict_raw(self, X: np.ndarray) -> np.ndarray:
        cell = self.cell_of(X)
        out = np.tile(self.prior_, (len(cell), 1))
        seen = cell >= 0
        out[seen] = self.cell_proba_[cell[seen]]
        return out

    def _raw_state(self) -> State:
        return {"cells": self.cells_, "cell_proba": self.cell_proba_, "cell_count": self.cell_count_,
                "prior": self.prior_}

    def _load_raw_state(self, state: State) -> None:
        self.cells_ = np.asarray(state["cells"], float)
        self.cell_proba_ = np.asarray(state["cell_proba"], float)
        self.cell_count_ = np.asarray(state["cell_count"], float)
        self.prior_ = np.asarray(state["prior"], float)
