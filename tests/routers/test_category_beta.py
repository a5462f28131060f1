"""`category-beta`: the live profile's rule as a registered router (Beta statistics, prior router, floors)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aco.datasets.table import OutcomeTable
from aco.errors import ConfigError
from aco.records import Decision, ModelSpec, Outcome
from aco.routers.category_beta import CategoryBetaRouter
from aco.routers.decision import NoModelAllowedError, TaskContext
from aco.routers.registry import make_router
from tests.server.fakes import MODELS
from tests.server.fakes import make_router as make_rule


def test_cheapest_with_p_above_threshold_else_most_likely() -> None:
    rule = make_rule()
    easy = rule.decide(TaskContext(category="easy"))
    hard = rule.decide(TaskContext(category="hard"))
    assert easy.model == "m-small" and easy.reason == "cheapest with P(success)=0.89 >= 0.70"
    assert hard.model == "m-big" and hard.p_success == pytest.approx(81 / 102)
    assert rule.decide(TaskContext(category="hard"), ["m-small", "m-mid"]).model == "m-mid"  # most likely allowed
    assert rule.decide(TaskContext(category="secure")).model == "m-big"  # the tier floor
    with pytest.raises(NoModelAllowedError):
        rule.decide(TaskContext(category="secure"), ["m-small"])


def test_outcomes_move_the_estimate_and_store_stats_replace_them() -> None:
    rule = make_rule()
    before = rule.p_success("easy")[0]
    for _ in range(30):
        rule.learn_one(TaskContext(category="easy"), Decision(task_id="t", model="m-small"),
                       Outcome(score=0.0, success=False, cost_usd=0.001))
    after = rule.p_success("easy")[0]
    assert after == pytest.approx((91 / 102 * 2.0) / 32.0) and after < before - 0.3
    assert rule.decide(TaskContext(category="easy")).model == "m-mid"
    rule.set_online_stats([("easy", "m-small", 30, 0.0, 0.03), ("easy", "unknown-model", 5, 5.0, 0.0)])
    assert rule.p_success("easy")[0] == pytest.approx(after)


def test_route_equals_decide_and_empty_fit_is_uninformed() -> None:
    rule = make_rule()
    table_free = CategoryBetaRouter(cost_usd={"m-small": 0.001, "m-mid": 0.002, "m-big": 0.01})
    empty = OutcomeTable(name="none", tasks=pd.DataFrame({"category": []}, index=pd.Index([], dtype=str)),
                         models=tuple(ModelSpec(name=n, tier=t) for n, (t, _) in MODELS.items()),
                         score=np.zeros((0, 3)), cost_usd=np.zeros((0, 3)))
    fitted = table_free.fit(empty)
    assert fitted.p_success("anything").tolist() == [0.5, 0.5, 0.5]
    assert fitted.decide(TaskContext(category="x")).reason == "no model reaches 0.70; most likely P(success)=0.50"
    with pytest.raises(ConfigError, match="tier floor 9"):
        CategoryBetaRouter(floors={"x": 9}).fit(empty)
    assert rule.name == "category-beta" and make_router("category-beta:gbdt").prior == "gbdt"
