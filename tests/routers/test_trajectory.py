from __future__ import annotations

import numpy as np
import pytest

from aco.routers.trajectory import evaluate_k, evaluate_pair, step_routing
from aco.trajectories.loader import Trajectory, Turn
from aco.trajectories.pairs import Pair


def synthetic_pair(n: int = 80, seed: int = 0) -> Pair:
    """Cheap runs that hit a traceback at turn 2 fail; turn 1 looks the same for everybody."""
    rng = np.random.default_rng(seed)
    ok = rng.random(n) < 0.5
    trajectories = {}
    for i in range(n):
        second = "ok" if ok[i] else "Traceback (most recent call last)\nValueError"
        turns = (Turn(1, "look", "ls", "a.py", 4, 100.0, 10.0, 0.01),
                 Turn(2, "run", "python reproduce.py", second, len(second), 200.0, 10.0, 0.02))
        trajectories[f"r__t-{i}"] = Trajectory(f"r__t-{i}", "s", "m", "x", turns)
    ids = tuple(trajectories)
    has = np.ones(n, dtype=bool)
    has[: n // 8] = False
    return Pair(name="synthetic", description="synthetic", task_ids=ids, has_turns=has,
                trajectories={t: trajectories[t] for t, h in zip(ids, has, strict=True) if h},
                texts={t: "fix the bug" for t in ids}, cheap_success=ok, strong_success=np.ones(n, dtype=bool),
                cheap_cost_usd=np.full(n, 0.5), strong_cost_usd=np.full(n, 2.0))


def test_value_head_reads_the_turn_that_shows_the_failure() -> None:
    pair = synthetic_pair()
    rows = np.flatnonzero(pair.has_turns)
    at1, _ = evaluate_k(pair, rows, 1)
    at2, p = evaluate_k(pair, rows, 2)
    assert at2.route_auc > 0.95 and at2.route_auc_ci[0] > 0.85
    assert at1.route_auc < 0.7
    assert ((p >= 0) & (p <= 1)).all()


def test_escalation_charges_cheap_turns_plus_the_strong_run() -> None:
    pair = synthetic_pair()
    rows = np.flatnonzero(pair.has_turns)
    result, _ = evaluate_k(pair, rows, 2)
    shares = {c["escalated_share"]: c for c in result.curve if c["rule"] == "share"}
    n = len(rows)
    assert shares[0.0]["cost_usd"] == pytest.approx(0.5 * n)
    assert shares[0.0]["success"] == pytest.approx(pair.cheap_success[rows].mean())
    assert shares[1.0]["cost_usd"] == pytest.approx((0.01 + 0.02 + 2.0) * n)  # turns 1..2 + strong full run
    assert shares[1.0]["success"] == 1.0


def test_pair_report_has_selection_bias_steps_and_stop_rule() -> None:
    report = evaluate_pair(synthetic_pair(), ks=(0, 2))
    assert [r.k for r in report.by_k] == [0, 2]
    assert report.selection_bias["n_missing"] == 10 and "description_auc_all_tasks" in report.selection_bias
    assert {s["k"] for s in report.stop_rule} == {2}
    steps = step_routing(synthetic_pair())
    assert steps["n_steps"] == 140 and steps["kind_share"]["search"] == pytest.approx(0.5)
