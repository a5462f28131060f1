from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aco.datasets.table import OutcomeTable
from aco.errors import AcoError
from aco.evaluation.protocol import kfold_splits
from aco.evaluation.replay import replay
from aco.records import ModelSpec
from aco.routers.cascade import (
    CascadeRouter,
    PerfectVerifierRouter,
    cascade_outcome,
    learn_chain,
    perfect_verifier_outcome,
)
from aco.routers.posthoc import PosthocFeatures
from aco.routers.registry import make_router
from aco.verifiers.posthoc import observed_features

CHAIN = "DeepSeek V3.2 Reasoner>GPT-5 mini (2025-08-07) (medium reasoning)>Gemini 3 Pro Preview (2025-11-18)"


def signal_table(n: int = 120, seed: int = 0) -> OutcomeTable:
    """Cheap model succeeds exactly when its run took few API calls; the strong one always succeeds."""
    rng = np.random.default_rng(seed)
    calls = rng.integers(5, 100, size=n).astype(float)
    cheap_ok = calls < 40
    score = np.column_stack([cheap_ok, np.ones(n)]).astype(float)
    cost = np.column_stack([np.full(n, 0.1), np.full(n, 1.0)])
    signals = {"api_calls": np.column_stack([calls, np.full(n, 10.0)])}
    tasks = pd.DataFrame({"text": [f"task {i}" for i in range(n)], "category": "c"},
                         index=[f"t{i}" for i in range(n)])
    return OutcomeTable(name="synthetic", tasks=tasks, models=(ModelSpec("cheap"), ModelSpec("strong")),
                        score=score, cost_usd=cost, signals=signals, observable_signals=("api_calls",))


def test_cascade_learns_the_post_hoc_signal_and_pays_every_attempt() -> None:
    table = signal_table()
    run = replay(make_router("cascade:cheap>strong", use_text=False), table, kfold_splits(table.n_tasks, 5, 0))
    score, cost = run.decisions.score(table), run.decisions.cost_usd(table)
    assert score.mean() > 0.95  # escalates the failures it can see in api_calls
    escalated = run.decisions.model_idx == 1
    np.testing.assert_allclose(cost[escalated], 1.1)  # cheap run + strong run
    np.testing.assert_allclose(cost[~escalated], 0.1)
    assert 0.3 < escalated.mean() < 0.8


def test_threshold_knob_trades_cost_for_success() -> None:
    table = signal_table()
    router = CascadeRouter(chain="cheap>strong", use_text=False).fit(table)
    low = router.set_params(threshold=0.05).route_table(table)
    high = router.set_params(threshold=0.99).route_table(table)
    assert (low.model_idx == 1).sum() < (high.model_idx == 1).sum()


def test_estimator_never_sees_the_verdict() -> None:
    table = signal_table()
    frame = observed_features(table.task_set(), (0,))
    assert set(frame.columns) == {"api_calls_0", "text", "category"}


def test_perfect_verifier_is_exact() -> None:
    success = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 0]], dtype=bool)
    cost = np.array([[1.0, 10.0, 100.0]] * 3)
    final, ok, paid = perfect_verifier_outcome(success, cost, (0, 1, 2))
    np.testing.assert_array_equal(final, [0, 1, 2])
    np.testing.assert_array_equal(ok, [True, True, False])
    np.testing.assert_allclose(paid, [1.0, 11.0, 111.0])
    assert PerfectVerifierRouter.uses_outcomes and not CascadeRouter.uses_outcomes


def test_learned_chain_goes_cheap_to_expensive() -> None:
    table = signal_table()
    assert learn_chain(table, max_length=3, cost_weight=0.1) == (0, 1)


def test_bad_chains_are_clear_errors() -> None:
    table = signal_table()
    with pytest.raises(AcoError, match="unknown model 'nope'"):
        make_router("cascade:cheap>nope").fit(table)
    with pytest.raises(AcoError, match="at least two"):
        make_router("cascade:cheap").fit(table)


def test_swebench_perfect_verifier_reaches_the_published_upper_bound(data_dir: Path) -> None:
    from aco.datasets.registry import load_dataset

    table = load_dataset("swebench-verified", data_dir)
    router = make_router(f"perfect-verifier:{CHAIN}").fit(table)
    routing = router.route_table(table)
    score = table.score[np.arange(table.n_tasks), routing.model_idx]
    cost = (routing.paid(table.n_models) * table.cost_usd).sum()
    assert score.mean() == pytest.approx(0.784, abs=1e-3)
    assert cost == pytest.approx(112.3, abs=0.1)


def test_swebench_cascade_on_a_real_slice(data_dir: Path) -> None:
    from aco.datasets.registry import load_dataset

    table = load_dataset("swebench-verified", data_dir)
    rows = np.arange(0, table.n_tasks, 3)
    train, test = table.subset(rows[: len(rows) * 2 // 3]), table.subset(rows[len(rows) * 2 // 3:])
    routing = make_router(f"cascade:{CHAIN}").fit(train).route_table(test)
    paid = routing.paid(test.n_models)
    deepseek = test.model_index("DeepSeek V3.2 Reasoner")
    assert paid[:, deepseek].all()  # every task pays the first run
    assert paid.sum(axis=1).max() <= 3


def test_default_threshold_is_chosen_inside_the_training_tasks() -> None:
    table = signal_table()
    router = CascadeRouter(chain="cheap>strong", use_text=False).fit(table)
    assert router.threshold is None and set(router.thresholds_) <= set(CascadeRouter.knob_grid)
    routing = router.route_table(table)
    assert f"threshold {router.thresholds_[0]:g}" in routing.reasons[0]
    # a budget of the cheap run alone cannot afford escalating: the chosen threshold escalates least
    tight = CascadeRouter(chain="cheap>strong", use_text=False, budget_usd_per_task=0.1).fit(table)
    assert (tight.route_table(table).model_idx == 1).mean() <= (routing.model_idx == 1).mean()


def three_model_table(n: int = 150, seed: int = 0) -> OutcomeTable:
    """Model 0 succeeds at random (its signals say nothing); model 1 succeeds when its run was short; model 2
    succeeds on 90% of the tasks."""
    rng = np.random.default_rng(seed)
    calls = rng.integers(5, 100, size=(n, 3)).astype(float)
    score = np.column_stack([rng.random(n) < 0.3, calls[:, 1] < 50, rng.random(n) < 0.9]).astype(float)
    cost = np.column_stack([np.full(n, 0.1), np.full(n, 0.1), np.full(n, 1.0)])
    tasks = pd.DataFrame({"text": [f"task {i}" for i in range(n)], "category": "c"},
                         index=[f"t{i}" for i in range(n)])
    return OutcomeTable(name="synthetic3", tasks=tasks, models=(ModelSpec("a"), ModelSpec("b"), ModelSpec("c")),
                        score=score, cost_usd=cost, signals={"api_calls": calls},
                        observable_signals=("api_calls", "cost_usd"))


def test_posthoc_features_standardise_per_model_and_flag_limit_hits() -> None:
    table = three_model_table()
    features = PosthocFeatures((0, 1)).fit(table.task_set())
    frame = features.transform(table.task_set(), (0, 1))
    for pos in (0, 1):
        assert abs(frame[f"z_api_calls_{pos}"].mean()) < 1e-9
        assert frame[f"z_api_calls_{pos}"].std(ddof=0) == pytest.approx(1.0)
    calls = table.signals["api_calls"][:, 1]
    np.testing.assert_array_equal(frame["limit_api_calls_1"], calls >= np.quantile(calls, 0.99))
    np.testing.assert_allclose(frame["z_api_calls_change"], frame["z_api_calls_1"] - frame["z_api_calls_0"])
    assert "log_cost_per_call_0" in frame and "log_chars" in frame


def test_posthoc_features_never_read_the_verdict() -> None:
    table = three_model_table()
    flipped = OutcomeTable(name="flipped", tasks=table.tasks, models=table.models, score=1.0 - table.score,
                           cost_usd=table.cost_usd, signals=table.signals, observable_signals=table.observable_signals)
    frames = [PosthocFeatures((0, 1)).fit(t.task_set()).transform(t.task_set(), (0, 1)) for t in (table, flipped)]
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_per_step_thresholds() -> None:
    p_by_pos = [np.array([0.7, 0.7, 0.2]), np.array([0.5, 0.9, 0.9])]
    np.testing.assert_array_equal(cascade_outcome(p_by_pos, (0, 1, 2), (0.8, 0.6)), [2, 1, 1])
    np.testing.assert_array_equal(cascade_outcome(p_by_pos, (0, 1, 2), 0.6), [0, 0, 1])
    with pytest.raises(ValueError, match="one threshold per cascade step"):
        cascade_outcome(p_by_pos, (0, 1, 2), (0.5,))


def test_chain_alternatives_are_chosen_inside_the_training_tasks() -> None:
    table = three_model_table()
    router = CascadeRouter(chain="a>c|b>c", use_text=False, posthoc=False).fit(table)
    assert router.chain_ == (1, 2)  # the first model's result cannot be judged: it mostly adds cost
    assert len(router.thresholds_) == 1 and "threshold" in router.route_table(table).reasons[0]


def test_swebench_posthoc_features_on_real_runs(data_dir: Path) -> None:
    from aco.datasets.registry import load_dataset

    table = load_dataset("swebench-verified", data_dir)
    chain = tuple(table.model_index(name) for name in CHAIN.split(">"))
    frame = PosthocFeatures(chain).fit(table.task_set()).transform(table.task_set(), chain[:2])
    assert len(frame) == table.n_tasks and np.isfinite(frame.to_numpy()).all()
    # runs at a model's call limit are rare and (on this data) never resolved
    limit = frame["limit_api_calls_0"].to_numpy() > 0
    assert 0 < limit.sum() <= 10
    assert table.success[limit, chain[0]].mean() < table.success[:, chain[0]].mean()
