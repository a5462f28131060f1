"""Replay: a router fits on training tasks only, routes held-out tasks, and pays for every attempt."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from aco.datasets.table import OutcomeTable, TaskSet
from aco.evaluation.protocol import kfold_splits
from aco.evaluation.replay import Decisions, replay
from aco.routers.base import Router, Routing
from aco.routers.baselines import BestSingleRouter, HeuristicRouter
from tests.evaluation.tables import CascadeRouter, ramp_table, two_model_table


class SpyRouter(Router):
    """Records the task ids it was fitted on and asked to route (in a log shared by its clones)."""

    name = "spy"

    def __init__(self, log: list[tuple[str, list[str]]] | None = None) -> None:
        self.log = log

    def _fit(self, table: OutcomeTable) -> None:
        assert self.log is not None
        self.log.append(("fit", table.task_ids))

    def route(self, tasks: TaskSet) -> Routing:
        assert self.log is not None
        self.log.append(("route", tasks.task_ids))
        return Routing(model_idx=np.zeros(tasks.n_tasks, dtype=int))


def test_a_router_only_sees_training_tasks_when_it_fits() -> None:
    table = ramp_table(30)
    log: list[tuple[str, list[str]]] = []
    splits = kfold_splits(table.n_tasks, 5, seed=2)
    run = replay(SpyRouter(log), table, splits)
    fits = [ids for kind, ids in log if kind == "fit"]
    routes = [ids for kind, ids in log if kind == "route"]
    assert len(fits) == len(routes) == 5
    for split, fitted, routed in zip(splits, fits, routes, strict=True):
        assert not set(fitted) & set(routed)
        assert routed == [table.task_ids[i] for i in split.test]
        assert fitted == [table.task_ids[i] for i in split.train]
    assert sorted(id_ for ids in routes for id_ in ids) == sorted(table.task_ids)
    np.testing.assert_array_equal(run.fold[splits[3].test], 3)


def test_a_cascade_pays_for_every_attempt() -> None:
    table = two_model_table()
    run = replay(CascadeRouter(), table, kfold_splits(4, 1))
    # final model strong: score (1, 1, 1, 0); every task pays cheap $1 + strong $4 = $5
    np.testing.assert_allclose(run.decisions.score(table), [1.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(run.decisions.cost_usd(table), [5.0] * 4)
    assert run.decisions.paid.all()


def test_decisions_score_and_cost() -> None:
    table = two_model_table()
    paid = np.array([[True, False], [True, True], [False, True], [True, False]])
    decisions = Decisions(model_idx=np.array([0, 1, 1, 0]), paid=paid)
    np.testing.assert_allclose(decisions.score(table), [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(decisions.cost_usd(table), [1.0, 5.0, 4.0, 1.0])


def test_the_knob_is_swept_after_one_fit_per_fold() -> None:
    table = ramp_table(20)
    run = replay(HeuristicRouter(), table, kfold_splits(20, 2, seed=0))
    assert run.knob == "tier_offset"
    assert [p.knob_value for p in run.sweep] == list(HeuristicRouter.knob_grid)
    # no text: difficulty 1; offset 1 -> tier index 2 (the largest model); offset -1 -> index 0
    by_value = {p.knob_value: p.decisions.model_idx for p in run.sweep}
    np.testing.assert_array_equal(run.decisions.model_idx, by_value[1.0])
    assert set(by_value[-1.0].tolist()) == {0}
    assert replay(HeuristicRouter(), table, kfold_splits(20, 2), sweep=False).sweep == ()


def test_transfer_routes_every_test_task_with_a_router_fitted_on_the_training_table() -> None:
    train, test = ramp_table(12), two_model_table(prefix="other")
    train2 = train.select_models(["s", "l"])
    renamed = OutcomeTable(name="other", tasks=test.tasks, models=train2.models, score=test.score,
                           cost_usd=test.cost_usd)
    log: list[tuple[str, list[str]]] = []
    run = replay(SpyRouter(log), train2, kfold_splits(train2.n_tasks, 1), test_table=renamed)
    assert log == [("fit", train2.task_ids), ("route", renamed.task_ids)]
    assert len(run.decisions.model_idx) == renamed.n_tasks


def test_bad_routings_are_rejected() -> None:
    class Short(Router):
        name = "short"

        def route(self, tasks: TaskSet) -> Routing:
            return Routing(model_idx=np.zeros(tasks.n_tasks - 1, dtype=int))

    class OutOfRange(Router):
        name = "out-of-range"

        def route(self, tasks: TaskSet) -> Routing:
            return Routing(model_idx=np.full(tasks.n_tasks, 7))

    table = two_model_table()
    with pytest.raises(ValueError, match="3 decisions for 4 tasks"):
        replay(Short(), table, kfold_splits(4, 1))
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        replay(OutOfRange(), table, kfold_splits(4, 1))


def test_best_single_is_refitted_per_fold() -> None:
    table = ramp_table(30)
    params: dict[str, Any] = BestSingleRouter().get_params()
    assert params == {}
    run = replay(BestSingleRouter(), table, kfold_splits(30, 3, seed=0))
    assert run.fit_seconds >= 0.0 and run.route_seconds >= 0.0
    assert set(run.decisions.model_idx.tolist()) <= {0, 1, 2}
