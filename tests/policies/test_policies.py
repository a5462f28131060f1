"""Policies as pure functions, and the conformal guarantee checked empirically on known probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from aco.policies import calibrate_threshold, chosen_values, floors, most_likely, threshold, utility
from aco.policies.conformal import hb_pvalue

P = np.array([[0.9, 0.95, 0.99], [0.2, 0.7, 0.8], [0.1, 0.2, 0.3]])
COST = np.array([0.01, 0.1, 1.0])


def test_threshold_picks_the_cheapest_model_that_clears_it() -> None:
    assert threshold(P, COST, 0.75).tolist() == [0, 2, 2]
    assert threshold(P, COST, 0.5).tolist() == [0, 1, 2]  # row 2: nothing clears -> most likely
    assert threshold(P, COST, 0.0).tolist() == [0, 0, 0]


def test_threshold_respects_the_allowed_mask_and_per_task_costs() -> None:
    allowed = np.array([[False, True, True]] * 3)
    assert threshold(P, COST, 0.5, allowed).tolist() == [1, 1, 2]
    per_task = np.tile(COST, (3, 1))
    per_task[0] = [1.0, 0.5, 0.01]
    assert threshold(P, per_task, 0.5).tolist() == [2, 1, 2]


def test_utility_trades_probability_against_cost() -> None:
    assert utility(P, COST, 0.0).tolist() == [2, 2, 2]
    assert utility(P, COST, 1.0).tolist() == [0, 1, 1]
    assert utility(P, COST, 100.0).tolist() == [0, 0, 0]


def test_most_likely_breaks_ties_to_the_cheaper() -> None:
    assert most_likely(np.array([[0.5, 0.5, 0.4]]), COST).tolist() == [0]


def test_floors_keep_protected_categories_off_low_tiers() -> None:
    allowed = floors(["docs", "security", "core"], ["security"], [1, 2, 3], min_tier=2)
    assert allowed.tolist() == [[True, True, True], [False, True, True], [True, True, True]]
    idx = threshold(P, COST, 0.0, allowed)
    assert idx.tolist() == [0, 1, 0]
    # a floor above every tier falls back to the highest tier
    assert floors(["security"], ["security"], [1, 2], min_tier=5).tolist() == [[False, True]]


def test_policy_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match=r"\(n, m\)"):
        threshold(np.array([0.5, 0.6]), COST[:2], 0.5)
    with pytest.raises(ValueError, match="allowed"):
        threshold(P, COST, 0.5, np.ones((2, 3), bool))


def test_hb_pvalue_is_small_only_when_the_loss_is_well_below_alpha() -> None:
    assert hb_pvalue(0.30, 1000, 0.2) == 1.0
    assert hb_pvalue(0.10, 1000, 0.2) < 1e-6
    assert hb_pvalue(0.18, 50, 0.2) > 0.1


def _draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated predictions (the true probabilities) for a cheap and a strong model, and outcomes."""
    p = np.column_stack([rng.uniform(0.0, 1.0, n), np.full(n, 0.9)])
    return p, (rng.random(p.shape) < p).astype(float)


def test_conformal_guarantee_holds_empirically() -> None:
    """P(success on new tasks >= target) >= 1 - delta over calibration draws (checked on 200 draws)."""
    rng = np.random.default_rng(0)
    target, delta, cost = 0.8, 0.1, np.array([0.01, 1.0])
    p_pop, y_pop = _draw(40_000, rng)
    met, cheap_share, feasible = [], [], []
    for _ in range(200):
        p_cal, y_cal = _draw(300, rng)
        cert = calibrate_threshold(p_cal, y_cal, cost, target, delta)
        feasible.append(cert.feasible)
        idx = threshold(p_pop, cost, cert.threshold)
        met.append(chosen_values(y_pop, idx).mean() >= target)
        cheap_share.append((idx == 0).mean())
    assert np.mean(met) >= 1 - delta
    assert np.mean(feasible) > 0.9 and np.mean(cheap_share) > 0.2  # and it is not trivially conservative


def test_conformal_reports_an_infeasible_target() -> None:
    p, y = _draw(200, np.random.default_rng(1))
    cert = calibrate_threshold(p, y, np.array([0.01, 1.0]), target_success=0.99, delta=0.1)
    assert not cert.feasible and cert.threshold == 0.99
