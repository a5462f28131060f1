"""Every metric on small hand-made arrays; the expected arithmetic is written beside each assertion."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from aco.evaluation import metrics as m


def test_success_total_cost_and_cost_reduction() -> None:
    assert m.success(np.array([1.0, 0.0, 0.5, 0.5])) == pytest.approx(0.5)  # 2 / 4
    assert m.total_cost(np.array([0.25, 1.5, 2.0])) == pytest.approx(3.75)
    assert m.cost_reduction(25.0, 100.0) == pytest.approx(0.75)  # 1 - 25/100
    assert m.cost_reduction(150.0, 100.0) == pytest.approx(-0.5)  # dearer: 1 - 1.5
    assert math.isnan(m.cost_reduction(1.0, 0.0))


def test_model_share_and_oracle_gap() -> None:
    share = m.model_share(np.array([0, 2, 2, 1]), 4)  # one each to 0 and 1, two to 2, none to 3
    np.testing.assert_allclose(share, [0.25, 0.25, 0.5, 0.0])
    np.testing.assert_allclose(m.model_share(np.array([], dtype=int), 3), [0.0, 0.0, 0.0])
    assert m.oracle_gap(0.6, 0.85) == pytest.approx(0.25)


def test_regret_with_a_cascade_paying_two_attempts() -> None:
    table_score = np.array([[0.0, 1.0], [1.0, 1.0]])
    table_cost = np.array([[1.0, 10.0], [1.0, 10.0]])
    # rewards = score - 0.1 x cost: task 0: (-0.1, 0.0) -> best 0.0; task 1: (0.9, 0.0) -> best 0.9
    np.testing.assert_allclose(m.rewards(table_score, table_cost), [[-0.1, 0.0], [0.9, 0.0]])
    # cascade: task 0 runs model 0 (fails) then model 1: score 1, cost 1 + 10 = 11 -> reward 1 - 1.1 = -0.1
    #          task 1 stops after model 0: score 1, cost 1 -> reward 0.9
    score, cost = np.array([1.0, 1.0]), np.array([11.0, 1.0])
    regret = m.regret_per_task(score, cost, table_score, table_cost)
    np.testing.assert_allclose(regret, [0.1, 0.0])  # 0.0 - (-0.1), 0.9 - 0.9
    np.testing.assert_allclose(m.cumulative_regret(score, cost, table_score, table_cost), [0.1, 0.1])
    # with weight 0 the regret is the score gap only: best 1 - 1 = 0 on both tasks
    np.testing.assert_allclose(m.regret_per_task(score, cost, table_score, table_cost, weight=0.0), [0.0, 0.0])


def test_perf_per_dollar_and_unsafe_rate() -> None:
    assert m.perf_per_dollar(np.array([1.0, 0.0]), np.array([1.0, 3.0])) == pytest.approx(12.5)  # 50 / 4
    assert m.perf_per_dollar(np.array([1.0]), np.array([0.0])) == math.inf
    score = np.array([1.0, 0.0, 0.0, 1.0])
    protected = np.array([True, True, False, False])
    assert m.unsafe_rate(score, protected) == pytest.approx(0.5)  # 1 of the 2 protected tasks failed
    assert m.unsafe_rate(np.array([0.6, 0.4]), np.array([True, True]), threshold=0.7) == pytest.approx(1.0)
    assert math.isnan(m.unsafe_rate(score, np.zeros(4, dtype=bool)))


def test_bootstrap_ci_contains_the_mean_and_is_seeded() -> None:
    values = np.array([0.0, 1.0] * 50 + [1.0] * 20)  # mean 70 / 120
    lo, hi = m.bootstrap_ci(values, seed=3)
    assert lo < values.mean() < hi
    assert hi - lo < 0.25
    assert m.bootstrap_ci(values, seed=3) == (lo, hi)
    assert m.bootstrap_ci(values, seed=4) != (lo, hi)
    lo_med, hi_med = m.bootstrap_ci(values, statistic=np.median, n_resamples=200, seed=0)
    assert lo_med <= 1.0 <= hi_med  # the median of mostly-ones is 1
    assert all(math.isnan(x) for x in m.bootstrap_ci(np.array([])))
    assert m.bootstrap_ci(np.full(10, 0.3)) == pytest.approx((0.3, 0.3))


def test_upper_hull_drops_dominated_points_and_is_non_decreasing() -> None:
    # (2, 0.5) lies below the segment (1, 0.6)-(3, 0.8): cross = (2-1)(0.8-0.6) - (0.5-0.6)(3-1) = 0.4 >= 0
    xs, ys = m.upper_hull(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.2, 0.6, 0.5, 0.8]))
    np.testing.assert_allclose(xs, [0.0, 1.0, 3.0])
    np.testing.assert_allclose(ys, [0.2, 0.6, 0.8])
    # two points at the same cost: only the better one is kept
    xs, ys = m.upper_hull(np.array([0.0, 0.0, 1.0]), np.array([0.6, 0.8, 0.8]))
    np.testing.assert_allclose(xs, [0.0, 1.0])
    np.testing.assert_allclose(ys, [0.8, 0.8])


def test_aiq_on_a_known_hull() -> None:
    # hull (0, .2), (1, .6), (3, .8): area = (.2 + .6)/2 x 1 + (.6 + .8)/2 x 2 = 0.4 + 1.4 = 1.8 over 3 -> 0.6
    assert m.aiq(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.2, 0.6, 0.5, 0.8])) == pytest.approx(0.6, abs=1e-6)
    # hull (0, .5), (1, .9), (2, .7); the non-decreasing fix lifts the last vertex to .9:
    # area = (.5 + .9)/2 + .9 = 1.6 over 2 -> 0.8 (without the fix it would be (0.7 + 0.8)/2 = 0.75)
    assert m.aiq(np.array([0.0, 1.0, 2.0]), np.array([0.5, 0.9, 0.7])) == pytest.approx(0.8, abs=1e-6)
    # over a wider range [0, 4]: 0 left of the first point, flat .8 right of the last:
    # area = 0 + 1.4 + 0.8 = 2.2 over 4 -> 0.55 (grid error < 1e-3)
    assert m.aiq(np.array([1.0, 3.0]), np.array([0.6, 0.8]), 0.0, 4.0) == pytest.approx(0.55, abs=1e-3)
    assert m.aiq(np.array([2.0]), np.array([0.7])) == pytest.approx(0.7)  # one point: its quality


def test_quality_at_share_is_nan_left_of_the_curve() -> None:
    values = m.quality_at_share(np.array([0.2, 1.0]), np.array([0.5, 0.9]), np.array([0.0, 0.6, 1.0, 1.5]))
    assert math.isnan(values[0])
    np.testing.assert_allclose(values[1:], [0.7, 0.9, 0.9])  # 0.5 + 0.4 x (0.4 / 0.8)


def test_apgr_of_the_straight_line_a_perfect_router_and_a_flat_gap() -> None:
    weak, strong = 0.6, 0.8
    # the straight weak-strong line has area 0.7 over [0, 1]: (0.7 - 0.6) / 0.2 = 0.5
    line = m.apgr(np.array([0.0, 0.5, 1.0]), np.array([0.6, 0.7, 0.8]), weak, strong)
    assert line == pytest.approx(0.5, abs=1e-9)
    # a router reaching the strong quality with no strong calls recovers the whole gap: (0.8 - 0.6) / 0.2
    assert m.apgr(np.array([0.0]), np.array([0.8]), weak, strong) == pytest.approx(1.0, abs=1e-9)
    assert math.isnan(m.apgr(np.array([0.5]), np.array([0.7]), 0.7, 0.7))


def test_cpt_on_a_known_curve() -> None:
    weak, strong = 0.6, 0.8
    share, quality = np.array([0.2]), np.array([0.75])
    # hull (0, .6), (.2, .75), (1, .8); 50%: target .7 on the first segment (slope .75): .1 / .75 = 0.1333
    assert m.cpt(share, quality, weak, strong, 0.5) == pytest.approx(0.1333, abs=2e-4)
    # 80%: target .76 on the second segment (slope .05 / .8 = .0625): .2 + .01 / .0625 = 0.36
    assert m.cpt(share, quality, weak, strong, 0.8) == pytest.approx(0.36, abs=2e-4)
    # the straight line reaches 50% of the gap at half the strong calls
    assert m.cpt(np.array([0.5]), np.array([0.7]), weak, strong, 0.5) == pytest.approx(0.5, abs=2e-4)


def test_brier_reliability_and_ece_on_known_probabilities() -> None:
    p, y = np.array([0.9, 0.2, 0.6, 0.5]), np.array([1, 0, 0, 1])
    # (0.1^2 + 0.2^2 + 0.6^2 + 0.5^2) / 4 = (0.01 + 0.04 + 0.36 + 0.25) / 4 = 0.165
    assert m.brier(p, y) == pytest.approx(0.165)
    # 2 bins: [0, .5) holds 0.2 (y 0); [.5, 1] holds 0.9, 0.6, 0.5 (y 1, 0, 1): mean p 2/3, rate 2/3
    mean_p, rate, count = m.reliability(p, y, bins=2)
    np.testing.assert_allclose(mean_p, [0.2, 2 / 3])
    np.testing.assert_allclose(rate, [0.0, 2 / 3])
    np.testing.assert_allclose(count, [1, 3])
    # ECE = (1 x |0.2 - 0| + 3 x |2/3 - 2/3|) / 4 = 0.05
    assert m.ece(p, y, bins=2) == pytest.approx(0.05)
    # calibrated: p = 0.25 everywhere and one success in four
    assert m.ece(np.full(4, 0.25), np.array([1, 0, 0, 0])) == pytest.approx(0.0)
    # p = 1.0 falls in the last bin, empty bins are NaN
    mean_p, rate, count = m.reliability(np.array([1.0]), np.array([1]), bins=4)
    np.testing.assert_allclose(count, [0, 0, 0, 1])
    assert np.isnan(mean_p[0]) and mean_p[3] == pytest.approx(1.0)


def test_roc_auc_with_ties_matches_sklearn() -> None:
    # pos .4 beats neg .1 (1) and ties neg .4 (0.5); pos .8 beats both (2): 3.5 / 4 = 0.875
    assert m.roc_auc(np.array([0.1, 0.4, 0.4, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.875)
    rng = np.random.default_rng(0)
    score = rng.integers(0, 5, size=200).astype(float)  # many ties
    label = rng.random(200) < 0.3 + 0.1 * score
    assert m.roc_auc(score, label) == pytest.approx(roc_auc_score(label, score))
    assert math.isnan(m.roc_auc(np.array([0.1, 0.2]), np.array([1, 1])))


def test_bootstrap_ratio_ci_resamples_rows_together() -> None:
    num, den = np.full(50, 2.0), np.full(50, 4.0)
    assert m.bootstrap_ratio_ci(num, den) == (0.5, 0.5)  # every resample has the same ratio
    rng = np.random.default_rng(1)
    y = (rng.random(400) < 0.3).astype(float)
    lo, hi = m.bootstrap_ratio_ci(y, np.ones(400), seed=3)
    ref_lo, ref_hi = m.bootstrap_ci(y, seed=3)
    assert lo < y.mean() < hi and abs(lo - ref_lo) < 0.01 and abs(hi - ref_hi) < 0.01
    chunked = m.bootstrap_ratio_ci(y, np.ones(400), seed=3, max_cells=400)  # one resample per chunk
    assert abs(chunked[0] - lo) < 0.02 and abs(chunked[1] - hi) < 0.02
    assert all(np.isnan(m.bootstrap_ratio_ci(np.array([]), np.array([]))))
    assert all(np.isnan(m.bootstrap_ratio_ci(np.ones(3), np.zeros(3))))  # every resample divides by zero


def test_bootstrap_rate_ci_is_the_bootstrap_of_a_0_1_mean() -> None:
    y = np.array([1.0] * 120 + [0.0] * 280)
    lo, hi = m.bootstrap_rate_ci(120, 400, seed=0)
    ref_lo, ref_hi = m.bootstrap_ci(y, seed=0)  # resampling rows: same distribution, other draws
    assert lo < 0.3 < hi and abs(lo - ref_lo) < 0.01 and abs(hi - ref_hi) < 0.01
    assert m.bootstrap_rate_ci(5, 5) == (1.0, 1.0)
    assert all(np.isnan(m.bootstrap_rate_ci(0, 0)))


def test_apgr_and_cpt_stay_in_their_documented_ranges() -> None:
    from aco.evaluation.metrics import apgr, cpt, out_of_range, row_ranges

    rng = np.random.default_rng(0)
    weak, strong, oracle = 0.4, 0.7, 0.9
    for _ in range(200):
        share = rng.uniform(0.0, 1.5, 8)  # some points dearer than the strong model: left out
        quality = rng.uniform(weak - 0.1, oracle, 8)
        value = apgr(share, quality, weak, strong)
        assert 0.5 - 1e-9 <= value <= (oracle - weak) / (strong - weak) + 1e-9
        assert 0.0 <= cpt(share, quality, weak, strong, 0.5) <= 1.0
    # beating the strong model at half its cost recovers more than the whole gap
    assert apgr(np.array([0.5]), np.array([0.85]), weak, strong) > 1.0
    # a point dearer than the strong model does not count
    assert apgr(np.array([1.2]), np.array([0.9]), weak, strong) == pytest.approx(0.5, abs=1e-3)
    ranges = row_ranges(weak, strong, oracle)
    assert out_of_range({"apgr": 1.6, "success": 0.5, "aiq": None}, ranges) == []
    assert out_of_range({"apgr": 1.7, "brier": -0.1}, ranges) == ["apgr=1.7 (range [0.5, 1.66667])",
                                                                 "brier=-0.1 (range [0, 1])"]
