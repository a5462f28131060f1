from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from aco.controllers.base import (
    ChainController,
    Continue,
    Controller,
    ControllerState,
    Escalate,
    Stop,
    Verify,
    replay_controller,
)
from aco.datasets.table import OutcomeTable
from aco.records import ModelSpec
from aco.routers.decision import Run, TaskContext
from aco.verifiers.base import Reply, Verdict, Verifier


def small_table() -> OutcomeTable:
    score = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=float)
    cost = np.array([[0.1, 1.0, 10.0], [0.2, 2.0, 20.0], [0.3, 3.0, 30.0], [0.4, 4.0, 40.0]])
    calls = np.array([[5, 5, 5], [50, 5, 5], [50, 50, 5], [50, 50, 50]], dtype=float)
    tasks = pd.DataFrame({"text": ["a", "b", "c", "d"]}, index=["t0", "t1", "t2", "t3"])
    return OutcomeTable(name="small", tasks=tasks, models=(ModelSpec("cheap"), ModelSpec("mid"), ModelSpec("top")),
                        score=score, cost_usd=cost, signals={"api_calls": calls},
                        observable_signals=("api_calls", "cost_usd"))


class FewCalls(Verifier):
    """Trusts a run that finished in few API calls (an observable signal)."""

    name = "few-calls"

    def verdict(self, context: TaskContext, run: Run, replies: Sequence[Reply] = ()) -> Verdict:
        return Verdict(self.name, 1.0 if run.signals["api_calls"] < 10 else 0.0)


def CallsVerifier(chain: list[int], threshold: float) -> ChainController:  # noqa: N802
    return ChainController(chain, threshold, verifier=FewCalls())


def test_chain_controller_pays_for_every_attempt() -> None:
    table = small_table()
    result = replay_controller(CallsVerifier([0, 1, 2], threshold=0.5), table, verify_cost_usd=0.01)
    np.testing.assert_array_equal(result.routing.model_idx, [0, 1, 2, 2])
    np.testing.assert_array_equal(result.routing.attempts, [[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]])
    expected = np.array([0.1, 0.2 + 2.0, 0.3 + 3.0 + 30.0, 0.4 + 4.0 + 40.0]) + 0.01 * np.array([1, 2, 2, 2])
    np.testing.assert_allclose(result.cost_usd(table), expected)
    np.testing.assert_array_equal(result.score(table), [1, 1, 1, 0])
    # the bench's replay charges the same runs (without verification)
    np.testing.assert_allclose((result.routing.paid(3) * table.cost_usd).sum(axis=1), expected - result.verify_cost_usd)


class GiveUp(Controller):
    def decide(self, state: ControllerState) -> Continue | Escalate | Verify | Stop:
        if not state.runs:
            return Continue(0)
        return Stop(give_up=True)


def test_give_up_scores_zero_but_still_pays() -> None:
    table = small_table()
    result = replay_controller(GiveUp(), table)
    assert result.gave_up.all()
    np.testing.assert_array_equal(result.score(table), 0.0)
    np.testing.assert_allclose(result.cost_usd(table), table.cost_usd[:, 0])


class BadModel(Controller):
    def decide(self, state: ControllerState) -> Continue:
        return Continue(7)


def test_controller_choosing_unknown_model_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        replay_controller(BadModel(), small_table())


def test_a_controller_asks_a_verifier_whose_calls_replay_pays() -> None:
    """The same `agreement` verifier a profile runs live, replayed: its call to c2 is answered from c2's recorded
    answer and paid at c2's recorded cost; the chain escalates to the strong model exactly when c2 disagrees."""
    from aco.verifiers.agreement import AgreementVerifier
    from tests.routers.test_agreement import choice_table

    table = choice_table(80)
    controller = ChainController([0, 3], threshold=0.5, verifier=AgreementVerifier(models=["c2"]))
    result = replay_controller(controller, table)
    answers = table.signals["response"]
    disagree = answers[:, 0] != answers[:, 1]
    np.testing.assert_array_equal(result.routing.model_idx, np.where(disagree, 3, 0))
    np.testing.assert_allclose(result.verify_cost_usd, table.cost_usd[:, 1])  # c2's answer, paid once per task
    np.testing.assert_allclose(result.cost_usd(table), table.cost_usd[:, 0] + table.cost_usd[:, 1]
                               + disagree * table.cost_usd[:, 3])
