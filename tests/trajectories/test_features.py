from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from aco.trajectories.features import TRAJECTORY_FEATURES, feature_frame, turn_features, turns_text
from aco.trajectories.loader import Trajectory, Turn, load_trajectory_file
from aco.trajectories.pricing import stated_price


def _traj() -> Trajectory:
    turns = (
        Turn(1, "look", "find . -name '*.py'", "a.py\nb.py", 10, 100.0, 10.0, 0.001),
        Turn(2, "read", "cat pkg/a.py", "def f(): pass", 13, 200.0, 10.0, 0.002),
        Turn(3, "edit", "sed -i 's/pass/return 1/' pkg/a.py", "", 0, 300.0, 20.0, 0.003),
        Turn(4, "test", "python -m pytest tests", "Traceback\nAssertionError\n1 failed", 40, 400.0, 5.0, 0.004),
        Turn(5, "again", "python -m pytest tests", "Traceback\nError", 20, 500.0, 5.0, 0.005),
        Turn(6, "done", "submit", "ok", 2, 600.0, 5.0, 0.006),
    )
    return Trajectory("a__b-1", "s", "m", "x", turns)


def test_hand_built_counts() -> None:
    f = turn_features(_traj(), 5)
    assert f["turns_seen"] == 5 and f["n_search"] == 1 and f["n_read"] == 1 and f["n_edit"] == 1
    assert f["n_test_runs"] == 2 and f["n_test_failures"] == 1 and f["n_tracebacks"] == 2
    assert f["n_repeated"] == 1 and f["first_edit_turn"] == 3 and f["n_empty_obs"] == 1
    assert f["prompt_tokens_last"] == 500 and f["cost_usd_so_far"] == pytest.approx(0.015)
    assert f["n_verify"] == 0  # turn 6 (submit) is after K


def test_k_zero_is_description_only() -> None:
    assert all(v == 0 for v in turn_features(_traj(), 0).values())
    assert turns_text(_traj(), 0) == ""


def _mutate_after(traj: Trajectory, k: int) -> Trajectory:
    later = tuple(dataclasses.replace(t, thought="X" * 50, action="rm -rf / && pytest && submit",
                                      observation="Traceback " * 100, observation_chars=10**6,
                                      prompt_tokens=1e9, cost_usd=1e3) for t in traj.turns[k:])
    extra = (Turn(99, "late", "git diff", "diff", 4, 1.0, 1.0, 1.0),)
    return dataclasses.replace(traj, turns=traj.turns[:k] + later + extra)


@pytest.mark.parametrize("k", range(7))
def test_extractor_reads_only_turns_1_to_k(k: int) -> None:
    traj = _traj()
    mutated = _mutate_after(traj, k)
    assert turn_features(traj, k) == turn_features(mutated, k)
    assert turns_text(traj, k) == turns_text(mutated, k)
    if k < 6:  # the mutation is visible at K + 1, so the test can fail
        assert turn_features(traj, k + 1) != turn_features(mutated, k + 1)


def test_whole_run_fields_never_reach_the_extractor() -> None:
    # The extractor takes a Trajectory, which has no outcome or whole-run field at all.
    fields = {f.name for f in dataclasses.fields(Trajectory)} | {f.name for f in dataclasses.fields(Turn)}
    assert not fields & {"resolved", "exit_status", "model_stats", "posthoc_n_steps", "api_calls"}


def test_real_rows_only_read_turns_1_to_k(data_dir: Path) -> None:
    path = data_dir / "swebench-verified" / "trajectories" / "sweagent_lm32b_first6.jsonl"
    loaded = load_trajectory_file(path, stated_price("SWE-agent-LM-32B"))
    ids = list(loaded.trajectories)[:40]
    mutated = {t: _mutate_after(loaded.trajectories[t], 3) for t in ids}
    texts = {t: "statement" for t in ids}
    a = feature_frame(ids, loaded.trajectories, texts, 3)
    b = feature_frame(ids, mutated, texts, 3)
    assert a.equals(b)
    cols = list(TRAJECTORY_FEATURES)
    assert not np.array_equal(feature_frame(ids, loaded.trajectories, texts, 4)[cols].to_numpy(),
                              feature_frame(ids, mutated, texts, 4)[cols].to_numpy())


def test_reproduction_run_and_source_edit_features() -> None:
    turns = (
        Turn(1, "repro", "create reproduce_bug.py", "", 0),
        Turn(2, "run", "python reproduce_bug.py", "Traceback (most recent call last):\nValueError: bad", 60),
        Turn(3, "fix", "str_replace_editor str_replace /testbed/pkg/core.py", "edited", 6),
    )
    traj = Trajectory("a__b-2", "s", "m", "x", turns)
    at2, at3 = turn_features(traj, 2), turn_features(traj, 3)
    assert at2["ran_script"] == 1 and at2["ran_script_saw_error"] == 1 and at2["edited_source"] == 0
    assert at3["edited_source"] == 1
    assert turn_features(traj, 1)["ran_script"] == 0


def test_full_text_column_holds_observations_of_turns_up_to_k_only() -> None:
    frame = feature_frame(["a__b-1"], {"a__b-1": _traj()}, {"a__b-1": "task"}, 3)
    full = frame["turns_full_text"].iloc[0]
    assert "def f(): pass" in full and "AssertionError" not in full  # turn 4's observation is after K
