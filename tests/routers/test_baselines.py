"""Each baseline on a hand-made table with a known answer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from aco.datasets.table import OutcomeTable
from aco.records import ModelSpec
from aco.routers.baselines import (
    AlwaysRouter,
    BestSingleRouter,
    CheapestRouter,
    DimensionBestRouter,
    HeuristicRouter,
    OracleRouter,
    RandomRouter,
    keyword_difficulty,
)


def _table(score: Sequence[Sequence[float]], cost_per_task: list[float], categories: list[str] | None = None,
           texts: list[str] | None = None) -> OutcomeTable:
    n, m = len(score), len(score[0])
    frame = pd.DataFrame({"category": categories or [""] * n, "text": texts or [""] * n},
                         index=[f"t{i}" for i in range(n)])
    models = tuple(ModelSpec(f"m{j}", tier=j + 1) for j in range(m))
    return OutcomeTable(name="hand", tasks=frame, models=models, score=np.array(score, dtype=float),
                        cost_usd=np.tile(cost_per_task, (n, 1)).astype(float))


def test_always_and_cheapest() -> None:
    table = _table([[1, 0, 1]] * 3, [2.0, 0.5, 9.0])
    assert AlwaysRouter("m2").fit(table).route(table.task_set()).model_idx.tolist() == [2, 2, 2]
    assert CheapestRouter().fit(table).route(table.task_set()).model_idx.tolist() == [1, 1, 1]
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        AlwaysRouter("nope").fit(table)


def test_best_single_ties_go_to_the_cheaper_model() -> None:
    # m0 and m2 both solve 2 of 3 tasks; m2 costs $1 per task, m0 $3: m2 wins the tie
    table = _table([[1, 0, 1], [1, 1, 0], [0, 0, 1]], [3.0, 0.1, 1.0])
    routing = BestSingleRouter().fit(table).route(table.task_set())
    assert routing.model_idx.tolist() == [2, 2, 2]
    assert routing.reasons is not None and "m2" in routing.reasons[0]


def test_dimension_best_per_category() -> None:
    # category a: m0 solves both, m1 one; category b: m1 solves both, m0 none; ties in c go to cheaper m0
    score = [[1, 0], [1, 1], [0, 1], [0, 1], [1, 1]]
    table = _table(score, [1.0, 2.0], categories=["a", "a", "b", "b", "c"])
    router = DimensionBestRouter().fit(table)
    assert router.by_category_ == {"a": 0, "b": 1, "c": 0}
    new = _table([[0, 0]] * 4, [1.0, 2.0], categories=["b", "a", "c", "unseen"])
    routing = router.route(new.task_set())
    # unseen category: best single over all tasks (m1: 4/5 beats m0: 3/5)
    assert routing.model_idx.tolist() == [1, 0, 0, 1]
    assert routing.reasons is not None
    assert routing.reasons[3] == "category 'unseen' unseen in training: best single model"


def test_keyword_difficulty() -> None:
    texts = ["fix a typo", "security crash in prod", "x" * 500, "y" * 2500, "small " + "z" * 2500]
    # short easy -> 0 - 1 -> 0; short hard -> 0 + 1; 500 chars -> 1; 2500 chars -> 2; long easy -> 2 - 1
    assert keyword_difficulty(texts).tolist() == [0, 1, 1, 2, 1]


def test_heuristic_maps_difficulty_plus_one_to_price_tiers() -> None:
    texts = ["fix a typo", "security crash in prod", "", "y" * 2500]
    table = _table([[1, 1, 1, 1]] * 4, [0.1, 1.0, 2.0, 5.0], texts=texts)
    routing = HeuristicRouter().fit(table).route(table.task_set())
    # difficulty 0, 1, 1 (no text), 2 -> +1 -> tiers 1, 2, 2, 3 (model positions, 3 is the top)
    assert routing.model_idx.tolist() == [1, 2, 2, 3]
    assert HeuristicRouter(tier_offset=0).fit(table).route(table.task_set()).model_idx.tolist() == [0, 1, 1, 2]
    assert HeuristicRouter(tier_offset=3).fit(table).route(table.task_set()).model_idx.tolist() == [3] * 4


def test_random_matched_to_a_target_cost() -> None:
    n = 4000
    # m0 is the cheapest ($1, 30%), m1 the best ($3, 90%); target $2 per task -> half of the tasks to m1
    score = np.zeros((n, 2))
    score[: int(0.3 * n), 0] = 1
    score[: int(0.9 * n), 1] = 1
    table = _table(score.tolist(), [1.0, 3.0])
    router = RandomRouter(target_cost_usd=2.0, seed=5).fit(table)
    assert router.share_from_target_ == pytest.approx(0.5)
    routing = router.route(table.task_set())
    cost = table.cost_usd[np.arange(n), routing.model_idx]
    assert cost.mean() == pytest.approx(2.0, abs=0.05)
    assert routing.propensity is not None and set(np.round(routing.propensity, 6)) == {0.5}
    again = RandomRouter(target_cost_usd=2.0, seed=5).fit(table).route(table.task_set())
    assert again.model_idx.tolist() == routing.model_idx.tolist()
    assert RandomRouter(target_cost_usd=9.0).fit(table).share_from_target_ == 1.0  # clipped
    uniform = RandomRouter(seed=1).fit(table).route(table.task_set())
    assert uniform.propensity is not None and np.allclose(uniform.propensity, 0.5)
    assert abs(np.mean(uniform.model_idx) - 0.5) < 0.05


def test_oracle_takes_the_cheapest_model_with_the_best_score() -> None:
    # task 0: m1 and m2 solve, m1 cheaper; task 1: nobody solves -> cheapest (m1); task 2: only m0
    table = _table([[0, 1, 1], [0, 0, 0], [1, 0, 0]], [2.0, 1.0, 3.0])
    router = OracleRouter().fit(table)
    assert router.route_table(table).model_idx.tolist() == [1, 1, 0]
    with pytest.raises(TypeError, match="route_table"):
        router.route(table.task_set())
