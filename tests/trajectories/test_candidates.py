from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aco.trajectories.candidates import (
    FAMILIES,
    PooledHead,
    base_heads,
    candidates_upto,
    family_heads,
    pooled_versions,
)
from aco.trajectories.features import feature_frame
from aco.trajectories.loader import Trajectory, Turn
from aco.trajectories.value_head import ValueHead


def _frame(ids: list[str], seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, len(ids))
    return pd.DataFrame({"x": x}, index=pd.Index(ids)), (x > 0.5).astype(int)


def test_pooled_head_never_trains_on_held_out_target_tasks() -> None:
    target = [f"t{i}" for i in range(40)]
    frame, y = _frame(target, 0)
    extra, extra_y = _frame([*target, "other1", "other2"], 1)
    extra = extra.assign(source="gemini")
    train = frame.iloc[:30]
    head = PooledHead(numeric=("x",), categorical=("source",), use_text=False, extra_frame=extra,
                      extra_y=extra_y, target_ids=frozenset(target))
    rows: list[str] = []
    original = ValueHead.fit

    def record(self: ValueHead, f: pd.DataFrame, labels: np.ndarray) -> ValueHead:
        rows.extend(f.index)
        return original(self, f, labels)

    ValueHead.fit = record  # type: ignore[method-assign]
    try:
        head.fit(train, y[:30])
    finally:
        ValueHead.fit = original  # type: ignore[method-assign]
    held_out = set(target[30:])
    assert not held_out & set(rows)
    assert rows.count("t0") == 2 and "other1" in rows  # own row + extra row of a training task; non-target task
    p = head.predict(frame.iloc[30:])
    assert p.shape == (10,) and np.corrcoef(p, frame["x"].iloc[30:])[0, 1] > 0.5


def test_families_are_cumulative_and_k0_has_only_base() -> None:
    assert [h.label for h in candidates_upto("base", 3)] == [h.label for h in base_heads(3)]
    assert len(candidates_upto("semantics", 3)) == sum(len(family_heads(f, 3)) for f in FAMILIES[:4])
    assert all(family_heads(f, 0) == [] for f in FAMILIES[1:])
    with pytest.raises(ValueError, match="unknown family"):
        family_heads("magic", 3)


def test_pooled_versions_skip_lightgbm_and_add_the_source_indicator() -> None:
    heads = candidates_upto("localisation", 3)
    pooled = pooled_versions(heads, pd.DataFrame(), np.array([]), frozenset())
    assert len(pooled) == sum(h.kind == "logistic" for h in heads)
    assert all(isinstance(h, PooledHead) and "source" in h.categorical for h in pooled)


def test_semantic_heads_fit_on_a_small_frame() -> None:
    rng = np.random.default_rng(0)
    trajs, texts = {}, {}
    for i in range(60):
        good = i % 2 == 0
        word = "separable" if good else "unrelated"
        turns = (Turn(1, f"look at {word}", f"grep -rn {word} /testbed", f"{word}.py: def {word}()", 20),
                 Turn(2, "read", f"cat /testbed/pkg/{word}.py", "x" * int(rng.integers(1, 50)), 10))
        trajs[f"t{i}"] = Trajectory(f"t{i}", "s", "m", "x", turns)
        texts[f"t{i}"] = "`separable` is broken"
    frame = feature_frame(list(trajs), trajs, texts, 2)
    y = np.array([i % 2 == 0 for i in range(60)], dtype=int)
    for head in family_heads("semantics", 2):
        p = head.fit(frame, y).predict(frame)
        assert p[y == 1].mean() > p[y == 0].mean(), head.label
