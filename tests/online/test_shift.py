"""Group shift: random-effects offsets, the Kalman mixture (shift test), tempered Thompson, the orchestrator."""

from __future__ import annotations

import numpy as np
import pytest

from aco.online.bandits import BanditContext
from aco.online.memory import InMemoryMemory
from aco.online.shift import MAX_PRIOR_VAR, GroupShift, OffsetPosterior, ShiftContext, ShiftOrchestrator, ShiftThompson
from aco.online.verifier import Feedback


def test_random_effects_offsets_discount_small_groups() -> None:
    offsets = np.array([[0.0, 0.1], [0.02, 0.12], [0.9, -0.9]])  # the third group has a single task
    shift = GroupShift.from_offsets(offsets, np.array([0.2, 0.2]), {"a": 500.0, "b": 500.0, "c": 1.0})
    assert shift.mean[0] == pytest.approx(0.01, abs=0.01) and shift.mean[1] == pytest.approx(0.11, abs=0.01)
    unweighted = offsets.mean(axis=0)
    assert abs(shift.mean[0] - unweighted[0]) > 0.25  # a plain mean would follow the 1-task group
    assert np.all(np.linalg.eigvalsh(shift.cov) > 0)


def test_between_group_spread_widens_the_prior_of_an_unseen_group() -> None:
    alike = GroupShift.from_offsets(np.array([[0.0], [0.001], [-0.001]]), np.array([0.2]), dict.fromkeys("abc", 300.0))
    apart = GroupShift.from_offsets(np.array([[0.3], [-0.3], [0.0]]), np.array([0.2]), dict.fromkeys("abc", 300.0))
    assert apart.prior("new")[1][0, 0] > 20 * alike.prior("new")[1][0, 0]
    mean, cov = apart.prior("a")  # a seen group: what is left of a mean over its 300 tasks
    assert mean[0] == 0.0 and cov[0, 0] == pytest.approx(0.2 / 300)
    vague = GroupShift.from_offsets(np.array([[0.4]]), np.array([0.2]), {"a": 10.0})
    assert vague.prior("new")[1][0, 0] == MAX_PRIOR_VAR
    again = GroupShift.from_state(apart.to_state())
    np.testing.assert_allclose(again.cov, apart.cov)
    assert again.group_n == apart.group_n


def test_one_filter_is_the_conjugate_normal_posterior() -> None:
    post = OffsetPosterior.start(np.array([0.1, 0.0]), np.diag([0.04, 0.04]), np.array([0.2, 0.2]), scales=(1.0,))
    for r in (0.5, 0.3, 0.6):
        post.update(0, r)
    precision = 1 / 0.04 + 3 / 0.2
    expected = (0.1 / 0.04 + (0.5 + 0.3 + 0.6) / 0.2) / precision
    mean, var = post.moments()
    assert mean[0] == pytest.approx(expected) and var[0] == pytest.approx(1 / precision)
    assert mean[1] == pytest.approx(0.0) and var[1] == pytest.approx(0.04)  # uncorrelated: untouched


def test_correlated_models_learn_from_each_other() -> None:
    cov = np.array([[0.04, 0.036], [0.036, 0.04]])
    post = OffsetPosterior.start(np.zeros(2), cov, np.array([0.2, 0.2]), scales=(1.0,))
    for _ in range(20):
        post.update(0, -0.4)
    assert post.moments()[0][1] < -0.2  # model 1 was never run, but moves with model 0


def test_the_shift_test_moves_weight_to_wide_scales_when_the_stream_departs() -> None:
    start = OffsetPosterior.start(np.zeros(2), np.diag([0.0025, 0.0025]), np.array([0.2, 0.2]))
    agree, depart = start, OffsetPosterior.start(np.zeros(2), np.diag([0.0025, 0.0025]), np.array([0.2, 0.2]))
    rng = np.random.default_rng(0)
    for _ in range(60):
        agree.update(0, float(rng.normal(0.0, 0.45)))
        depart.update(0, float(rng.normal(-0.6, 0.45)))
    assert depart.likeliest_scale() > 10 * agree.likeliest_scale()
    assert depart.moments()[0][0] < -0.4 < agree.moments()[0][0]  # wide prior: the data win


def _context(temperature_spread: float = 0.01) -> ShiftContext:
    post = OffsetPosterior.start(np.zeros(3), np.eye(3) * temperature_spread, np.full(3, 0.2), scales=(1.0,))
    return ShiftContext(features=np.zeros(2), alpha=np.ones(3), beta=np.ones(3), expected_cost_usd=np.zeros(3),
                        base_p=np.array([0.5, 0.55, 0.45]), offset=post, note="out of distribution: group 'x'")


def test_temperature_zero_is_greedy_and_one_explores() -> None:
    greedy = ShiftThompson(temperature=0.0, seed=0).decide(_context())
    assert greedy.arm == 1 and greedy.propensity == 1.0
    assert greedy.reason.startswith("out of distribution")
    explore = ShiftThompson(temperature=1.0, seed=0).decide(_context(0.04))
    assert 0.0 < explore.probabilities[0] < 1.0 and explore.probabilities.sum() == pytest.approx(1.0)
    assert explore.propensity == pytest.approx(explore.probabilities[explore.arm])
    plain = BanditContext(features=np.zeros(2), alpha=np.ones(3), beta=np.ones(3), expected_cost_usd=np.zeros(3))
    assert ShiftThompson(seed=0).decide(plain).probabilities.sum() == pytest.approx(1.0)


def test_orchestrator_unlearns_a_wrong_prior_of_an_unseen_group() -> None:
    shift = GroupShift.from_offsets(np.array([[0.0, 0.0], [0.01, -0.01], [-0.01, 0.01]]), np.array([0.2, 0.2]),
                                    dict.fromkeys("abc", 200.0))
    orch = ShiftOrchestrator(models=("m0", "m1"), memory=InMemoryMemory(4), policy=ShiftThompson(seed=0),
                             knn_k=0, shift=shift)
    rng = np.random.default_rng(0)
    prior, truth, picks = np.array([0.8, 0.5]), np.array([0.1, 0.6]), []
    for i in range(200):
        decision = orch.decide(f"t{i}", "new-group", np.zeros(4), prior, np.zeros(2))
        arm = decision.choice.arm
        picks.append(arm)
        score = float(rng.random() < truth[arm])
        orch.learn(decision, Feedback(score=score, success=score > 0.5, cost_usd=0.0, verifier="test"))
    assert np.mean(picks[-50:]) > 0.9  # m1 (truly better) once m0's failures outweigh the prior
    assert "out of distribution" in decision.choice.reason
    assert orch.offset("new-group").n_obs == 200
