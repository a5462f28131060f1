from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from aco.errors import ConfigError, DataError
from aco.trajectories.loader import RunOutcome, Trajectory, load_trajectory_file
from aco.trajectories.pricing import TokenPrice, load_prices, stated_price

PRICE = TokenPrice("m", usd_per_mtok_input=1.0, usd_per_mtok_output=2.0, tokens_per_char=0.5)


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_loader_keeps_outcome_fields_out_of_the_trajectory(tmp_path: Path) -> None:
    row = {"instance_id": "a__b-1", "system_id": "s", "model": "m", "scaffold": "x", "resolved": True,
           "traj_available": True, "exit_status": "submitted", "model_stats": {"api_calls": 9, "tokens_sent": 10},
           "turns": [{"turn": "1", "thought": "t", "action": "ls", "observation": "a.py",
                      "prompt_chars": "100", "completion_chars": "20"}]}
    missing = {"instance_id": "a__b-2", "resolved": False, "traj_available": False, "missing_reason": "absent"}
    loaded = load_trajectory_file(_write(tmp_path / "t.jsonl", [row, missing]), PRICE)
    traj = loaded.trajectories["a__b-1"]
    assert isinstance(traj, Trajectory) and not hasattr(traj, "resolved")
    assert {"resolved", "exit_status", "api_calls"} <= set(RunOutcome.__dataclass_fields__)
    assert loaded.outcomes["a__b-1"].resolved and loaded.outcomes["a__b-1"].api_calls == 9
    assert loaded.missing_reasons == {"a__b-2": "absent"}
    turn = traj.turns[0]
    assert turn.prompt_tokens == 50 and turn.completion_tokens == 10
    assert math.isclose(turn.cost_usd, (50 * 1.0 + 10 * 2.0) / 1e6)


def test_loader_names_file_line_and_field(tmp_path: Path) -> None:
    bad = {"instance_id": "x", "resolved": True, "traj_available": True,
           "turns": [{"turn": "one", "action": "ls"}]}
    with pytest.raises(DataError, match=r"t\.jsonl, line 1, field 'turns\.turn'"):
        load_trajectory_file(_write(tmp_path / "t.jsonl", [bad]))
    (tmp_path / "u.jsonl").write_text("{not json\n")
    with pytest.raises(DataError, match="line 1"):
        load_trajectory_file(tmp_path / "u.jsonl")


def test_stated_prices_are_data(tmp_path: Path) -> None:
    price = stated_price("SWE-agent-LM-32B")
    assert price.usd_per_mtok_input > 0 and 0 < price.tokens_per_char < 1
    with pytest.raises(ConfigError, match="no stated price"):
        stated_price("no-such-model")
    (tmp_path / "p.toml").write_text('[models.x]\nusd_per_mtok_input = "a"\nusd_per_mtok_output = 1\n')
    with pytest.raises(ConfigError, match=r"models\.'x'"):
        load_prices(tmp_path / "p.toml")


def test_real_lm32b_file(data_dir: Path) -> None:
    path = data_dir / "swebench-verified" / "trajectories" / "sweagent_lm32b_first6.jsonl"
    loaded = load_trajectory_file(path, stated_price("SWE-agent-LM-32B"))
    assert len(loaded.outcomes) == 500 and len(loaded.trajectories) == 332
    present = [loaded.outcomes[t].resolved for t in loaded.trajectories]
    assert abs(sum(present) / len(present) - 0.557) < 0.001
    first = next(iter(loaded.trajectories.values()))
    assert 1 <= len(first.turns) <= 6 and first.turns[0].cost_usd > 0
