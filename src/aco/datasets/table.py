"""`OutcomeTable`: tasks x models of recorded real outcomes (score, cost and observable signals).

`TaskSet` is the view a router gets when it routes: the tasks and the candidate models, and only the
signals that are observable at decision time (never a score), so a router cannot peek at test outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aco.errors import DataError, UnknownModelError
from aco.records import ModelSpec

TASK_COLUMNS = ("text", "category", "source", "group")
REQUIREMENTS = {
    "two_models": "at least two models",
    "run_signals": "observable run signals (e.g. api_calls, response)",
    "numeric_signals": "numeric run signals (e.g. api_calls)",
    "responses": "recorded model responses",
    "turns": "the cheap run's turns (task column `turns`, e.g. swebench-lm32b-sonnet)",
}
"""What a router may need a table to carry (see `Router.requires`), and how to say it."""


def _as_task_frame(tasks: pd.DataFrame) -> pd.DataFrame:
    frame = tasks.copy()
    frame.index = frame.index.astype(str)
    frame.index.name = "task_id"
    for column in TASK_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
        frame[column] = frame[column].fillna("").astype(str)
    return frame


@dataclass(frozen=True)
class TaskSet:
    """Tasks to route and the candidate models; observable per-(task, model) signals behind `observe`."""

    tasks: pd.DataFrame
    models: tuple[ModelSpec, ...]
    observable: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def task_ids(self) -> list[str]:
        return [str(i) for i in self.tasks.index]

    def model_index(self, name: str) -> int:
        for i, model in enumerate(self.models):
            if model.name == name:
                return i
        raise UnknownModelError(f"unknown model {name!r}; candidates: {', '.join(self.model_names)}")

    def observe(self, signal: str, model: str | int) -> np.ndarray:
        """Signal `signal` (e.g. api_calls) of running `model` on every task: what a cascade sees after a run."""
        if signal not in self.observable:
            raise KeyError(f"signal {signal!r} is not observable here; have {sorted(self.observable)}")
        column = model if isinstance(model, int) else self.model_index(model)
        return np.asarray(self.observable[signal][:, column])


@dataclass(frozen=True)
class OutcomeTable:
    """Recorded outcomes: `score[i, j]` in [0, 1] and `cost_usd[i, j]` of model j on task i.

    `tasks` is indexed by task id and has at least the columns text, category, source and group.
    `signals` hold further per-cell arrays; those named in `observable_signals` may be read by routers
    (after the run they belong to), the rest (e.g. hidden verdicts) only by the evaluator.
    """

    name: str
    tasks: pd.DataFrame
    models: tuple[ModelSpec, ...]
    score: np.ndarray
    cost_usd: np.ndarray
    signals: Mapping[str, np.ndarray] = field(default_factory=dict)
    observable_signals: tuple[str, ...] = ()
    protected_categories: tuple[str, ...] = ()
    success_threshold: float = 0.5
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", _as_task_frame(self.tasks))
        shape = (len(self.tasks), len(self.models))
        for label, array in (("score", self.score), ("cost_usd", self.cost_usd), *self.signals.items()):
            if np.asarray(array).shape != shape:
                raise DataError(f"{label} has shape {np.asarray(array).shape}, expected {shape}",
                                path=self.name)
        score = np.asarray(self.score, dtype=float)
        cost = np.asarray(self.cost_usd, dtype=float)
        if np.isnan(score).any() or np.isnan(cost).any():
            raise DataError("missing score or cost cells", path=self.name)
        if (score < 0).any() or (score > 1).any():
            raise DataError("scores must be in [0, 1]", path=self.name, field="score")
        if (cost < 0).any():
            raise DataError("costs must be >= 0", path=self.name, field="cost_usd")
        if self.tasks.index.has_duplicates:
            dup = self.tasks.index[self.tasks.index.duplicated()][0]
            raise DataError(f"duplicate task id {dup!r}", path=self.name, field="task_id")
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise DataError("duplicate model names", path=self.name, field="model")
        object.__setattr__(self, "score", score)
        object.__setattr__(self, "cost_usd", cost)

    # --- shape -------------------------------------------------------------------------------------
    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def task_ids(self) -> list[str]:
        return [str(i) for i in self.tasks.index]

    @property
    def success(self) -> np.ndarray:
        """Binary success per cell: score >= success_threshold."""
        return self.score >= self.success_threshold

    def lacks(self, requirement: str) -> str | None:
        """Why this table does not carry `requirement` (a key of REQUIREMENTS), or None when it does."""
        if requirement not in REQUIREMENTS:
            raise ValueError(f"unknown requirement {requirement!r}; known: {', '.join(REQUIREMENTS)}")
        observable = {k: np.asarray(v) for k, v in self.task_set().observable.items()}
        present = {
            "two_models": self.n_models >= 2,
            "run_signals": bool(observable),
            "numeric_signals": any(v.dtype.kind in "fiub" for v in observable.values()),
            "responses": any(v.dtype.kind not in "fiub" for v in observable.values()),
            "turns": "turns" in self.tasks.columns,
        }[requirement]
        if present:
            return None
        have = f"{self.n_models}" if requirement == "two_models" else "none"
        return f"needs {REQUIREMENTS[requirement]}; {self.name} has {have}"

    def aligned_to(self, other: OutcomeTable) -> OutcomeTable:
        """This table with its models in `other`'s order (tables from different files list them in any order).

        A model in one table and not the other raises a DataError naming it.
        """
        mine, theirs = self.model_names, other.model_names
        parts = [f"{', '.join(map(repr, only))} only in {where}" for only, where in (
            ([m for m in theirs if m not in mine], other.name), ([m for m in mine if m not in theirs], self.name))
            if only]
        if parts:
            raise DataError(f"{other.name} and {self.name} have different models: {'; '.join(parts)}", field="model")
        return self if mine == theirs else self.select_models(theirs)

    def model_index(self, name: str) -> int:
        try:
            return self.model_names.index(name)
        except ValueError:
            raise UnknownModelError(
                f"unknown model {name!r} in {self.name}; candidates: {', '.join(self.model_names)}"
            ) from None

    # --- views -------------------------------------------------------------------------------------
    def task_set(self) -> TaskSet:
        """What a router may see: tasks, models and observable signals, never scores."""
        observable = {k: self.signals[k] for k in self.observable_signals if k in self.signals}
        if "cost_usd" in self.observable_signals:
            observable["cost_usd"] = self.cost_usd
        return TaskSet(tasks=self.tasks, models=self.models, observable=observable)

    def subset(self, rows: Sequence[int] | np.ndarray) -> OutcomeTable:
        """The table restricted to the given task positions (in that order)."""
        idx = np.asarray(rows, dtype=int)
        return OutcomeTable(
            name=self.name,
            tasks=self.tasks.iloc[idx],
            models=self.models,
            score=self.score[idx],
            cost_usd=self.cost_usd[idx],
            signals={k: np.asarray(v)[idx] for k, v in self.signals.items()},
            observable_signals=self.observable_signals,
            protected_categories=self.protected_categories,
            success_threshold=self.success_threshold,
            metadata=self.metadata,
        )

    def select_models(self, names: Sequence[str]) -> OutcomeTable:
        """The table restricted to the given models (in that order)."""
        cols = [self.model_index(n) for n in names]
        return OutcomeTable(
            name=self.name,
            tasks=self.tasks,
            models=tuple(self.models[c] for c in cols),
            score=self.score[:, cols],
            cost_usd=self.cost_usd[:, cols],
            signals={k: np.asarray(v)[:, cols] for k, v in self.signals.items()},
            observable_signals=self.observable_signals,
            protected_categories=self.protected_categories,
            success_threshold=self.success_threshold,
            metadata=self.metadata,
        )

    def with_protected(self, categories: Sequence[str]) -> OutcomeTable:
        """A copy whose protected categories (for the unsafe rate and safety floors) are `categories`."""
        return OutcomeTable(
            name=self.name, tasks=self.tasks, models=self.models, score=self.score,
            cost_usd=self.cost_usd, signals=self.signals, observable_signals=self.observable_signals,
            protected_categories=tuple(categories), success_threshold=self.success_threshold,
            metadata=self.metadata,
        )

    # --- summaries ---------------------------------------------------------------------------------
    def mean_score(self) -> np.ndarray:
        return np.asarray(self.score.mean(axis=0))

    def total_cost_usd(self) -> np.ndarray:
        return np.asarray(self.cost_usd.sum(axis=0))

    def long_frame(self) -> pd.DataFrame:
        """One row per (task, model): task_id, model, score, cost_usd."""
        n, m = self.score.shape
        return pd.DataFrame({
            "task_id": np.repeat(np.asarray(self.task_ids, dtype=object), m),
            "model": np.tile(np.asarray(self.model_names, dtype=object), n),
            "score": self.score.ravel(),
            "cost_usd": self.cost_usd.ravel(),
        })


def assign_cost_tiers(models: Sequence[ModelSpec], mean_cost_usd: np.ndarray, n_tiers: int = 4,
                      ) -> tuple[ModelSpec, ...]:
    """Models with `tier` set by rank of mean cost per task (0 = cheapest) where no tier is given."""
    if all(m.tier > 0 for m in models):
        return tuple(models)
    order = np.argsort(np.argsort(mean_cost_usd, kind="stable"), kind="stable")
    bins = np.minimum((order * n_tiers) // max(len(models), 1), n_tiers - 1)
    out = []
    for model, tier in zip(models, bins, strict=True):
        out.append(ModelSpec(
            name=model.name, provider=model.provider, usd_per_mtok_input=model.usd_per_mtok_input,
            usd_per_mtok_output=model.usd_per_mtok_output, tier=int(tier) + 1,
            tier_label=model.tier_label or f"cost-q{int(tier) + 1}",
        ))
    return tuple(out)
