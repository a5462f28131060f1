from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aco.trajectories.value_head import ValueHead, platt, select_head


def _frame(n: int = 150, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Success iff x > 0.5 (a threshold a tree finds); the text is noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, n)
    noise = rng.uniform(0, 1, n)
    frame = pd.DataFrame({"x": x, "noise": noise, "text": [f"word{i % 7} other" for i in range(n)]})
    return frame, (x > 0.5).astype(int)


def test_select_head_prefers_the_candidate_that_ranks_better_inside_training_rows() -> None:
    frame, y = _frame()
    weak = ValueHead(numeric=("noise",), use_text=False, label="noise")
    strong = ValueHead(numeric=("x",), kind="lightgbm", label="x-gbm")
    head, scores = select_head([weak, strong], frame, y, seed=0, calibrate=True)
    assert head.label == "x-gbm" and scores["x-gbm"] > scores["noise"]
    p = head.predict(frame)
    assert np.all((p >= 0) & (p <= 1)) and p[y == 1].mean() > p[y == 0].mean() + 0.5


def test_platt_is_monotone_and_falls_back_to_the_base_rate() -> None:
    slope, _ = platt(np.array([0.2, 0.3, 0.7, 0.8]), np.array([0, 0, 1, 1]))
    assert slope > 0
    slope, intercept = platt(np.array([0.8, 0.7, 0.3, 0.2]), np.array([0, 0, 1, 1]))
    assert slope == 0 and 1 / (1 + np.exp(-intercept)) == pytest.approx(0.5)


def test_unknown_kind_is_refused() -> None:
    frame, y = _frame(30)
    with pytest.raises(ValueError, match="kind"):
        ValueHead(numeric=("x",), kind="forest").fit(frame, y)
