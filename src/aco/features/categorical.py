"""One-hot encoding of task category and source (levels learned on the training tasks)."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from aco.features.base import State, task_column, task_texts


class OneHot:
    """One column per level of `column` seen in training (the `max_levels` most frequent); unseen -> zeros."""

    def __init__(self, column: str = "category", max_levels: int = 200) -> None:
        self.column = column
        self.max_levels = max_levels
        self.levels_: list[str] | None = None

    @property
    def kind(self) -> str:
        return self.column

    def fit(self, tasks: pd.DataFrame) -> Self:
        values = task_column(tasks, self.column)
        counts = values[values != ""].value_counts(sort=False)
        order = sorted(counts.index, key=lambda v: (-int(counts[v]), str(v)))
        self.levels_ = sorted(str(v) for v in order[: self.max_levels])
        return self

    def transform(self, tasks: pd.DataFrame) -> np.ndarray:
        if self.levels_ is None:
            raise ValueError(f"OneHot({self.column!r}) is not fitted")
        position = {level: i for i, level in enumerate(self.levels_)}
        codes = np.array([position.get(v, -1) for v in task_texts(tasks, self.column)], dtype=np.int64)
        out = np.zeros((len(codes), len(self.levels_)))
        known = codes >= 0
        out[np.flatnonzero(known), codes[known]] = 1.0
        return out

    def names(self) -> list[str]:
        return [f"{self.column}={v}" for v in self.levels_ or []]

    def to_state(self) -> State:
        return {"column": self.column, "max_levels": self.max_levels, "levels": list(self.levels_ or [])}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> OneHot:
        out = cls(str(state["column"]), int(state["max_levels"]))
        out.levels_ = [str(v) for v in state["levels"]]
        return out
