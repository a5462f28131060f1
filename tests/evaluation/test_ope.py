from __future__ import annotations

import numpy as np
import pytest

from aco.evaluation.ope import (
    Log,
    cross_fitted_reward_model,
    estimate,
    evaluate_policy,
    one_hot,
    reward_model,
    reward_refitter,
)


def _uniform_log(n: int = 4000, seed: int = 0) -> tuple[Log, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = np.array([0.2, 0.5, 0.8])
    group = rng.integers(0, 2, n)
    truth = np.where(group[:, None] == 0, means, means[::-1])  # (n, 3) expected reward
    action = rng.integers(0, 3, n)
    reward = (rng.random(n) < truth[np.arange(n), action]).astype(float)
    return Log(action, np.full(n, 1 / 3), reward, group.astype(str)), truth


def test_ips_snips_dr_recover_a_known_policy_value() -> None:
    log, truth = _uniform_log()
    target = np.argmax(truth, axis=1)  # per-group best: true value 0.8
    est = estimate(log, one_hot(target, 3), reward_model(log, 3), seed=1)
    for name in ("ips", "snips", "dr"):
        assert est[name].covers(0.8), (name, est[name])
        assert est[name].ci_high - est[name].ci_low < 0.1


def test_dr_is_tighter_than_ips_with_a_good_reward_model() -> None:
    log, truth = _uniform_log()
    est = estimate(log, one_hot(np.zeros(len(log.action), dtype=int), 3), truth, seed=0)
    assert est["dr"].ci_high - est["dr"].ci_low < est["ips"].ci_high - est["ips"].ci_low


def test_log_validation_names_the_bad_row() -> None:
    with pytest.raises(ValueError, match="row 1"):
        Log(np.array([0, 1]), np.array([0.5, 0.0]), np.array([1.0, 0.0]), np.array(["a", "a"]))


def test_evaluate_policy_gives_score_and_cost() -> None:
    log, _ = _uniform_log(600)
    cost = Log(log.action, log.propensity, log.action * 0.1, log.group)
    out = evaluate_policy(log, cost, np.full(600, 2), 3, n_boot=200)
    assert out["cost_usd"]["ips"].covers(0.2)
    assert set(out["score"]) == {"ips", "snips", "dr"}


def test_cross_fitting_never_uses_a_rows_own_reward() -> None:
    log, _ = _uniform_log(300)
    bumped = log.reward.copy()
    bumped[7] += 100.0
    other = Log(log.action, log.propensity, bumped, log.group)
    rows = np.arange(300) % 5 == 7 % 5
    assert np.allclose(cross_fitted_reward_model(other, 3)[rows], cross_fitted_reward_model(log, 3)[rows])
    assert not np.allclose(cross_fitted_reward_model(other, 3)[~rows], cross_fitted_reward_model(log, 3)[~rows])
    assert not np.allclose(reward_model(other, 3)[7], reward_model(log, 3)[7])  # in-sample q does see it


def _skewed_cost_log(seed: int, n: int = 400) -> tuple[Log, np.ndarray, float]:
    """Non-uniform logging (the target arm is rare) of deterministic, right-skewed per-(task, arm) costs."""
    rng = np.random.default_rng(seed)
    cost = rng.lognormal(-5.0, 1.0, size=(n, 3)) * np.array([3.0, 1.0, 0.3])
    group = rng.integers(0, 3, n)
    probs = np.where(group[:, None] == 0, [0.1, 0.6, 0.3], [0.2, 0.3, 0.5])
    action = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    log = Log(action, probs[np.arange(n), action], cost[np.arange(n), action], group.astype(str))
    target = np.zeros(n, dtype=int)
    return log, target, float(cost[:, 0].mean())


def test_studentized_cis_cover_a_known_truth_over_many_seeds() -> None:
    covered = {name: 0 for name in ("ips", "snips", "dr")}
    for seed in range(100):
        log, target, truth = _skewed_cost_log(seed)
        refit = reward_refitter(log, 3)
        est = estimate(log, one_hot(target, 3), refit(np.ones(400)), n_boot=300, seed=seed, refit=refit)
        for name in covered:
            covered[name] += est[name].covers(truth)
    assert all(n >= 89 for n in covered.values()), covered


def test_studentized_interval_leans_towards_the_heavy_tail() -> None:
    log, target, _ = _skewed_cost_log(0, 1000)
    est = estimate(log, one_hot(target, 3), n_boot=500)["ips"]
    assert est.ci_high - est.value > est.value - est.ci_low


def test_percentile_interval_is_available_and_unknown_intervals_fail() -> None:
    log, truth = _uniform_log(500)
    target = one_hot(np.argmax(truth, axis=1), 3)
    pct = estimate(log, target, n_boot=200, interval="percentile")["ips"]
    assert pct.ci_low < pct.value < pct.ci_high
    with pytest.raises(ValueError, match="unknown interval"):
        estimate(log, target, interval="bca")


def test_row_weights_act_as_row_multiplicities_in_the_reward_model() -> None:
    log, _ = _uniform_log(200)
    rows = np.random.default_rng(3).integers(0, 200, 200)
    counts = np.bincount(rows, minlength=200).astype(float)
    resampled = Log(log.action[rows], log.propensity[rows], log.reward[rows], log.group[rows])
    assert np.allclose(reward_model(log, 3, row_weight=counts)[rows], reward_model(resampled, 3))
    assert np.allclose(reward_refitter(log, 3, folds=1)(counts), reward_model(log, 3, row_weight=counts))


def test_refitting_the_reward_model_in_each_replicate_changes_only_dr() -> None:
    log, target, _ = _skewed_cost_log(1)
    refit = reward_refitter(log, 3)
    q = refit(np.ones(400))
    fixed = estimate(log, one_hot(target, 3), q, n_boot=200, seed=0)
    refitted = estimate(log, one_hot(target, 3), q, n_boot=200, seed=0, refit=refit)
    assert refitted["ips"] == fixed["ips"] and refitted["dr"].value == fixed["dr"].value
    assert (refitted["dr"].ci_low, refitted["dr"].ci_high) != (fixed["dr"].ci_low, fixed["dr"].ci_high)
