from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aco.trajectories.features import feature_frame
from aco.trajectories.grounding import (
    GROUNDING_FEATURES,
    grounding_features,
    statement_identifiers,
    statement_modules,
    turn_texts,
)
from aco.trajectories.loader import Trajectory, Turn, load_trajectory_file
from aco.trajectories.pricing import stated_price

STATEMENT = """`Separable.compute_matrix()` in astropy/modeling/separable.py is wrong.

```python
from astropy.modeling import separable
separable.separability_matrix(cm)
```
raises
```
Traceback (most recent call last):
ValueError: bad shape
```
"""


def _traj(found_right_file: bool = True, reproduced: bool = True) -> Trajectory:
    target = "/testbed/astropy/modeling/separable.py" if found_right_file else "/testbed/astropy/io/fits/card.py"
    obs = "def separability_matrix(transform):\n    class Separable:" if found_right_file else "def parse(card):"
    run_obs = "Traceback (most recent call last):\nValueError: bad shape" if reproduced else "ok"
    turns = (
        Turn(1, "search", "find /testbed -name '*.py' | grep model", "astropy/modeling/core.py", 24, 1000.0, 50.0),
        Turn(2, "read", f"str_replace_editor view {target}", obs, len(obs), 2000.0, 60.0),
        Turn(3, "repro", "str_replace_editor create /testbed/reproduce.py", "File created", 12, 3000.0, 70.0),
        Turn(4, "run", "python /testbed/reproduce.py", run_obs, len(run_obs), 4000.0, 80.0),
    )
    return Trajectory("astropy__astropy-1", "s", "m", "x", turns)


def test_statement_names_are_extracted() -> None:
    idents = statement_identifiers(STATEMENT)
    assert {"Separable", "compute_matrix", "separability_matrix"} <= idents
    assert "separable" in statement_modules(STATEMENT) and "modeling" in statement_modules(STATEMENT)


def test_localisation_is_higher_when_the_agent_opens_the_named_file() -> None:
    right, wrong = grounding_features(_traj(True), 2, STATEMENT), grounding_features(_traj(False), 2, STATEMENT)
    assert right["loc_module_touched"] == 1 and wrong["loc_module_touched"] == 0
    assert right["loc_def_seen"] > wrong["loc_def_seen"] and right["loc_ident_in_obs"] > wrong["loc_ident_in_obs"]


def test_reproduction_features_see_the_quoted_error_only_once_the_script_ran() -> None:
    assert grounding_features(_traj(), 3, STATEMENT)["repro_ran"] == 0
    at4 = grounding_features(_traj(), 4, STATEMENT)
    assert at4["repro_ran"] == 1 and at4["repro_error"] == 1 and at4["repro_exc_match"] == 1
    quiet = grounding_features(_traj(reproduced=False), 4, STATEMENT)
    assert quiet["repro_error"] == 0 and quiet["repro_exc_match"] == 0
    assert at4["repro_code_overlap"] > quiet["repro_code_overlap"]


def test_tokens_per_turn_stop_at_k() -> None:
    f = grounding_features(_traj(), 2, STATEMENT)
    assert f["prompt_tokens_turn2"] == 2000 and f["prompt_tokens_turn3"] == 0 and f["completion_tokens_turn1"] == 50


def test_k_zero_and_no_trajectory_give_zeros() -> None:
    assert all(v == 0 for v in grounding_features(_traj(), 0, STATEMENT).values())
    assert all(v == 0 for v in grounding_features(None, 3, STATEMENT).values())
    assert turn_texts(_traj(), 0) == {"thoughts_text": "", "actions_text": "", "obs_text": ""}
    with pytest.raises(ValueError, match="k must be"):
        grounding_features(_traj(), -1, STATEMENT)


def _mutate_after(traj: Trajectory, k: int) -> Trajectory:
    later = tuple(dataclasses.replace(t, thought="X", action="python /testbed/reproduce.py && vim separable.py",
                                      observation="ValueError: bad shape Separable", prompt_tokens=1e9)
                  for t in traj.turns[k:])
    return dataclasses.replace(traj, turns=traj.turns[:k] + later)


@pytest.mark.parametrize("k", range(5))
def test_grounding_reads_only_turns_1_to_k(k: int) -> None:
    traj = _traj(found_right_file=False, reproduced=False)
    mutated = _mutate_after(traj, k)
    assert grounding_features(traj, k, STATEMENT) == grounding_features(mutated, k, STATEMENT)
    assert turn_texts(traj, k) == turn_texts(mutated, k)
    if k < 4:  # visible one turn later, so the test can fail
        assert grounding_features(traj, k + 1, STATEMENT) != grounding_features(mutated, k + 1, STATEMENT)


def test_real_rows_grounding_columns_only_read_turns_1_to_k(data_dir: Path) -> None:
    path = data_dir / "swebench-verified" / "trajectories" / "sweagent_lm32b_first6.jsonl"
    loaded = load_trajectory_file(path, stated_price("SWE-agent-LM-32B"))
    ids = list(loaded.trajectories)[:40]
    mutated = {t: _mutate_after(loaded.trajectories[t], 3) for t in ids}
    texts = {t: STATEMENT for t in ids}
    cols = [*GROUNDING_FEATURES, "thoughts_text", "actions_text", "obs_text"]
    a = feature_frame(ids, loaded.trajectories, texts, 3)[cols]
    assert a.equals(feature_frame(ids, mutated, texts, 3)[cols])
    later = feature_frame(ids, loaded.trajectories, texts, 4)[cols]
    assert not later.equals(feature_frame(ids, mutated, texts, 4)[cols])
    assert a["loc_ident_in_obs"].gt(0).any()  # real observations do mention statement names
