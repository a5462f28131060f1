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
