from __future__ import annotations

import numpy as np
import pytest

from aco.evaluation.ope import Log, estimate, evaluate_policy, one_hot, reward_model


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
