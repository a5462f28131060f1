"""The `shift` router (novelty-aware, robust for unseen groups) and the `orchestrator-shift` online loop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aco.datasets.table import TaskSet
from aco.errors import ConfigError
from aco.policies.objective import Objective
from aco.routers.registry import make_router
from aco.routers.shift import RISK_GRID, TEMPERATURE_GRID, ShiftOrchestratorRouter, ShiftRouter, group_offsets
from tests.evaluation.tables import grouped_table


def _tasks(categories: list[str], models: tuple) -> TaskSet:  # type: ignore[type-arg]
    frame = pd.DataFrame({"text": "x", "category": categories, "source": "", "group": ""},
                         index=[f"q{i}" for i in range(len(categories))])
    return TaskSet(tasks=frame, models=models)


def test_group_offsets_score_each_group_with_a_router_that_never_saw_it() -> None:
    table = grouped_table(60)
    fit = group_offsets(table, "category-stats", "category", Objective.paper())
    assert fit.groups == ["a", "b", "c", "d"] and fit.counts.tolist() == [60.0] * 4
    d = fit.labels == "d"
    # category-stats without group d knows spiky only from a-c (~0.93): its residual offset on d is about -0.8
    assert fit.offsets[3, 2] < -0.6 and np.allclose(fit.oof_p[d].std(axis=0), 0.0)
    assert np.isfinite(fit.noise_var).all() and (fit.noise_var > 0).all()


def test_unseen_category_is_routed_out_of_distribution_never_an_error() -> None:
    table = grouped_table(60)
    router = make_router("shift").fit(table.subset(np.flatnonzero(table.tasks["category"] != "d")))
    assert isinstance(router, ShiftRouter) and router.auto_risk_ in RISK_GRID
    routing = router.route(_tasks(["never-seen", "a", ""], table.models))
    assert routing.reasons is not None
    assert routing.reasons[0].startswith("out of distribution: category 'never-seen' not seen in training")
    assert routing.reasons[1].startswith("category 'a' seen in training")
    assert "out of distribution" in routing.reasons[2]  # no category given: nothing says it is a known one
    assert routing.p_success is not None and ((routing.p_success >= 0) & (routing.p_success <= 1)).all()
    mean, sd, _, unseen = router.predict(_tasks(["never-seen", "a"], table.models))
    assert unseen.tolist() == [True, False]
    np.testing.assert_allclose(sd[0], np.sqrt(np.diag(router.shift_.cov)))  # the spread over training groups
    np.testing.assert_allclose(sd[1], np.sqrt(router.shift_.noise_var / 60))  # a mean over group a's 60 tasks
    p0 = router.base_.predict(_tasks(["never-seen", "a"], table.models))[0]
    np.testing.assert_allclose(mean, p0 + np.array([[1.0], [0.0]]) * router.shift_.mean)


def test_risk_moves_unseen_groups_to_the_model_that_varied_least_across_groups() -> None:
    table = grouped_table(80)
    train = table.subset(np.flatnonzero(table.tasks["category"] != "a"))  # spiky: 0.95, 0.9, 0.1 on b, c, d
    neutral, careful = ShiftRouter(risk=0.0).fit(train), ShiftRouter(risk=3.0).fit(train)
    unseen = _tasks(["new"], table.models)
    spread = np.sqrt(np.diag(careful.shift_.cov))
    assert int(np.argmin(spread)) == 1  # robust's success varied least across the training groups
    assert careful.route(unseen).model_idx[0] == 1
    assert neutral.route(unseen).model_idx[0] in (1, 2)


def test_a_base_without_p_success_is_refused() -> None:
    with pytest.raises(ConfigError, match="learned base router"):
        ShiftRouter(base="dimension-best").fit(grouped_table(20))


def test_online_router_picks_its_temperature_on_training_groups_and_routes_by_group() -> None:
    table = grouped_table(40)
    router = make_router("orchestrator-shift", group_by="category").fit(table)
    assert isinstance(router, ShiftOrchestratorRouter) and router.auto_temperature_ in TEMPERATURE_GRID
    routing = router.route(_tasks(["new", "a"], table.models))
    assert routing.propensity is not None and ((routing.propensity > 0) & (routing.propensity <= 1)).all()
    assert routing.reasons is not None and routing.reasons[0].startswith("out of distribution: group 'new'")
    assert "seen in training (40 tasks)" in routing.reasons[1]


def test_trained_artifact_routes_an_unseen_category_from_the_cli(tmp_path: Path) -> None:
    from aco.cli.app import build_app

    path = tmp_path / "outcomes.csv"
    frame = grouped_table(30).long_frame()
    frame["category"] = frame["task_id"].str[0]
    frame.to_csv(path, index=False)
    runner, app = CliRunner(), build_app()
    trained = runner.invoke(app, ["train", "--outcomes", str(path), "--router", "shift", "--out",
                                  str(tmp_path / "r.aco")])
    assert trained.exit_code == 0, trained.output
    routed = runner.invoke(app, ["route", "--router", str(tmp_path / "r.aco"), "a new kind of task",
                                 "--category", "brand-new", "--json"])
    assert routed.exit_code == 0, routed.output
    decision = json.loads(routed.output)
    assert decision["reason"].startswith("out of distribution: category 'brand-new'")
    assert decision["model"] in ("cheap", "robust", "spiky")


def test_base_alternatives_are_chosen_on_training_groups_and_saved(tmp_path: Path) -> None:
    from aco.artifacts import load_router, save_router

    table = grouped_table(40)
    router = make_router("shift:category-stats|logreg").fit(table)
    assert isinstance(router, ShiftRouter) and router.base_spec_ in ("category-stats", "logreg")
    save_router(router, table, tmp_path / "r.aco")
    loaded, metadata = load_router(tmp_path / "r.aco")
    assert isinstance(loaded, ShiftRouter) and loaded.base_spec_ == router.base_spec_
    assert metadata["policy"]["base"] == router.base_spec_
    unseen = _tasks(["x", "b"], table.models)
    np.testing.assert_array_equal(loaded.route(unseen).model_idx, router.route(unseen).model_idx)
    online = make_router("orchestrator-shift:category-stats|logreg", temperature=0.0).fit(table)
    assert isinstance(online, ShiftOrchestratorRouter) and online.base_spec_ in ("category-stats", "logreg")
    with pytest.raises(ConfigError, match="no base router"):
        ShiftRouter(base="|").fit(table)


def test_online_router_learns_per_request_and_keeps_its_offsets_in_an_artifact(tmp_path: Path) -> None:
    from aco.artifacts import load_router, save_router
    from aco.records import Outcome
    from aco.routers.decision import context_from_row

    table = grouped_table(40)
    held = table.tasks["category"] == "d"
    train, test = table.subset(np.flatnonzero(~held)), table.subset(np.flatnonzero(held))
    router = make_router("orchestrator-shift", temperature=1.0).fit(train)
    for i in range(20):
        context = context_from_row(test.tasks, i)
        decision = router.decide(context)
        j = router.models_.index(decision.model)
        score = float(test.score[i, j])
        router.learn_one(context, decision, Outcome(score=score, success=score > 0.5, cost_usd=0.01))
    assert router.orchestrator_.offsets_["d"].n_obs == 20
    assert decision.reason.startswith("out of distribution: group 'd'")
    save_router(router, train, tmp_path / "loop.aco")
    loaded, _ = load_router(tmp_path / "loop.aco")
    assert isinstance(loaded, ShiftOrchestratorRouter)
    np.testing.assert_allclose(loaded.orchestrator_.offsets_["d"].moments()[0],
                               router.orchestrator_.offsets_["d"].moments()[0])
    rest = test.subset(np.arange(20, 40)).task_set()
    np.testing.assert_array_equal(loaded.route(rest).model_idx, router.route(rest).model_idx)
