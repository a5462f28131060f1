"""The router contract (scikit-learn style) and the vectorised routing result.

`__init__` only stores parameters; `fit(table)` learns from training outcomes and returns `self`;
fitted state ends in `_`; `route(tasks)` decides for every task at once and never sees a score;
`decide(context)` decides for one task (what the SDK and the proxy call) and must agree with `route`;
`learn_one(context, decision, outcome)` feeds one reported outcome back (online routers learn from it).
A router may expose one `knob` (a policy parameter applied at routing time, not at fit time) that the
evaluator sweeps to draw the router's cost-quality curve.
"""

from __future__ import annotations

import inspect
import uuid
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.errors import NotFittedError
from aco.policies.objective import Objective
from aco.policies.rules import best_index, cheapest_index
from aco.records import Decision, ModelSpec, Outcome
from aco.routers.decision import TaskContext, check_allowed, decision_from_row


@dataclass(frozen=True)
class Routing:
    """Decisions for a batch of tasks.

    model_idx: (n,) final model per task (its score is the realised score).
    attempts: (n, m) bool, every model that was run and must be paid (a cascade); None = the final one only.
    p_success: (n, m) predicted P(success) per candidate, where the router has an estimate.
    propensity: (n,) probability with which the chosen model was picked (1.0 for deterministic routers).
    reasons: one short human-readable reason per task, where the router gives one.
    abstain: (n,) bool, tasks on which no result is kept (score 0): the oracle abstains on tasks no model solves
      (nothing run, nothing paid); a stop rule gives up on a run it already paid for in part.
    extra_cost_usd: (n,) USD paid beyond the full runs in `attempts` (e.g. the first K turns of a cheap run that
      was abandoned for a stronger model).
    verified: (n, m) P(correct) a verifier gave each run it judged (NaN elsewhere): scored against the recorded
      verdict of that run (`aco bench`'s verifier AUC).
    """

    model_idx: np.ndarray
    attempts: np.ndarray | None = None
    p_success: np.ndarray | None = None
    propensity: np.ndarray | None = None
    reasons: Sequence[str] | None = None
    abstain: np.ndarray | None = None
    extra_cost_usd: np.ndarray | None = None
    verified: np.ndarray | None = None

    def __post_init__(self) -> None:
        idx = np.asarray(self.model_idx)
        if idx.ndim != 1:
            raise ValueError("model_idx must be one-dimensional")
        object.__setattr__(self, "model_idx", idx.astype(int))

    def paid(self, n_models: int) -> np.ndarray:
        """(n, m) bool mask of the runs that are paid for: the attempts plus the final model (unless abstained)."""
        n = len(self.model_idx)
        mask = np.zeros((n, n_models), dtype=bool) if self.attempts is None else np.array(self.attempts, bool)
        ran = np.ones(n, dtype=bool) if self.abstain is None else ~np.asarray(self.abstain, dtype=bool)
        mask[np.flatnonzero(ran), self.model_idx[ran]] = True
        return mask


class Router(ABC):
    """Base class of every router. Subclasses set `name` and implement `route` (and usually `_fit`)."""

    name: ClassVar[str] = ""
    knob: ClassVar[str | None] = None
    knob_grid: ClassVar[tuple[float, ...]] = ()
    uses_outcomes: ClassVar[bool] = False  # evaluation-only routers (the oracle) read the test outcomes
    requires: ClassVar[tuple[str, ...]] = ()  # what a table must carry (keys of aco.datasets.table.REQUIREMENTS)
    multi_step: ClassVar[bool] = False  # reads runs or turns and may escalate or stop within a task
    fits_empty: ClassVar[bool] = False  # may start from no training outcomes at all (learns online)
    transient: ClassVar[tuple[str, ...]] = ()  # fitted attributes rebuilt after loading (random streams)
    verifier_name: ClassVar[str | None] = None  # the verifier whose verdicts fill `Routing.verified`

    # --- parameters (scikit-learn conventions) -------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}; has {sorted(valid)}")
            setattr(self, key, value)
        return self

    def clone(self) -> Self:
        """A new, unfitted router with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def unmet_requirement(self, table: OutcomeTable) -> str | None:
        """Why this router cannot run on `table` (e.g. "needs observable run signals ..."), or None when it can."""
        for requirement in self.requires:
            why = table.lacks(requirement)
            if why is not None:
                return why
        return None

    # --- fitting and routing -------------------------------------------------------------------------
    def fit(self, table: OutcomeTable) -> Self:
        """Learn from training outcomes; returns self."""
        if table.n_tasks == 0 and not self.fits_empty:
            raise ValueError(f"cannot fit {self.name or type(self).__name__} on an empty table")
        self.models_ = tuple(table.model_names)
        self.model_specs_ = tuple(table.models)
        self.mean_cost_usd_ = (np.asarray(table.cost_usd.mean(axis=0), dtype=float) if table.n_tasks
                               else np.zeros(table.n_models))
        self._fit(table)
        return self

    def _fit(self, table: OutcomeTable) -> None:
        """Hook for subclasses: learn from `table` (the bookkeeping is done by `fit`)."""

    def check_fitted(self, tasks: TaskSet | OutcomeTable) -> None:
        models = getattr(self, "models_", None)
        if models is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() first")
        if tuple(tasks.model_names) != tuple(models):
            raise ValueError(
                f"{type(self).__name__} was fitted on models {list(models)} but asked to route over "
                f"{tasks.model_names}")

    @abstractmethod
    def route(self, tasks: TaskSet) -> Routing:
        """Decide for every task in `tasks`."""

    def route_table(self, table: OutcomeTable) -> Routing:
        """What the evaluator calls: routers only see `table.task_set()` unless they are evaluation-only."""
        self.check_fitted(table)
        return self.route(table.task_set())

    # --- one task at a time --------------------------------------------------------------------------
    def decide(self, context: TaskContext, allowed: Collection[str] | None = None) -> Decision:
        """The decision for one task (the per-request counterpart of `route`, equal to it on the same task).

        `allowed` restricts the models the environment permits (failed upstreams, budget, floors); the router
        then chooses among them by its own rule. The decision gets a fresh `decision_id`.
        """
        models = getattr(self, "models_", None)
        if models is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() first")
        if self.uses_outcomes:
            raise TypeError(f"{self.name} reads recorded outcomes: it decides only in replay (route_table)")
        decision = self._decide(context, check_allowed(allowed, models))
        return replace(decision, decision_id=decision.decision_id or uuid.uuid4().hex)

    def _decide(self, context: TaskContext, allowed: frozenset[str] | None) -> Decision:
        """Hook: one decision. The default routes a one-task `TaskSet` (correct for every router; override for
        speed or for multi-step routers)."""
        routing = self.route(context.task_set(self.model_specs_))
        return decision_from_row(routing, 0, self.models_, context, allowed, self.mean_cost_usd_)

    def permitted(self, context: TaskContext) -> tuple[str, ...]:
        """The models this router may choose for the task at all (its safety floors), in its model order."""
        return tuple(self.models_)

    def learn_one(self, context: TaskContext, decision: Decision, outcome: Outcome) -> None:
        """Feed back the outcome of one decision this router made; online routers learn from it."""
        models = getattr(self, "models_", None)
        if models is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() first")
        if decision.model not in models:
            raise ValueError(f"outcome of model {decision.model!r}, which is not among {list(models)}")
        self._learn_one(context, decision, outcome)

    def _learn_one(self, context: TaskContext, decision: Decision, outcome: Outcome) -> None:
        """Hook: learn from one outcome (offline routers keep what they learned in `fit`)."""

    def reseed(self) -> None:
        """Restart a stochastic router's random stream at its seed: `decide` calls in the order `route` takes the
        tasks then equal `route`'s batch (deterministic routers have nothing to restart)."""

    def with_models(self, specs: Sequence[ModelSpec], mean_cost_usd: np.ndarray) -> Self:
        """Restore the fitted candidate list (artifacts): names, specs and training mean cost per model."""
        self.models_ = tuple(m.name for m in specs)
        self.model_specs_ = tuple(specs)
        self.mean_cost_usd_ = np.asarray(mean_cost_usd, dtype=float)
        return self

    # --- artifacts (a router with state beyond plain attributes defines to_state / load_state) --------
    def describe(self) -> dict[str, Any]:
        """Readable policy settings for the artifact metadata."""
        knob = self.knob
        return {"policy": {"name": self.name, "knob": knob, "knob_value": getattr(self, knob) if knob else None}}

    def knob_values(self) -> tuple[float, ...]:
        """Values of the knob to sweep for the cost-quality curve (empty when there is no knob)."""
        return self.knob_grid if self.knob else ()


def objective_for(value_usd: float | None, table: OutcomeTable) -> Objective:
    """A router's objective: its `value_usd` parameter when set, else the default of its training table."""
    return Objective(float(value_usd), "router parameter value_usd") if value_usd is not None \
        else Objective.of_table(table)


__all__ = ["Router", "Routing", "best_index", "cheapest_index", "objective_for"]
