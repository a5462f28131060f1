from __future__ import annotations

import numpy as np
import pytest

from aco.online.bandits import BanditContext, LinUCB, ThompsonSampling


def _ctx(alpha: list[float], beta: list[float], allowed: list[bool] | None = None) -> BanditContext:
    m = len(alpha)
    return BanditContext(features=np.ones(4) / 2, alpha=np.array(alpha), beta=np.array(beta),
                         expected_cost_usd=np.zeros(m), allowed=None if allowed is None else np.array(allowed))


@pytest.mark.parametrize("policy", [ThompsonSampling(seed=1), ThompsonSampling(seed=2, epsilon=0.2),
                                    LinUCB(seed=3, epsilon=0.1)])
def test_propensities_sum_to_one_and_match_the_chosen_arm(policy: ThompsonSampling | LinUCB) -> None:
    for _ in range(20):
        choice = policy.decide(_ctx([2.0, 5.0, 1.0], [3.0, 1.0, 1.0]))
        assert choice.probabilities.sum() == pytest.approx(1.0)
        assert (choice.probabilities >= 0).all()
        assert choice.propensity == pytest.approx(choice.probabilities[choice.arm])
        assert choice.propensity > 0
        policy.update(_ctx([2.0, 5.0, 1.0], [3.0, 1.0, 1.0]), choice.arm, 1.0)
    assert policy.n_decisions == 20 and policy.n_updates == 20


def test_thompson_prefers_the_stronger_posterior_and_respects_allowed() -> None:
    policy = ThompsonSampling(seed=0)
    choice = policy.decide(_ctx([90.0, 10.0], [10.0, 90.0]))
    assert choice.arm == 0 and choice.propensity > 0.99
    masked = policy.decide(_ctx([90.0, 10.0], [10.0, 90.0], allowed=[False, True]))
    assert masked.arm == 1 and masked.probabilities[0] == 0.0


def test_thompson_is_reproducible_with_a_seed() -> None:
    a = [ThompsonSampling(seed=7).decide(_ctx([2, 2, 2], [2, 2, 2])).arm for _ in range(1)]
    b = [ThompsonSampling(seed=7).decide(_ctx([2, 2, 2], [2, 2, 2])).arm for _ in range(1)]
    assert a == b


def test_linucb_learns_the_better_arm() -> None:
    policy = LinUCB(seed=0, epsilon=0.0, alpha_ucb=0.1)
    ctx = _ctx([1, 1], [1, 1])
    for _ in range(30):
        policy.update(ctx, 0, 0.1)
        policy.update(ctx, 1, 0.9)
    mean, _ = policy.ucb(ctx)
    assert mean[1] > mean[0]
    assert policy.decide(ctx).arm == 1


def test_linucb_batch_warm_start_matches_sequential_updates() -> None:
    rng = np.random.default_rng(0)
    x, r = rng.random((40, 4)), rng.random((40, 2))
    batch, seq = LinUCB(), LinUCB()
    batch.fit_batch(x, r)
    for i in range(40):
        for arm in range(2):
            seq.update(BanditContext(x[i], np.ones(2), np.ones(2), np.zeros(2)), arm, float(r[i, arm]))
    ctx = BanditContext(x[0], np.ones(2), np.ones(2), np.zeros(2))
    np.testing.assert_allclose(batch.ucb(ctx)[0], seq.ucb(ctx)[0], atol=1e-8)


def test_update_rejects_an_unknown_arm() -> None:
    with pytest.raises(ValueError, match="arm 5"):
        ThompsonSampling().update(_ctx([1, 1], [1, 1]), 5, 1.0)
