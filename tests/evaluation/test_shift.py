"""Shift protocols: leave-one-group-out and transfer, references per held-out group, online loops over seeds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from aco.errors import AcoError
from aco.evaluation.shift import run_holdout, run_transfer, task_regret
from tests.evaluation.tables import grouped_table


@pytest.fixture(scope="module")
def holdout():  # type: ignore[no-untyped-def]
    table = grouped_table(80)
    return table, run_holdout(table, "category", ["shift", "best-single", "orchestrator-shift"], [0, 1])


def test_every_group_is_held_out_once_with_its_references(holdout) -> None:  # type: ignore[no-untyped-def]
    table, result = holdout
    assert [g.group for g in result.groups] == ["a", "b", "c", "d"]
    d = result.groups[3]
    rows = np.flatnonzero(table.tasks["category"] == "d")
    test = table.subset(rows)
    objective = result.objective  # the table's default: the break-even value of its cheapest and best models
    assert objective.source.startswith("break-even")
    regret = [task_regret(test, test.score[:, j], test.cost_usd[:, j], objective).sum() for j in range(3)]
    assert d.single["cheap"].regret == pytest.approx(regret[0]) and d.hindsight_best == "cheap"
    assert d.train_best == "spiky"  # the best single model of groups a-c, the worst on d
    assert d.n_tasks == 80 and d.n_train == 240
    best = objective.reward(test.score, test.cost_usd).max(axis=1)
    unsolved = test.score.max(axis=1) == 0  # the oracle abstains there (reward 0); elsewhere it is the best call
    assert d.oracle.regret == pytest.approx(float(best[unsolved].sum()))
    assert d.static["best-single"].regret == pytest.approx(d.single["spiky"].regret)
    assert d.static["best-single"].model_share == {"spiky": 1.0}
    assert d.chosen["shift"]["base_spec"] == "category-stats" and d.chosen["shift"]["auto_risk"] >= 0
    assert len(d.chosen["shift"]["offset_sd"]) == 3
    assert "auto_temperature" in d.chosen["orchestrator-shift"]
    assert sum(d.online["orchestrator-shift"][0].model_share.values()) == pytest.approx(1.0)


def test_online_loop_runs_every_seed_and_unlearns_the_training_best(holdout) -> None:  # type: ignore[no-untyped-def]
    _, result = holdout
    d = result.groups[3]
    assert len(d.online["orchestrator-shift"]) == 2
    mean, sd = d.online_regret("orchestrator-shift")
    assert mean < 0.5 * d.single[d.train_best].regret and sd >= 0.0


def test_pooled_row_sums_the_groups(holdout) -> None:  # type: ignore[no-untyped-def]
    _, result = holdout
    pooled = result.pooled()
    assert pooled.n_tasks == 320
    assert pooled.static["shift"].regret == pytest.approx(sum(g.static["shift"].regret for g in result.groups))
    per_seed = [sum(g.online["orchestrator-shift"][k].regret for g in result.groups) for k in range(2)]
    assert pooled.online_regret("orchestrator-shift")[0] == pytest.approx(np.mean(per_seed))
    train_best, hindsight = result.reference_regrets(pooled)
    assert hindsight == pytest.approx(sum(g.single[g.hindsight_best].regret for g in result.groups))
    assert train_best >= hindsight
    payload = result.to_json()
    assert payload["protocol"] == "leave-one-group-out" and len(payload["groups"]) == 4


def test_any_task_column_can_be_the_group() -> None:
    table = grouped_table(40, column="group")
    result = run_holdout(table, "group", ["shift", "orchestrator-shift"], [0])
    assert [g.group for g in result.groups] == ["a", "b", "c", "d"]
    with pytest.raises(AcoError, match=r"no such task column.*\(have .*group"):
        run_holdout(table, "team", ["shift"], [0])
    one = replace(table, tasks=table.tasks.assign(group="same"))
    with pytest.raises(AcoError, match="1 group"):
        run_holdout(one, "group", ["shift"], [0])


def test_transfer_reports_each_test_group() -> None:
    table = grouped_table(40)
    categories = table.tasks["category"].to_numpy()
    train = table.subset(np.flatnonzero(np.isin(categories, ["a", "b"])))
    test = table.subset(np.flatnonzero(np.isin(categories, ["c", "d"])))
    result = run_transfer(train, test, "category", ["shift", "orchestrator-shift"], [0])
    assert result.protocol == "transfer" and [g.group for g in result.groups] == ["c", "d"]
    assert all(g.n_train == 80 for g in result.groups)
    with pytest.raises(AcoError, match="same models"):
        run_transfer(train, test.select_models(["spiky", "robust", "cheap"]), "category", ["shift"], [0])
