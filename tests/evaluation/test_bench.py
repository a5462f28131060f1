"""run_bench, References and summarize on a tiny table with hand-computed figures."""

from __future__ import annotations

import numpy as np
import pytest

from aco.datasets.table import OutcomeTable
from aco.errors import DataError
from aco.evaluation.bench import (
    LEARNED,
    References,
    applicable,
    default_router_specs,
    frontier,
    run_bench,
    summarize,
)
from aco.evaluation.protocol import kfold_splits
from aco.evaluation.replay import replay
from aco.policies.objective import Objective
from aco.routers import registry
from aco.routers.registry import available
from tests.evaluation.tables import CascadeRouter, two_model_table


def test_references_of_a_tiny_table() -> None:
    refs = References.of(two_model_table())
    # cheap: 2/4 solved, 4 x $1 = $4; strong: 3/4 solved, 4 x $4 = $16
    assert refs.best_single == "strong"
    assert refs.best_single_success == pytest.approx(0.75)
    assert refs.best_single_cost_usd == pytest.approx(16.0)
    assert refs.most_expensive == "strong" and refs.most_expensive_cost_usd == pytest.approx(16.0)
    assert refs.cheapest == "cheap" and refs.cheapest_success == pytest.approx(0.5)
    assert refs.cheapest_cost_usd == pytest.approx(4.0)
    # every task is solved by some model; cheapest solver: $1 (t0), $4 (t1), $4 (t2), $1 (t3) = $10
    assert refs.oracle_success == pytest.approx(1.0)
    assert refs.oracle_cost_usd == pytest.approx(10.0)
    assert refs.cost_range_usd == (4.0, 16.0)
    # hull (4, .5)-(16, .75) over [4, 16]: mean (0.5 + 0.75) / 2 = 0.625
    assert refs.single_model_hull_aiq == pytest.approx(0.625, abs=1e-6)


def test_summarize_a_cascade() -> None:
    table = two_model_table()
    refs = References.of(table)
    row = summarize(replay(CascadeRouter(), table, kfold_splits(4, 1), label="cascade"), table, refs,
                    objective=Objective.paper())
    # final model strong (0.75) and every task pays $1 + $4 = $5: $20 in total
    assert row["router"] == "cascade"
    assert row["success"] == pytest.approx(0.75) and row["avg_perf"] == pytest.approx(75.0)
    assert row["cost_usd"] == pytest.approx(20.0) and row["cost_per_task_usd"] == pytest.approx(5.0)
    assert row["cost_reduction_vs_best_single"] == pytest.approx(-0.25)  # 1 - 20 / 16
    assert row["oracle_gap"] == pytest.approx(0.25)  # 1.0 - 0.75
    # best rewards (score - 0.1 x cost): .9, .6, .6, .9 = 3.0; router's: 1 - .5 (x3), 0 - .5 = 1.0
    assert row["regret"] == pytest.approx(2.0)
    assert row["perf_per_usd"] == pytest.approx(75.0 / 20.0)
    assert row["model_share"] == {"strong": 1.0}
    assert row["aiq"] is None and row["curve"] == []
    lo, hi = row["success_ci"]
    assert lo <= 0.75 <= hi
    assert np.isnan(row["unsafe_rate"])  # no protected categories


def test_run_bench_rows_for_baselines_and_the_oracle() -> None:
    table = two_model_table().with_protected(["y"])
    result = run_bench(table, ["always:cheap", "best-single", "oracle", "random"], folds=1)
    rows = {r["router"]: r for r in result.rows}
    assert rows["always:cheap"]["success"] == pytest.approx(0.5)
    assert rows["always:cheap"]["cost_reduction_vs_best_single"] == pytest.approx(0.75)  # 1 - 4 / 16
    assert rows["always:cheap"]["unsafe_rate"] == pytest.approx(1.0)  # cheap fails both "y" tasks
    assert rows["best-single"]["cost_usd"] == pytest.approx(16.0)
    assert rows["oracle"]["success"] == pytest.approx(1.0) and rows["oracle"]["cost_usd"] == pytest.approx(10.0)
    assert rows["oracle"]["regret"] == pytest.approx(0.0)  # the oracle's reward is the best on every task
    # random sweeps the share sent to strong: 11 points from all-cheap ($4) to all-strong ($16)
    curve = rows["random"]["curve"]
    assert len(curve) == 11
    assert curve[0]["cost_usd"] == pytest.approx(4.0) and curve[-1]["cost_usd"] == pytest.approx(16.0)
    assert rows["random"]["aiq"] is not None and rows["random"]["apgr"] is not None
    assert result.to_json()["references"]["best_single"] == "strong"
    assert [m["name"] for m in result.to_json()["frontier"]] == ["cheap", "strong"]  # generated tables pick it


def test_run_bench_transfers_with_a_test_table() -> None:
    train = two_model_table("train", prefix="a")
    test = two_model_table("test", prefix="b")
    result = run_bench(train, ["best-single", "oracle"], folds=5, test_table=test)
    assert result.dataset == "test" and result.folds == 1 and result.table is test
    assert [r["router"] for r in result.rows] == ["best-single", "oracle"]
    assert result.runs[0].decisions.model_idx.tolist() == [1, 1, 1, 1]  # strong, learned on train


def test_default_specs_and_frontier() -> None:
    table = two_model_table()
    specs = default_router_specs(table, extra=["oracle", "gbdt"])
    assert specs[:2] == ["always:cheap", "always:strong"]
    assert specs.count("oracle") == 1 and specs.count("gbdt") == 1
    assert set(LEARNED) <= set(specs)  # the learned routers run by default next to the baselines
    assert frontier(table) == [("cheap", 0.5, 4.0), ("strong", 0.75, 16.0)]


def test_routers_that_do_not_apply_are_skipped_with_a_note() -> None:
    table = two_model_table()
    kept, notes = applicable(["best-single", "cascade", "always:cheap", "always:nope"], table)
    assert kept == ["best-single", "always:cheap"]
    assert [(n.router, n.status) for n in notes] == [("cascade", "skipped"), ("always:nope", "skipped")]
    assert "needs observable run signals" in notes[0].reason and "tiny has none" in notes[0].reason


class _Broken(CascadeRouter):
    name = "test-broken"

    def _fit(self, table: OutcomeTable) -> None:
        raise RuntimeError("boom")


def test_a_failing_router_becomes_a_note_and_the_others_keep_their_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    available()  # the built-in routers are loaded first
    monkeypatch.setitem(registry.REGISTRY.classes, _Broken.name, _Broken)
    result = run_bench(two_model_table(), ["best-single", "test-broken", "oracle"], folds=1)
    assert [r["router"] for r in result.rows] == ["best-single", "oracle"]
    assert [str(n) for n in result.notes] == ["failed test-broken: RuntimeError: boom"]
    assert result.to_json()["notes"] == [{"router": "test-broken", "status": "failed", "reason": "RuntimeError: boom"}]


def test_transfer_aligns_models_by_name_and_drops_shared_tasks_from_training() -> None:
    train = two_model_table("train", prefix="a")
    test = two_model_table("test", prefix="b").select_models(["strong", "cheap"])  # another column order
    result = run_bench(train, ["best-single", "always:cheap"], test_table=test)
    assert result.table.model_names == ["cheap", "strong"]
    assert result.rows[0]["model_share"] == {"strong": 1.0} and result.rows[1]["model_share"] == {"cheap": 1.0}
    overlap = two_model_table("overlap", prefix="a").subset([0, 1])
    shared = run_bench(train, ["best-single"], test_table=overlap)
    assert [n.status for n in shared.notes] == ["dropped"] and "2 task ids of overlap" in shared.notes[0].reason
    with pytest.raises(DataError, match="'strong' only in train"):
        run_bench(train, ["best-single"], test_table=test.select_models(["cheap"]))


def test_one_objective_for_tuning_and_regret() -> None:
    table = two_model_table()
    default = run_bench(table, ["always:cheap", "always:strong"], folds=1)
    assert default.objective.value_usd == pytest.approx(12.0)  # break-even: (4 - 1) / (0.75 - 0.5)
    assert default.rows[0]["regret"] == pytest.approx(default.rows[1]["regret"])  # equal at break-even
    paper = run_bench(table, ["always:cheap"], folds=1, objective=Objective.paper())
    # best rewards (score - 0.1 x cost) .9, .6, .6, .9; cheap's: .9, -.1, -.1, .9 -> regret 1.4
    assert paper.rows[0]["regret"] == pytest.approx(1.4)
    assert paper.to_json()["objective"]["value_usd"] == 10.0
