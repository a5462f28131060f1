"""Learned routers and the hybrid on synthetic tasks with a known answer: easy -> cheap, hard -> strong."""

from __future__ import annotations

import numpy as np
import pytest

from aco.datasets.table import OutcomeTable
from aco.policies import chosen_values
from aco.routers.hybrid import HybridRouter
from aco.routers.learned import LearnedRouter
from aco.routers.registry import available, make_router
from tests.estimators.synthetic import text_table

LEARNED = ("gbdt", "gbdt-pooled", "knn", "category-stats", "logreg", "mf")


@pytest.fixture(scope="module")
def split() -> tuple[OutcomeTable, OutcomeTable]:
    table = text_table(300, seed=0)
    return table.subset(np.arange(200)), table.subset(np.arange(200, 300))


def _hard(table: OutcomeTable) -> np.ndarray:
    return np.asarray(table.tasks["category"] == "backend")


def test_every_learned_router_is_registered() -> None:
    assert set(LEARNED) | {"hybrid"} <= set(available())


@pytest.mark.parametrize("name", LEARNED)
def test_router_sends_easy_tasks_cheap_and_hard_tasks_strong(name: str, split: tuple[OutcomeTable, ...]) -> None:
    train, test = split
    # knn's cosine neighbourhoods are dominated by the many text dimensions on this tiny corpus
    features = {"features": "difficulty,category"} if name == "knn" else {}
    routing = make_router(name, threshold=0.8, **features).fit(train).route_table(test)
    hard = _hard(test)
    assert (routing.model_idx[~hard] <= 1).mean() > 0.9
    assert (routing.model_idx[hard] == 2).mean() > 0.9
    assert routing.p_success is not None and routing.reasons is not None
    assert "cheapest with P >= 0.80" in routing.reasons[0]


@pytest.mark.parametrize("spec", ["gbdt:utility", "gbdt:conformal", "gbdt"])
def test_knob_sweep_moves_along_the_cost_quality_curve(spec: str, split: tuple[OutcomeTable, ...]) -> None:
    train, test = split
    router = make_router(spec).fit(train)
    knob = router.knob
    assert knob is not None
    grid = router.knob_values()
    costs = []
    for value in (grid[0], grid[-1]):
        router.set_params(**{knob: value})
        costs.append(chosen_values(test.cost_usd, router.route_table(test).model_idx).sum())
    assert costs[0] != costs[1]


def test_defaults_are_chosen_on_training_tasks_only(split: tuple[OutcomeTable, ...]) -> None:
    train, test = split
    router = make_router("gbdt").fit(train)
    assert isinstance(router, LearnedRouter)
    assert 0.05 <= router.auto_threshold_ <= 0.95
    shuffled = OutcomeTable(name="x", tasks=test.tasks, models=test.models, score=1.0 - test.score,
                            cost_usd=test.cost_usd)
    # routing does not depend on the test outcomes
    np.testing.assert_array_equal(router.route_table(test).model_idx, router.route_table(shuffled).model_idx)


def test_protected_categories_never_get_the_cheapest_tier() -> None:
    table = text_table(300, seed=1, protected=("docs",))
    router = make_router("gbdt", threshold=0.5).fit(table.subset(np.arange(200)))
    test = table.subset(np.arange(200, 300))
    idx = router.route_table(test).model_idx
    docs = np.asarray(test.tasks["category"] == "docs")
    assert (idx[docs] >= 1).all()


def test_conformal_router_reports_its_certificate(split: tuple[OutcomeTable, ...]) -> None:
    train, test = split
    router = make_router("gbdt:conformal", target_success=0.7).fit(train)
    assert isinstance(router, LearnedRouter)
    cert = router.certified_threshold()
    assert cert.feasible and cert.n_calibration == 60
    assert "conformal" in str(router.route_table(test).reasons)


def test_hybrid_escalates_hard_tasks(split: tuple[OutcomeTable, ...]) -> None:
    train, test = split
    router = make_router("hybrid", value_usd=10.0).fit(train)  # a success is worth far more than any call
    assert isinstance(router, HybridRouter)
    routing = router.route_table(test)
    hard = _hard(test)
    assert (routing.model_idx[hard] == 2).mean() > 0.9
    assert (routing.model_idx[~hard] <= 1).mean() > 0.9
    assert 0.0 < router.auto_s_ < 1.0


def test_unknown_policy_is_rejected(split: tuple[OutcomeTable, ...]) -> None:
    with pytest.raises(ValueError, match="unknown policy"):
        make_router("gbdt:magic").fit(split[0])


def test_reasons_say_what_the_rule_did(split: tuple[OutcomeTable, ...]) -> None:
    train, test = split
    router = make_router("gbdt", threshold=0.99).fit(train)  # no model reaches P >= 0.99 here
    p, _ = router.predict(test.task_set())
    assert p.max() < 0.99
    reasons = router.route_table(test).reasons
    assert reasons is not None
    assert all(r.startswith("no model reaches P >= 0.99; most likely: ") for r in reasons)
    met = make_router("gbdt", threshold=0.05).fit(train).route_table(test).reasons
    assert met is not None and met[0].startswith("cheapest with P >= 0.05: cheap (P=")


def test_an_unseen_category_is_named_in_the_reason(split: tuple[OutcomeTable, ...]) -> None:
    train, test = split
    router = make_router("category-stats").fit(train)
    tasks = test.tasks.copy()
    tasks.iloc[0, tasks.columns.get_loc("category")] = "frontend"
    moved = OutcomeTable(name="moved", tasks=tasks, models=test.models, score=test.score, cost_usd=test.cost_usd)
    reasons = router.route_table(moved).reasons
    assert reasons is not None
    assert reasons[0].endswith("; category 'frontend' unseen in training")
    assert "unseen" not in reasons[1]


def test_the_value_of_a_success_moves_the_tuned_threshold(split: tuple[OutcomeTable, ...]) -> None:
    train, _ = split
    cheap = make_router("gbdt", value_usd=0.001).fit(train)  # a success is worth less than any call
    dear = make_router("gbdt", value_usd=1000.0).fit(train)
    assert isinstance(cheap, LearnedRouter) and isinstance(dear, LearnedRouter)
    assert cheap.auto_threshold_ < dear.auto_threshold_
    assert cheap.describe()["policy"]["value_usd"] == 0.001


def test_hybrid_sweep_spans_the_cost_range(split: tuple[OutcomeTable, ...]) -> None:
    train, test = split
    router = make_router("hybrid").fit(train)
    costs = []
    for s in (router.knob_values()[0], router.knob_values()[-1]):
        router.set_params(s=s)
        costs.append(chosen_values(test.cost_usd, router.route_table(test).model_idx).mean())
    assert router.knob_values()[0] == 0.0 and router.knob_values()[-1] == 1.0
    assert costs[0] == pytest.approx(test.cost_usd[:, 0].mean())  # s = d = 0: the cheapest model everywhere
    assert costs[1] > 10 * costs[0]
