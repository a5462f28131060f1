"""`value-head`: escalate after K turns, decided by the trajectory value head.

A task starts on the cheaper of two models. At turn K a calibrated head (chosen among `candidate_heads` by inner
CV on the training tasks, as `aco trajectories` evaluates it) reads turns 1..K of the cheap run and the task
text and gives P(cheap run succeeds); the value rule keeps the cheap model unless P(cheap) x value < P(strong) x
value - the extra cost of switching (both from the training tasks), else the strong model runs the rest of the
task. With `stop_value_usd`, a run whose P(success) x that value is below its expected remaining cost is
stopped (no result). Escalating pays the cheap turns 1..K plus the strong run; stopping pays turns 1..K.
`value_usd` (the knob) is the value of a success in USD: when unset, the training table's objective
(`aco.policies.objective`: its break-even value). The table needs the cheap run's turns in the task column `turns`
(`swebench-lm32b-sonnet`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from aco.controllers.stop import should_escalate, should_stop
from aco.datasets.table import OutcomeTable, TaskSet
from aco.errors import AcoError
from aco.policies.objective import Objective
from aco.records import Decision
from aco.routers.base import Router, Routing
from aco.routers.decision import TURNS_COLUMN, TaskContext
from aco.routers.registry import register
from aco.routers.state import decode, encode
from aco.routers.trajectory import VALUE_GRID_USD, candidate_heads
from aco.trajectories.features import cost_so_far_usd, feature_frame
from aco.trajectories.loader import Trajectory
from aco.trajectories.value_head import ValueHead, select_head


def _trajectories(ids: Sequence[str], turns: Sequence[Any]) -> dict[str, Trajectory]:
    return {t: Trajectory(instance_id=t, system_id="", model="", scaffold="", turns=tuple(ts) if ts else ())
            for t, ts in zip(ids, turns, strict=True)}


def _frame(ids: Sequence[str], turns: Sequence[Any], texts: Sequence[str], categories: Sequence[str],
           k: int) -> tuple[pd.DataFrame, dict[str, Trajectory]]:
    """Turn-K features of each task; the repository is the task's category (what a live request carries)."""
    trajectories = _trajectories(ids, turns)
    frame = feature_frame(ids, trajectories, dict(zip(ids, texts, strict=True)), k)
    frame["repo"] = list(categories)
    return frame, trajectories


@register
class ValueHeadRouter(Router):
    """Cheap model first; at turn K the value head keeps it or switches to the strong model for the rest."""

    name = "value-head"
    multi_step = True
    knob = "value_usd"
    knob_grid = VALUE_GRID_USD
    requires: ClassVar[tuple[str, ...]] = ("two_models", "turns")

    def __init__(self, k: int = 3, value_usd: float | None = None, heads: str = "base",
                 stop_value_usd: float | None = None, seed: int = 0) -> None:
        self.k = k
        self.value_usd = value_usd
        self.heads = heads
        self.stop_value_usd = stop_value_usd
        self.seed = seed

    def _fit(self, table: OutcomeTable) -> None:
        if table.n_models != 2:
            raise AcoError(f"value-head routes between two models (cheap, strong); {table.name} has {table.n_models}")
        if TURNS_COLUMN not in table.tasks.columns:
            raise AcoError(f"value-head reads the cheap run's turns (task column {TURNS_COLUMN!r}); {table.name} has "
                           "none: use swebench-lm32b-sonnet")
        mean_cost = table.cost_usd.mean(axis=0)
        self.cheap_, self.strong_ = (0, 1) if mean_cost[0] <= mean_cost[1] else (1, 0)
        tasks = table.tasks
        frame, trajectories = _frame(table.task_ids, tasks[TURNS_COLUMN].tolist(), tasks["text"].tolist(),
                                     tasks["category"].tolist(), self.k)
        y = table.success[:, self.cheap_].astype(int)
        candidates = candidate_heads(self.k, self.seed, self.heads)
        self.head_, _ = select_head(candidates, frame, y, seed=self.seed, calibrate=True)
        so_far = cost_so_far_usd(trajectories, table.task_ids, self.k)
        cheap_cost, strong_cost = table.cost_usd[:, self.cheap_], table.cost_usd[:, self.strong_]
        self.p_strong_ = float(table.success[:, self.strong_].mean())
        self.extra_cost_usd_ = float(strong_cost.mean() - (cheap_cost - so_far).mean())
        self.remaining_cost_usd_ = float((cheap_cost - so_far).mean())
        self.objective_ = Objective.of_table(table)

    # --- the rule ------------------------------------------------------------------------------------
    def _value(self) -> float:
        return float(self.value_usd if self.value_usd is not None else self.objective_.value_usd)

    def _rule(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(escalate, stop) per task from P(cheap run succeeds)."""
        escalate = should_escalate(p, self.p_strong_, self.extra_cost_usd_, self._value())
        stop = np.zeros(len(p), dtype=bool)
        if self.stop_value_usd is not None:
            stop = should_stop(p, self.stop_value_usd, self.remaining_cost_usd_) & ~escalate
        return escalate, stop

    def route(self, tasks: TaskSet) -> Routing:
        self.check_fitted(tasks)
        if TURNS_COLUMN not in tasks.tasks.columns:
            raise AcoError(f"value-head needs the task column {TURNS_COLUMN!r} (the cheap run's turns)")
        frame, trajectories = _frame(tasks.task_ids, tasks.tasks[TURNS_COLUMN].tolist(),
                                     tasks.tasks["text"].tolist(), tasks.tasks["category"].tolist(), self.k)
        p = self.head_.predict(frame)
        escalate, stop = self._rule(p)
        n = tasks.n_tasks
        idx = np.where(escalate, self.strong_, self.cheap_)
        so_far = cost_so_far_usd(trajectories, tasks.task_ids, self.k)
        p_success = np.full((n, 2), np.nan)
        p_success[:, self.cheap_], p_success[:, self.strong_] = p, self.p_strong_
        reasons = [self._reason(float(q), bool(e), bool(s)) for q, e, s in zip(p, escalate, stop, strict=True)]
        return Routing(model_idx=idx, p_success=p_success, reasons=reasons, abstain=stop,
                       extra_cost_usd=np.where(escalate | stop, so_far, 0.0))

    def _reason(self, p: float, escalate: bool, stop: bool) -> str:
        head = f"value head at turn {self.k}: P(cheap)={p:.2f}"
        if stop:
            return f"{head}; P x ${self.stop_value_usd:g} < expected remaining ${self.remaining_cost_usd_:.3f}: stop"
        verdict = "switch to" if escalate else "keep"
        target = self.models_[self.strong_ if escalate else self.cheap_]
        return f"{head} vs P(strong)={self.p_strong_:.2f} at ${self._value():g} per success: {verdict} {target}"

    def _decide(self, context: TaskContext, allowed: frozenset[str] | None) -> Decision:
        cheap, strong = self.models_[self.cheap_], self.models_[self.strong_]

        def decision(model: str, reason: str, action: str = "continue", by_model: dict[str, float] | None = None,
                     ) -> Decision:
            known = by_model or {}
            return Decision(task_id=context.task_id, model=model, action=action, give_up=action == "stop",
                            p_success=known.get(model), p_success_by_model=known, reason=reason,
                            step_kind=context.step_kind)

        if context.unreadable:
            return decision(cheap, f"value head abstains: {context.unreadable}; cheap model {cheap}")
        if len(context.turns) < self.k:
            return decision(cheap, f"value head: turn {len(context.turns) + 1} of the cheap run, K = {self.k}: {cheap}")
        frame, _ = _frame([context.task_id], [tuple(context.turns)], [context.text], [context.category], self.k)
        p = float(self.head_.predict(frame)[0])
        escalate, stop = (bool(x[0]) for x in self._rule(np.array([p])))
        escalate = escalate and (allowed is None or strong in allowed)
        action = "stop" if stop else ("escalate" if escalate else "continue")
        return decision(strong if escalate else cheap, self._reason(p, escalate, stop), action,
                        {cheap: p, strong: self.p_strong_})

    # --- state ---------------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"cheap": self.cheap_, "strong": self.strong_, "head": self.head_.to_state(),
                "p_strong": self.p_strong_, "extra_cost_usd": self.extra_cost_usd_,
                "remaining_cost_usd": self.remaining_cost_usd_, "objective": encode(self.objective_)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.cheap_, self.strong_ = int(state["cheap"]), int(state["strong"])
        self.head_ = ValueHead.from_state(state["head"])
        self.p_strong_ = float(state["p_strong"])
        self.extra_cost_usd_ = float(state["extra_cost_usd"])
        self.remaining_cost_usd_ = float(state["remaining_cost_usd"])
        self.objective_ = decode(state["objective"])

    def describe(self) -> dict[str, Any]:
        return {"policy": {"name": self.name, "k": self.k, "knob": self.knob, "knob_value": self.value_usd,
                           "value_usd_used": self._value(), "head": self.head_.label,
                           "p_strong": self.p_strong_, "extra_cost_usd": self.extra_cost_usd_,
                           "stop_value_usd": self.stop_value_usd, "cheap": self.models_[self.cheap_],
                           "strong": self.models_[self.strong_]}}
