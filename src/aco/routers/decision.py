"""The per-request side of the router contract: one task's context in, one `Decision` out.

`TaskContext` is what is known about one task when a decision is due: its text and labels, the agent step
kind, the partial trajectory (the turns so far) and the runs already made in this task together with what
they showed (observable signals only, never a verdict). Replay builds it from recorded outcomes, the SDK and
the proxy from the live request; `Router.decide(context)` answers both alike.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from aco.datasets.table import TaskSet
from aco.errors import AcoError
from aco.records import Decision, ModelSpec
from aco.trajectories.loader import Turn

TURNS_COLUMN = "turns"  # task column holding the partial trajectory (a tuple of `Turn`) where there is one


class NoModelAllowedError(AcoError):
    """The environment allows no model the router could choose (all failed, over budget or below a floor)."""


@dataclass(frozen=True, slots=True)
class Run:
    """One finished run of `model` in this task and its observable signals (e.g. response, cost_usd)."""

    model: str
    signals: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskContext:
    """One task at the moment of a decision.

    `turns` is the agent's partial trajectory so far (empty for a single call); `runs` are the models already
    run on this task, in order, with their signals; `columns` are further task columns (language, published
    peer decisions, ...); `unreadable` says why a conversation could not be read as a trajectory (routers that
    need one abstain and give that reason).
    """

    task_id: str = "request"
    text: str = ""
    category: str = ""
    source: str = ""
    group: str = ""
    step_kind: str = ""
    turns: tuple[Turn, ...] = ()
    runs: tuple[Run, ...] = ()
    columns: Mapping[str, Any] = field(default_factory=dict)
    unreadable: str = ""

    def task_frame(self) -> pd.DataFrame:
        """The task as a one-row task frame (the columns a `TaskSet` has)."""
        row: dict[str, Any] = {"text": self.text, "category": self.category, "source": self.source,
                               "group": self.group, **self.columns}
        frame = pd.DataFrame([row], index=pd.Index([self.task_id], name="task_id"))
        if self.turns or TURNS_COLUMN in self.columns:
            frame[TURNS_COLUMN] = pd.Series([tuple(self.turns)], index=frame.index, dtype=object)
        return frame

    def task_set(self, models: Sequence[ModelSpec], signals: Sequence[str] = ()) -> TaskSet:
        """A one-task `TaskSet` over `models`; each signal in `signals` holds the runs' values (NaN / '' where a
        model has not run)."""
        names = [m.name for m in models]
        observable: dict[str, np.ndarray] = {}
        for signal in signals:
            values = {names.index(r.model): r.signals[signal] for r in self.runs
                      if r.model in names and signal in r.signals}
            numeric = all(isinstance(v, Real) for v in values.values())
            array = np.full((1, len(names)), np.nan) if numeric else np.full((1, len(names)), "", dtype=object)
            for column, value in values.items():
                array[0, column] = value
            observable[signal] = array
        return TaskSet(tasks=self.task_frame(), models=tuple(models), observable=observable)

    def with_run(self, run: Run) -> TaskContext:
        """The same task after one more run."""
        return replace(self, runs=(*self.runs, run))


def check_allowed(allowed: Collection[str] | None, models: Sequence[str]) -> frozenset[str] | None:
    """`allowed` as a set of known model names (None: every model); an error when it is empty or unknown."""
    if allowed is None:
        return None
    chosen = frozenset(allowed)
    unknown = sorted(chosen - set(models))
    if unknown:
        raise AcoError(f"allowed models {unknown} are not among the router's models {list(models)}")
    if not chosen:
        raise NoModelAllowedError("no model is allowed for this decision")
    return chosen


def allowed_mask(allowed: frozenset[str] | None, models: Sequence[str]) -> np.ndarray | None:
    """(1, m) bool mask of the allowed models (None when every model is allowed)."""
    if allowed is None:
        return None
    return np.array([[m in allowed for m in models]])


def nearest_allowed(chosen: int, allowed: frozenset[str], models: Sequence[str], mean_cost_usd: np.ndarray,
                    p: np.ndarray | None) -> int:
    """Substitute for a model the environment does not allow: the most likely allowed model when P(success) is
    known, else the dearest allowed model cheaper than `chosen`, else the cheapest allowed one."""
    positions = [j for j, m in enumerate(models) if m in allowed]
    cost = np.asarray(mean_cost_usd, dtype=float)
    if p is not None and not np.isnan(p[positions]).all():
        known = [j for j in positions if not np.isnan(p[j])]
        return max(known, key=lambda j: (round(float(p[j]), 9), -cost[j]))
    cheaper = [j for j in positions if cost[j] < cost[chosen]]
    if cheaper:
        return max(cheaper, key=lambda j: (cost[j], -j))
    return min(positions, key=lambda j: (cost[j], j))


def decision_from_row(routing: Any, row: int, models: Sequence[str], context: TaskContext,
                      allowed: frozenset[str] | None = None, mean_cost_usd: np.ndarray | None = None) -> Decision:
    """Row `row` of a vectorised `Routing` as a `Decision` (a disallowed choice is substituted, see
    `nearest_allowed`)."""
    idx = int(routing.model_idx[row])
    p = None if routing.p_success is None else np.asarray(routing.p_success, dtype=float)[row]
    reason = routing.reasons[row] if routing.reasons is not None else ""
    propensity = 1.0 if routing.propensity is None else float(routing.propensity[row])
    if allowed is not None and models[idx] not in allowed:
        cost = np.zeros(len(models)) if mean_cost_usd is None else mean_cost_usd
        new = nearest_allowed(idx, allowed, models, cost, p)
        reason = f"{reason}; {models[idx]} not allowed here: {models[new]}".lstrip("; ")
        idx, propensity = new, 1.0
    by_model = {} if p is None else {m: float(v) for m, v in zip(models, p.tolist(), strict=True) if v == v}
    return Decision(task_id=context.task_id, model=models[idx], p_success=by_model.get(models[idx]),
                    reason=reason, propensity=propensity, step_kind=context.step_kind,
                    p_success_by_model=by_model)


_FRAME_FIELDS = ("text", "category", "source", "group")


def context_from_row(tasks: pd.DataFrame, row: int, runs: Sequence[Run] = (), step_kind: str = "") -> TaskContext:
    """Task `row` of a task frame as a `TaskContext` (replay's side of the per-request API)."""
    record = tasks.iloc[row]
    columns = {str(c): record[c] for c in tasks.columns if c not in _FRAME_FIELDS and c != TURNS_COLUMN}
    turns = record[TURNS_COLUMN] if TURNS_COLUMN in tasks.columns else ()
    return TaskContext(task_id=str(tasks.index[row]), text=str(record["text"]), category=str(record["category"]),
                       source=str(record["source"]), group=str(record["group"]), step_kind=step_kind,
                       turns=tuple(turns) if isinstance(turns, tuple | list) else (), runs=tuple(runs),
                       columns=columns)
