"""`value-head`: escalate after K turns on the real SWE-agent-LM-32B -> Claude 4 Sonnet pair."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from aco.artifacts import load_router, save_router
from aco.controllers.base import RouterController, replay_controller
from aco.datasets.table import OutcomeTable
from aco.evaluation.protocol import holdout_split
from aco.evaluation.replay import Decisions
from aco.routers.decision import TaskContext, context_from_row
from aco.routers.escalation import ValueHeadRouter
from aco.routers.registry import make_router
from aco.trajectories.features import cost_so_far_usd


@pytest.fixture(scope="module")
def split(data_dir: Path) -> tuple[OutcomeTable, OutcomeTable, ValueHeadRouter]:
    from aco.datasets.registry import load_dataset

    table = load_dataset("swebench-lm32b-sonnet", data_dir)
    assert table.n_tasks == 332 and table.model_names == ["SWE-agent-LM-32B", "Claude 4 Sonnet (20250514)"]
    fold = holdout_split(None, table.n_tasks, "fold:0")
    train, test = table.subset(fold.train), table.subset(fold.test)
    router = make_router("value-head").fit(train)
    assert isinstance(router, ValueHeadRouter)
    return train, test, router


def test_per_request_decisions_equal_route_and_survive_an_artifact(split: tuple[OutcomeTable, OutcomeTable,
                                                                                   ValueHeadRouter],
                                                                   tmp_path: Path) -> None:
    train, test, router = split
    routing = router.route_table(test)
    replayed = replay_controller(RouterController(router), test).routing
    np.testing.assert_array_equal(replayed.model_idx, routing.model_idx)
    assert 0 < (routing.model_idx == router.strong_).sum() < test.n_tasks  # both outcomes occur
    save_router(router, train, tmp_path / "v.aco")
    loaded, metadata = load_router(tmp_path / "v.aco")
    np.testing.assert_array_equal(loaded.route_table(test).model_idx, routing.model_idx)
    assert metadata["policy"]["k"] == 3


def test_before_turn_k_and_unreadable_conversations_stay_cheap(split: tuple[OutcomeTable, OutcomeTable,
                                                                              ValueHeadRouter]) -> None:
    _, test, router = split
    full = context_from_row(test.tasks, 0)
    early = router.decide(replace(full, turns=full.turns[:2]))
    assert early.model == "SWE-agent-LM-32B" and early.action == "continue"
    assert "turn 3 of the cheap run" in early.reason
    abstained = router.decide(TaskContext(task_id="x", unreadable="message 2: tool_calls is not a list"))
    assert abstained.model == "SWE-agent-LM-32B" and abstained.reason.startswith("value head abstains: message 2")
    at_k = router.decide(full)
    assert at_k.action in ("continue", "escalate") and at_k.p_success_by_model["Claude 4 Sonnet (20250514)"] > 0


def test_escalation_pays_the_cheap_turns_then_the_strong_run(split: tuple[OutcomeTable, OutcomeTable,
                                                                            ValueHeadRouter]) -> None:
    _, test, router = split
    routing = router.route_table(test)
    decisions = Decisions(routing.model_idx, routing.paid(2), routing.extra_cost_usd, routing.abstain)
    up = decisions.model_idx == 1
    trajectories = {t: _traj(test, i) for i, t in enumerate(test.task_ids)}
    so_far = cost_so_far_usd(trajectories, test.task_ids, 3)
    expected = np.where(up, so_far + test.cost_usd[:, 1], test.cost_usd[:, 0])
    np.testing.assert_allclose(decisions.cost_usd(test), expected)
    router.set_params(stop_value_usd=0.01, value_usd=0.1)  # routing-time: no success pays a switch, and
    try:  # P x $0.01 never pays the rest of a run: every run stops at turn K, paying turns 1..K, no result
        stopped = router.route_table(test)
    finally:
        router.set_params(stop_value_usd=None, value_usd=None)
    assert stopped.abstain is not None and stopped.abstain.all()
    gave_up = Decisions(stopped.model_idx, stopped.paid(2), stopped.extra_cost_usd, stopped.abstain)
    np.testing.assert_allclose(gave_up.cost_usd(test), so_far)
    assert gave_up.score(test).sum() == 0.0


def _traj(table: OutcomeTable, row: int) -> object:
    from aco.trajectories.loader import Trajectory

    return Trajectory(instance_id=table.task_ids[row], system_id="", model="", scaffold="",
                      turns=table.tasks["turns"].iloc[row])
