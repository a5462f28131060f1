"""`aco trajectories` end to end: Route-AUC per K, escalate-at-K curve, selection bias, steps, stop rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aco.cli.app import build_app


def test_trajectories_on_real_lm32b_rows(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "traj.json"
    result = CliRunner().invoke(build_app(), ["trajectories", "--pair", "lm32b-sonnet", "--k", "1",
                                              "--json", str(out), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "Route-AUC" in result.output
    (report,) = json.loads(out.read_text())
    assert report["n_tasks"] == 332
    (k1,) = report["by_k"]
    assert k1["k"] == 1 and 0.0 <= k1["route_auc_ci"][0] <= k1["route_auc"] <= k1["route_auc_ci"][1] <= 1.0
    bias = report["selection_bias"]
    assert bias["n_missing"] == 168
    assert bias["cheap_success_with_turns"] == pytest.approx(0.557, abs=1e-3)
    assert bias["cheap_success_missing"] == pytest.approx(0.095, abs=1e-3)
    assert 0.0 < report["step_routing"]["cheap_share_all_edits_strong"] < 1.0
    assert {s["k"] for s in report["stop_rule"]} == {1}


def test_bad_k_and_pair_are_clear_errors(data_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(build_app(), ["trajectories", "--k", "x", "--data-dir", str(data_dir)])
    assert result.exit_code != 0 and "--k" in str(result.exception)
    result = runner.invoke(build_app(), ["trajectories", "--pair", "nope", "--k", "1", "--data-dir", str(data_dir)])
    assert result.exit_code != 0 and "unknown pair" in str(result.exception)
    result = runner.invoke(build_app(), ["trajectories", "--heads", "nope", "--k", "1", "--data-dir", str(data_dir)])
    assert result.exit_code != 0 and "--heads 'nope'" in str(result.exception)
