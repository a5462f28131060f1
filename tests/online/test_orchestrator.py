from __future__ import annotations

import numpy as np

from aco.datasets.table import OutcomeTable
from aco.online.bandits import ThompsonSampling
from aco.online.memory import InMemoryMemory
from aco.online.orchestrator import Orchestrator, task_features
from aco.online.verifier import BenchmarkVerifier, DelayedVerifier
from aco.routers.registry import make_router


def test_features_are_unit_norm_and_never_read_scores(table: OutcomeTable) -> None:
    x = task_features(table.tasks, 64)
    assert x.shape == (table.n_tasks, 64)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)


def test_loop_writes_decisions_and_outcomes_and_learns_the_category_best(table: OutcomeTable) -> None:
    memory = InMemoryMemory(64)
    orch = Orchestrator(models=tuple(table.model_names), memory=memory, policy=ThompsonSampling(seed=0))
    x = task_features(table.tasks, 64)
    verifier = BenchmarkVerifier(table)
    for row in range(table.n_tasks):
        dec = orch.decide(table.task_ids[row], table.tasks["category"].iloc[row], x[row])
        orch.learn(dec, verifier(row, dec.choice.arm))
    assert len(memory.decisions()) == len(memory.outcomes()) == table.n_tasks
    assert all(d.propensity > 0 for d in memory.decisions())
    ctx_a = orch.context("a", x[0])
    ctx_b = orch.context("b", x[0])
    assert int(np.argmax(ctx_a.p_success())) == 2
    assert int(np.argmax(ctx_b.p_success())) == 0


def test_prior_moves_the_posterior() -> None:
    orch = Orchestrator(models=("x", "y"), memory=InMemoryMemory(8), policy=ThompsonSampling(), prior_weight=10)
    ctx = orch.context("c", np.zeros(8), prior_p=np.array([0.9, 0.1]))
    assert ctx.p_success()[0] > 0.7 > 0.3 > ctx.p_success()[1]


def test_delayed_verifier_keeps_the_outcome_but_reports_the_delay(table: OutcomeTable) -> None:
    fb = DelayedVerifier(BenchmarkVerifier(table), delay=5)(0, 1)
    assert fb.delay == 5 and fb.verifier == "benchmark" and fb.score == table.score[0, 1]


def test_online_routers_route_as_batch_routers_with_propensities(table: OutcomeTable) -> None:
    train, test = table.subset(np.arange(200)), table.subset(np.arange(200, 300))
    for spec in ("thompson", "orchestrator", "linucb"):
        router = make_router(spec).fit(train)
        a, b = router.route_table(test), router.route_table(test)
        np.testing.assert_array_equal(a.model_idx, b.model_idx)  # seeded: reproducible
        assert a.propensity is not None and ((a.propensity > 0) & (a.propensity <= 1)).all()
        assert a.p_success is not None and a.p_success.shape == (100, 3)
        cats = test.tasks["category"].to_numpy()
        assert np.mean(a.model_idx[cats == "a"] == 2) > 0.6, spec


def test_signal_verifier_is_cross_fitted_and_tracks_the_signal() -> None:
    from aco.online.verifier import SignalVerifier
    from tests.online.conftest import make_table

    base = make_table(300)
    calls = np.where(base.score > 0.5, 10.0, 60.0)  # failures run long: an observable signal
    table = OutcomeTable(base.name, base.tasks, base.models, base.score, base.cost_usd,
                         signals={"api_calls": calls}, observable_signals=("api_calls",))
    verifier = SignalVerifier.cross_fit(table, "api_calls", folds=3, seed=0)
    assert verifier.coef.shape == (3, 4) and set(verifier.fold_of.tolist()) == {0, 1, 2}
    ok, bad = np.argwhere(table.score > 0.5)[0], np.argwhere(table.score < 0.5)[0]
    assert verifier(int(ok[0]), int(ok[1])).score > 0.5 > verifier(int(bad[0]), int(bad[1])).score
    assert verifier(0, 0).verifier == "posthoc"


def test_prior_is_corrected_by_residuals_and_keeps_its_per_task_ranking() -> None:
    from aco.online.verifier import Feedback

    orch = Orchestrator(models=("x", "y"), memory=InMemoryMemory(8), policy=ThompsonSampling(seed=0))
    p_first, p_second = np.array([0.8, 0.6]), np.array([0.4, 0.6])
    for _ in range(30):  # model x runs at 0.2 below what the prior said on first-kind tasks
        dec = orch.decide("t", "c", np.zeros(8), prior_p=p_first, prior_n=10.0)
        orch.learn(dec, Feedback(score=float(p_first[dec.choice.arm]) - 0.2, success=True, cost_usd=0.0,
                                 verifier="test"))
    n_obs, residual_sum, squares_sum = orch.residuals_["c"]
    assert n_obs.sum() == 30
    np.testing.assert_allclose(residual_sum, -0.2 * n_obs)
    np.testing.assert_allclose(squares_sum, 0.04 * n_obs)
    ctx = orch.context("c", np.zeros(8), prior_p=p_second, prior_n=10.0)
    expected = p_second - 0.2 * n_obs / (10.0 + n_obs)  # shrunk correction, added to this task's own prior
    np.testing.assert_allclose(ctx.p_success(), expected)
    size = ctx.alpha + ctx.beta
    s2 = (0.04 * 30 + 2 * p_second * (1 - p_second)) / 32  # mean squared residual, 2 Bernoulli pseudo-residuals
    np.testing.assert_allclose(expected * (1 - expected) / (size + 1), s2 / (10.0 + n_obs))
    assert orch.context("other", np.zeros(8), prior_p=p_second, prior_n=10.0).p_success()[0] == 0.4


def test_prior_weight_sets_how_sure_the_posterior_is() -> None:
    orch = Orchestrator(models=("x", "y"), memory=InMemoryMemory(8), policy=ThompsonSampling())
    weak = orch.context("c", np.zeros(8), prior_p=np.array([0.7, 0.5]), prior_n=5.0)
    strong = orch.context("c", np.zeros(8), prior_p=np.array([0.7, 0.5]), prior_n=500.0)
    np.testing.assert_allclose(weak.p_success(), strong.p_success())
    var = [c.alpha * c.beta / ((c.alpha + c.beta) ** 2 * (c.alpha + c.beta + 1)) for c in (weak, strong)]
    assert (var[1] < var[0] / 50).all()
    explore = [ThompsonSampling(seed=0).decide(c).probabilities[1] for c in (weak, strong)]
    assert explore[0] > 0.1 > 0.001 > explore[1]  # Thompson explores on the scale of the prior's uncertainty


def test_posterior_mean_greedy_takes_the_best_utility_and_mixes_epsilon() -> None:
    from aco.online.bandits import BanditContext, PosteriorMeanGreedy

    ctx = BanditContext(features=np.zeros(2), alpha=np.array([8.0, 9.0, 1.0]), beta=np.array([2.0, 1.0, 9.0]),
                        expected_cost_usd=np.array([0.0, 2.0, 0.0]))
    choice = PosteriorMeanGreedy(cost_weight=0.1).decide(ctx)  # 0.9 - 0.2 < 0.8
    assert choice.arm == 0 and choice.propensity == 1.0
    probs = PosteriorMeanGreedy(cost_weight=0.1, epsilon=0.3).decide(ctx).probabilities
    np.testing.assert_allclose(probs, [0.8, 0.1, 0.1])


def test_thompson_unlearns_a_wrong_prior_and_greedy_cannot() -> None:
    from tests.online.conftest import make_table

    table = make_table(600, seed=3)
    wrong = np.tile([0.2, 0.95, 0.2], (table.n_tasks, 1))  # says m1 everywhere; m1 succeeds 30% of the time
    share = {}
    for spec in ("orchestrator", "orchestrator-greedy"):
        orch = make_router(spec, value_usd=10.0).make_orchestrator(table.model_names)
        x, verifier = task_features(table.tasks, 256), BenchmarkVerifier(table)
        chosen = []
        for row in range(table.n_tasks):
            dec = orch.decide(table.task_ids[row], table.tasks["category"].iloc[row], x[row], prior_p=wrong[row],
                              prior_n=20.0)
            orch.learn(dec, verifier(row, dec.choice.arm))
            chosen.append(dec.choice.arm)
        assert np.mean(np.array(chosen[:50]) == 1) > 0.9, spec  # it starts where the prior points
        share[spec] = np.mean(np.array(chosen[-200:]) == 1)
    assert share["orchestrator"] < 0.6  # measured 0.40: exploration finds the better models
    assert share["orchestrator-greedy"] > 0.9  # m1's corrected 0.3 still beats the unexplored arms' prior 0.2
