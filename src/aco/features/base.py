"""The `FeatureExtractor` protocol and `Features`, a union of extractors that fit and transform together.

Every extractor turns a task frame (columns text, category, source, ...) into a dense float matrix and can
be written out as plain state (JSON values and numpy arrays) and rebuilt from it, so an artifact never
needs pickle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd

from aco.errors import ConfigError

State = dict[str, Any]


@runtime_checkable
class FeatureExtractor(Protocol):
    """Turns tasks into numbers: `fit` on training tasks, `transform` any tasks, `to_state` for artifacts."""

    @property
    def kind(self) -> str: ...

    def fit(self, tasks: pd.DataFrame) -> Self: ...

    def transform(self, tasks: pd.DataFrame) -> np.ndarray: ...

    def names(self) -> list[str]: ...

    def to_state(self) -> State: ...


class Features:
    """Several extractors side by side (like scikit-learn's FeatureUnion): columns are concatenated."""

    def __init__(self, extractors: Sequence[FeatureExtractor]) -> None:
        self.extractors = list(extractors)

    def fit(self, tasks: pd.DataFrame) -> Self:
        for extractor in self.extractors:
            extractor.fit(tasks)
        return self

    def transform(self, tasks: pd.DataFrame) -> np.ndarray:
        blocks = [np.asarray(e.transform(tasks), dtype=np.float64) for e in self.extractors]
        if not blocks:
            return np.zeros((len(tasks), 0))
        return np.hstack(blocks)

    def fit_transform(self, tasks: pd.DataFrame) -> np.ndarray:
        """Fit every extractor and transform the same tasks (through an extractor's own `fit_transform` where it
        has one, e.g. to featurise the texts once)."""
        blocks = []
        for e in self.extractors:
            own = getattr(e, "fit_transform", None)
            blocks.append(np.asarray(own(tasks) if own is not None else e.fit(tasks).transform(tasks), np.float64))
        return np.hstack(blocks) if blocks else np.zeros((len(tasks), 0))

    def names(self) -> list[str]:
        return [name for e in self.extractors for name in e.names()]

    def to_state(self) -> State:
        return {"extractors": [{"kind": e.kind, **e.to_state()} for e in self.extractors]}


def task_column(tasks: pd.DataFrame, column: str) -> pd.Series:
    """A task column as strings ('' where absent), so every extractor copes with partial frames."""
    if column not in tasks.columns:
        return pd.Series([""] * len(tasks), index=tasks.index, dtype=object)
    return tasks[column].fillna("").astype(str)


def task_texts(tasks: pd.DataFrame, column: str = "text") -> list[str]:
    """A task column as a list of Python strings ('' where absent or missing): cheap for one request."""
    if column not in tasks.columns:
        return [""] * len(tasks)
    return ["" if not isinstance(v, str) and pd.isna(v) else str(v) for v in tasks[column].tolist()]


ExtractorFactory = Callable[[int], FeatureExtractor]


def parse_spec(spec: str, factories: Mapping[str, ExtractorFactory], seed: int) -> Features:
    """Build `Features` from a comma-separated spec such as 'text,stats,difficulty,category'."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    unknown = [p for p in parts if p not in factories]
    if unknown:
        raise ConfigError(f"unknown feature(s) {unknown}; available: {', '.join(sorted(factories))}")
    return Features([factories[p](seed) for p in parts])
