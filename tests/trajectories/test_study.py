from __future__ import annotations

import numpy as np
import pandas as pd

from aco.trajectories.study import nested_oof_sets, route_auc
from aco.trajectories.value_head import ValueHead, nested_oof


def _frame(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, noise = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    return pd.DataFrame({"x": x, "noise": noise}), (x + 0.3 * rng.normal(size=n) > 0.5).astype(int)


def test_shared_inner_cv_matches_select_head_per_set() -> None:
    frame, y = _frame()
    noise = ValueHead(numeric=("noise",), use_text=False, c=1.0, label="noise")
    signal = ValueHead(numeric=("x",), use_text=False, c=1.0, label="x")
    sets = {"noise-only": [noise], "both": [noise, signal]}
    shared = nested_oof_sets(frame, y, sets)
    for name, heads in sets.items():
        p, chosen = nested_oof(frame, y, heads)
        assert np.allclose(shared[name][0], p) and shared[name][1] == chosen
    assert shared["both"][1] == ["x"] * 5
    auc_both = route_auc(shared["both"][0], y.astype(bool))[0]
    assert auc_both > route_auc(shared["noise-only"][0], y.astype(bool))[0] and auc_both > 0.7
