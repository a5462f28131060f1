"""Synthetic outcome data with KNOWN success probabilities, for estimator, policy and router tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aco.datasets.table import OutcomeTable
from aco.records import ModelSpec

WORDS = {"easy": "simple typo fix in the docs", "hard": "critical security race condition in production"}


def known_probabilities(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features X (n, 3), true P(success) (n, 3) for a cheap, a middle and a strong model, and outcomes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logits = np.column_stack([2.5 * X[:, 0] - 0.5, 1.5 * X[:, 0] + 0.5, np.full(n, 1.5)])
    p = 1.0 / (1.0 + np.exp(-logits))
    y = (rng.random(p.shape) < p).astype(float)
    return X, p, y


def text_table(n: int = 240, seed: int = 0, protected: tuple[str, ...] = ()) -> OutcomeTable:
    """Tasks whose text says easy/hard: the cheap model solves easy ones, only the strong one hard ones."""
    rng = np.random.default_rng(seed)
    hard = rng.random(n) < 0.5
    text = [f"{WORDS['hard'] if h else WORDS['easy']} task {i} " + ("module " * int(rng.integers(1, 5)))
            for i, h in enumerate(hard)]
    category = np.where(hard, "backend", "docs")
    p = np.column_stack([np.where(hard, 0.1, 0.9), np.where(hard, 0.4, 0.92), np.full(n, 0.95)])
    score = (rng.random(p.shape) < p).astype(float)
    cost = np.tile([0.01, 0.1, 1.0], (n, 1)) * rng.uniform(0.8, 1.2, (n, 3))
    tasks = pd.DataFrame({"text": text, "category": category, "source": "synthetic"},
                         index=[f"t{i}" for i in range(n)])
    models = (ModelSpec("cheap", tier=1), ModelSpec("mid", tier=2), ModelSpec("strong", tier=3))
    return OutcomeTable(name="synthetic", tasks=tasks, models=models, score=score, cost_usd=cost,
                        protected_categories=protected)
