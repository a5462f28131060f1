from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aco.datasets.registry import load_dataset
from aco.evaluation.ceilings import (
    cv_cell_choice,
    full_information_stream,
    hindsight_cell_choice,
    noisy_verifier_ceiling,
)
from aco.evaluation.protocol import kfold_splits


def _table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # cell "a": model 0 solves everything; cell "b": model 1 solves everything, model 0 nothing.
    score = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [0, 1]], dtype=float)
    return score, np.full_like(score, 0.01), np.array(["a"] * 4 + ["b"] * 4)


def test_hindsight_picks_the_best_model_per_cell() -> None:
    score, cost, keys = _table()
    ceiling = hindsight_cell_choice(score, cost, keys)
    assert ceiling.chosen.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    summary = ceiling.summary(score, cost)
    assert summary["avg_perf"] == pytest.approx(100.0) and summary["regret"] == pytest.approx(0.0)
    assert summary["cost_usd"] == pytest.approx(0.08)


def test_cross_validated_choice_learns_cells_only_from_training_folds() -> None:
    score, cost, keys = _table()
    splits = kfold_splits(len(score), folds=2, seed=0)
    fine = cv_cell_choice(score, cost, [keys], splits, shrink=0.1)
    assert fine.chosen.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # With no cell information the choice is one model for all tasks of a fold: it must lose on half of them.
    blind = cv_cell_choice(score, cost, [np.array(["x"] * 8)], splits)
    assert blind.summary(score, cost)["avg_perf"] < 100.0


def test_full_information_stream_pays_for_what_it_has_not_seen_yet() -> None:
    score, cost, keys = _table()
    order = np.array([0, 4, 1, 5, 2, 6, 3, 7])
    ceiling = full_information_stream(score[order], cost[order], keys[order])
    assert ceiling.chosen[0] == 0  # nothing seen: ties go to the first model
    assert ceiling.chosen[1] == 0  # cell b unseen, overall means favour model 0 after task 0
    assert ceiling.chosen[2:].tolist() == [0, 1, 0, 1, 0, 1]  # each cell's first outcome is enough
    forgetful = full_information_stream(score[order], cost[order], keys[order], discount=0.0, shrink=0.0)
    assert forgetful.chosen[2:].tolist() == [0, 1, 0, 1, 0, 1]


def test_cell_routing_on_coderouterbench_stops_near_52(data_dir: Path) -> None:
    table = load_dataset("coderouterbench", data_dir)
    category = table.tasks["category"].to_numpy()
    hindsight = hindsight_cell_choice(table.score, table.cost_usd, category).summary(table.score, table.cost_usd)
    cv = cv_cell_choice(table.score, table.cost_usd, [category], kfold_splits(table.n_tasks, 5, 0))
    cv_summary = cv.summary(table.score, table.cost_usd)
    assert cv_summary["avg_perf"] <= hindsight["avg_perf"]
    assert 50.0 < cv_summary["avg_perf"] < 53.0 and hindsight["avg_perf"] < 53.0


def test_a_near_perfect_verifier_reaches_the_perfect_cascade_and_a_blind_one_does_not() -> None:
    rng = np.random.default_rng(0)
    n = 200
    cheap_ok = rng.random(n) < 0.5
    success = np.column_stack([cheap_ok, np.ones(n, dtype=bool)]).astype(float)
    cost = np.column_stack([np.full(n, 0.1), np.full(n, 1.0)])
    # escalating only the failures, plus slack for 5% more escalations (thresholds sit on a quantile grid)
    budget = 0.1 * n + 1.0 * (~cheap_ok).sum() + 0.05 * n
    sharp = noisy_verifier_ceiling(success, cost, [0, 1], auc=0.9999, budget_usd=budget, seeds=3)
    assert (sharp.success == 1.0).all() and (sharp.cost_usd <= budget + 1e-9).all()
    blind = noisy_verifier_ceiling(success, cost, [0, 1], auc=0.5, budget_usd=budget, seeds=3)
    assert (blind.success < 0.9).all()
    with pytest.raises(ValueError, match="auc"):
        noisy_verifier_ceiling(success, cost, [0, 1], auc=1.0, budget_usd=budget)
