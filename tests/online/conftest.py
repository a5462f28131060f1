"""A small synthetic outcome table with a known best model per category (for loop mechanics only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aco.datasets.table import OutcomeTable
from aco.records import ModelSpec


def make_table(n_tasks: int = 300, seed: int = 0) -> OutcomeTable:
    rng = np.random.default_rng(seed)
    p = np.array([[0.05, 0.3, 0.9], [0.9, 0.3, 0.2]])  # category a: model 2 best; b: model 0 best
    cat = rng.integers(0, 2, n_tasks)
    score = (rng.random((n_tasks, 3)) < p[cat]).astype(float)
    cost = np.tile([0.01, 0.1, 0.3], (n_tasks, 1))
    tasks = pd.DataFrame({"category": np.array(["a", "b"])[cat], "text": [f"about {'ab'[c]}" for c in cat]},
                         index=[f"t{i}" for i in range(n_tasks)])
    return OutcomeTable("synthetic", tasks, (ModelSpec("m0"), ModelSpec("m1"), ModelSpec("m2")), score, cost)


@pytest.fixture
def table() -> OutcomeTable:
    return make_table()
