"""The objective (value of a success in USD): the table's default, the paper's reward, and edge-extending grids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aco.datasets.table import OutcomeTable
from aco.policies.objective import Objective, best_on_grid
from aco.records import ModelSpec
from tests.evaluation.tables import two_model_table


def _table(score: list[list[float]], cost: list[float], metadata: dict[str, object] | None = None) -> OutcomeTable:
    n = len(score)
    return OutcomeTable(name="t", tasks=pd.DataFrame(index=[f"t{i}" for i in range(n)]),
                        models=tuple(ModelSpec(f"m{j}") for j in range(len(cost))),
                        score=np.array(score), cost_usd=np.tile(cost, (n, 1)), metadata=metadata or {})


def test_the_default_is_the_break_even_of_the_cheapest_and_the_best_model() -> None:
    # cheap 0.5 at $1 per task, strong 0.75 at $4: one extra success costs (4 - 1) / 0.25 = $12
    objective = Objective.of_table(two_model_table())
    assert objective.value_usd == pytest.approx(12.0)
    assert "break-even of cheap -> strong" in objective.source
    reward = objective.reward(np.array([0.5, 0.75]), np.array([1.0, 4.0]))
    assert reward[0] == pytest.approx(reward[1])  # at break-even both single models earn the same


def test_the_default_is_scale_free() -> None:
    table = two_model_table()
    cents = OutcomeTable(name="c", tasks=table.tasks, models=table.models, score=table.score,
                         cost_usd=table.cost_usd / 1000)
    assert Objective.of_table(cents).value_usd == pytest.approx(Objective.of_table(table).value_usd / 1000)


def test_published_objective_and_fallbacks() -> None:
    published = _table([[1.0, 0.0]], [1.0, 2.0], {"value_usd": 10.0, "value_source": "paper"})
    assert Objective.of_table(published) == Objective(10.0, "paper")
    assert Objective.paper().cost_weight == pytest.approx(0.1)
    # the best model is also the cheapest: cost spread ($2 - $1) over the oracle's headroom (1.0 - 0.5)
    best_is_cheapest = _table([[1.0, 0.0], [0.0, 1.0]], [1.0, 2.0])
    objective = Objective.of_table(best_is_cheapest)
    assert objective.value_usd == pytest.approx(2.0) and "cost spread" in objective.source
    assert Objective.of_table(_table([[1.0, 1.0]], [0.0, 0.0])).value_usd == 1.0


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_the_value_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Objective(bad)


def test_mean_reward_of_chosen_cells() -> None:
    score, cost = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 2.0], [1.0, 2.0]])
    assert Objective(10.0).mean_reward(score, cost, np.array([0, 1])) == pytest.approx(1.0 - 0.15)


def test_a_value_on_a_grid_edge_extends_the_grid() -> None:
    assert best_on_grid([0.1, 0.5, 0.9], lambda t: t, low=0.0, high=1.0) > 0.99  # towards the bound
    assert best_on_grid([0.1, 0.5, 0.9], lambda t: -t, low=0.0, high=1.0) < 0.01
    assert best_on_grid([0.0, 1.0, 5.0], lambda x: -(x - 30.0) ** 2) == 20.0  # 10, 20, then 40 is no better
    assert best_on_grid([0.1, 0.5, 0.9], lambda t: -(t - 0.5) ** 2) == 0.5  # inside: the grid is kept
    assert best_on_grid([0.0, 1.0, 5.0], lambda x: 0.0, prefer_high=True) == 5.0  # a flat extension is dropped
