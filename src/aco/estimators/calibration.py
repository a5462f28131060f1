"""Calibration maps fitted on held-out predictions (isotonic, sigmoid), Beta smoothing, and cross-fitting.

A map turns a raw score in [0, 1] into a calibrated P(success). Every map is plain arrays, so it is written
out readable (JSON) in an artifact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

EPS = 1e-6
CALIBRATIONS = ("isotonic", "sigmoid", "none")


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, EPS, 1 - EPS)
    return np.asarray(np.log(q) - np.log1p(-q))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))))


def beta_smooth(successes: np.ndarray, trials: np.ndarray, prior_mean: np.ndarray | float,
                prior_strength: float = 2.0) -> np.ndarray:
    """Posterior mean of a Beta(prior_strength * prior_mean, prior_strength * (1 - prior_mean)) prior."""
    return np.asarray((successes + prior_strength * np.asarray(prior_mean)) / (trials + prior_strength))


@dataclass(frozen=True)
class CalibrationMap:
    """Piecewise-linear map from raw score to probability (`kind` isotonic or none) or Platt `a * logit + b`."""

    kind: str
    x: np.ndarray
    y: np.ndarray

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self.kind == "sigmoid":
            return sigmoid(self.x[0] * logit(raw) + self.x[1])
        if self.kind == "none":
            return np.asarray(np.clip(raw, 0.0, 1.0))
        return np.asarray(np.interp(raw, self.x, self.y))

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "x": self.x.tolist(), "y": self.y.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CalibrationMap:
        kind = str(data["kind"])
        if kind not in CALIBRATIONS:
            raise ValueError(f"unknown calibration kind {kind!r}")
        return cls(kind, np.asarray(data["x"], dtype=float), np.asarray(data["y"], dtype=float))


def fit_isotonic(raw: np.ndarray, y: np.ndarray) -> CalibrationMap:
    """Isotonic regression of outcome on raw score (clipped at the ends)."""
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    x, fitted = np.asarray(iso.X_thresholds_, float), np.asarray(iso.y_thresholds_, float)
    if len(x) < 2:
        x, fitted = np.array([0.0, 1.0]), np.full(2, float(np.mean(y)))
    return CalibrationMap("isotonic", x, fitted)


def _platt_loss(a: float, b: float, z: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(sigmoid(a * z + b), 1e-12, 1 - 1e-12)
    return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).sum())


def fit_sigmoid(raw: np.ndarray, y: np.ndarray, steps: int = 100) -> CalibrationMap:
    """Platt scaling: logistic regression of the outcome on logit(raw), by damped Newton steps (soft labels ok)."""
    z = logit(raw)
    a, b = 1.0, 0.0
    loss = _platt_loss(a, b, z, y)
    for _ in range(steps):
        p = sigmoid(a * z + b)
        w = np.maximum(p * (1 - p), 1e-9)
        g = np.array([np.dot(p - y, z), np.sum(p - y)])
        h = np.array([[np.dot(w, z * z), np.dot(w, z)], [np.dot(w, z), np.sum(w)]]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(h, g)
        scale = 1.0
        while scale > 1e-4 and _platt_loss(a - scale * step[0], b - scale * step[1], z, y) > loss:
            scale /= 2
        new_a, new_b = a - scale * step[0], b - scale * step[1]
        new_loss = _platt_loss(new_a, new_b, z, y)
        if new_loss > loss:
            break
        a, b, done = new_a, new_b, loss - new_loss < 1e-10 * max(len(y), 1)
        loss = new_loss
        if done:
            break
    return CalibrationMap("sigmoid", np.array([a, b]), np.zeros(0))


def fit_calibration(kind: str, raw: np.ndarray, y: np.ndarray) -> CalibrationMap:
    """A map of the given kind fitted on held-out raw scores and their outcomes."""
    if kind == "isotonic":
        return fit_isotonic(raw, y)
    if kind == "sigmoid":
        return fit_sigmoid(raw, y)
    if kind == "none":
        return CalibrationMap("none", np.zeros(0), np.zeros(0))
    raise ValueError(f"unknown calibration {kind!r}; choose one of {', '.join(CALIBRATIONS)}")


def inner_folds(n: int, folds: int, seed: int) -> np.ndarray:
    """Fold number of each of n rows (seeded, balanced)."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(n, dtype=int)
    fold_of[rng.permutation(n)] = np.arange(n) % max(folds, 1)
    return fold_of


def cross_fit(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int, folds: int, seed: int,
              ) -> np.ndarray:
    """Out-of-fold predictions: `fit_predict(train_rows, test_rows)` returns (len(test_rows), m) raw scores."""
    fold_of = inner_folds(n, folds, seed)
    blocks: list[tuple[np.ndarray, np.ndarray]] = []
    for k in range(folds):
        test = np.flatnonzero(fold_of == k)
        blocks.append((test, fit_predict(np.flatnonzero(fold_of != k), test)))
    out = np.empty((n, blocks[0][1].shape[1]))
    for rows, values in blocks:
        out[rows] = values
    return out
