"""Routers learned from production: the proxy's (or SDK's) own decision log in its store.

A log holds, per task, the decisions (chosen model, logged propensity) and the outcomes reported for them, i.e.
only the chosen model's outcome (bandit feedback), not a full task x model table. So the routers that can learn
from it are those that learn online: `category-beta` and the online routers. `learn_from_store` fits one on no
outcomes over the log's models and feeds it every logged outcome through `Router.learn_one`, the same call the
live proxy makes when an outcome is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aco.datasets.table import OutcomeTable
from aco.errors import AcoError
from aco.policies.objective import Objective
from aco.records import Decision, ModelSpec, Outcome
from aco.routers.base import Router
from aco.routers.decision import TaskContext
from aco.routers.registry import available, make_router
from aco.store import DecisionRecord, OutcomeRecord, Store


@dataclass(frozen=True)
class LoggedOutcome:
    """One reported outcome and the decision it belongs to (by id, else the task's last decision)."""

    outcome: OutcomeRecord
    decision: DecisionRecord | None


def logged_outcomes(store: Store) -> list[LoggedOutcome]:
    """Every outcome in the store, in order, with its decision."""
    decisions = store.decisions()
    by_id = {d.decision_id: d for d in decisions}
    last_of_task: dict[str, DecisionRecord] = {}
    for d in decisions:
        last_of_task[d.task_id] = d
    return [LoggedOutcome(o, by_id.get(o.decision_id or "") or last_of_task.get(o.task_id))
            for o in store.outcomes()]


def learn_from_store(spec: str, store: Store, models: Sequence[str] = ()) -> Router:
    """`spec` fitted on no outcomes over the log's models (or `models`), then taught every logged outcome."""
    name = spec.partition(":")[0]
    cls = available().get(name)
    if cls is None or not cls.fits_empty:
        learners = sorted(n for n, c in available().items() if c.fits_empty)
        raise AcoError(f"router {spec!r} cannot learn from a decision log (it needs every model's outcome on each "
                       f"training task); routers that learn online: {', '.join(learners)}")
    logged = logged_outcomes(store)
    if not logged:
        raise AcoError(f"{store.url}: the store holds no outcomes to learn from")
    names = list(models) or sorted({m for item in logged if item.decision for m in item.decision.candidates}
                                   | {item.outcome.model for item in logged})
    unknown = sorted({item.outcome.model for item in logged} - set(names))
    if unknown:
        raise AcoError(f"{store.url}: outcomes of models {unknown} that are not among {names}")
    cost = {m: float(np.mean([i.outcome.cost_usd for i in logged if i.outcome.model == m] or [0.0])) for m in names}
    empty = OutcomeTable(name=f"log {store.url}", tasks=pd.DataFrame({"category": []}, index=pd.Index([], dtype=str)),
                         models=tuple(ModelSpec(name=m) for m in names), score=np.zeros((0, len(names))),
                         cost_usd=np.zeros((0, len(names))))
    params: dict[str, object] = {"cost_usd": cost} if "cost_usd" in cls._param_names() else {}
    if "value_usd" in cls._param_names():  # a log has no table to take a break-even value from
        params["value_usd"] = Objective.paper().value_usd
    router = make_router(spec, **params).fit(empty)
    router.with_models(empty.models, np.array([cost[m] for m in names]))
    for item in logged:
        out, dec = item.outcome, item.decision
        context = TaskContext(task_id=out.task_id, category=out.category or (dec.category if dec else ""))
        decision = Decision(task_id=out.task_id, model=out.model, decision_id=dec.decision_id if dec else "",
                            propensity=dec.propensity if dec else 1.0)
        router.learn_one(context, decision, Outcome(score=out.score, success=out.success, cost_usd=out.cost_usd))
    return router
