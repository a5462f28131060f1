"""`aco bench --stream`, `aco log-stream`, `aco evaluate-log` and `aco ope-validate` end to end on a small file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from aco.cli.app import build_app
from tests.online.conftest import make_table


def _outcomes_file(tmp_path: Path) -> Path:
    long = make_table(120).long_frame()
    long["category"] = long["task_id"].map(make_table(120).tasks["category"])
    path = tmp_path / "outcomes.csv"
    pd.DataFrame(long).to_csv(path, index=False)
    return path


def test_bench_stream_writes_curves_json_and_html(tmp_path: Path) -> None:
    data = _outcomes_file(tmp_path)
    out, report = tmp_path / "s.json", tmp_path / "s.html"
    result = CliRunner().invoke(build_app(), [
        "bench", str(data), "--stream", "--order", "shuffle", "--seeds", "2", "--folds", "3",
        "--routers", "thompson,linucb,dimension-best,oracle", "--json", str(out), "--report", str(report)])
    assert result.exit_code == 0, result.output
    got = json.loads(out.read_text())
    routers = {(r["seed"], r["router"]) for r in got["rows"]}
    assert {(0, "thompson"), (1, "linucb"), (0, "dimension-best")} <= routers
    assert all(r["verifier"] == "benchmark" for r in got["rows"] if r["kind"] == "online")
    assert len(got["curves"]["0/thompson"]) > 10
    means = {r["router"]: r for r in got["mean_rows"]}
    regrets = [r["regret"] for r in got["rows"] if r["router"] == "thompson"]
    assert means["thompson"]["seeds"] == 2 and means["thompson"]["regret"] == pytest.approx(sum(regrets) / 2)
    assert 0 <= means["thompson"]["crosses_dimension-best_seeds"] <= 2
    assert "crosses_dimension-best_seeds" not in means["oracle"]  # offline rows do not cross
    page = report.read_text()
    assert page.count('data-aco-chart="regret-') == 2 and "crosses_dimension-best" in page  # a chart per seed
    assert "mean over 2 seeds" in result.output


def test_log_stream_then_evaluate_log(tmp_path: Path) -> None:
    data = _outcomes_file(tmp_path)
    url = f"sqlite:///{tmp_path / 'log.db'}"
    app = build_app()
    logged = CliRunner().invoke(app, ["log-stream", str(data), "--log", url, "--policy", "thompson"])
    assert logged.exit_code == 0, logged.output
    assert "logged 120 decisions" in logged.output
    out = tmp_path / "est.json"
    result = CliRunner().invoke(app, ["evaluate-log", "--log", url, "--policy", "dimension-best",
                                      "--dataset", str(data), "--folds", "3", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "ips" in result.output and "snips" in result.output and "dr" in result.output
    got = json.loads(out.read_text())
    assert got["n_logged"] == 120
    assert {(r["metric"], r["estimator"]) for r in got["rows"]} == {
        (m, e) for m in ("score", "cost_usd") for e in ("ips", "snips", "dr")}


def test_log_stream_rejects_an_offline_policy(tmp_path: Path) -> None:
    data = _outcomes_file(tmp_path)
    result = CliRunner().invoke(build_app(), ["log-stream", str(data), "--log", f"sqlite:///{tmp_path / 'x.db'}",
                                              "--policy", "best-single"])
    assert result.exit_code != 0


def test_ope_validate_runs_the_requested_seed_range(tmp_path: Path) -> None:
    data = _outcomes_file(tmp_path)
    out = tmp_path / "ope.json"
    result = CliRunner().invoke(build_app(), ["ope-validate", str(data), "--seeds", "1", "--first-seed", "3",
                                              "--targets", "best-single", "--interval", "percentile",
                                              "--json", str(out)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "3-3" in result.output and "mean_ci_width" in result.output and "percentile CI" in result.output
    got = json.loads(out.read_text())
    assert got["first_seed"] == 3 and got["interval"] == "percentile"
    assert len(got["rows"]) == 6 and {r["seeds"] for r in got["rows"]} == {"3-3"}  # 2 metrics x 3 estimators
    assert got["rows"][0]["row"] == "best-single/score/ips" and got["rows"][0]["covered"] in (0, 1)
    assert {r["seed"] for r in got["per_seed"]} == {3}
    bad = CliRunner().invoke(build_app(), ["ope-validate", str(data), "--interval", "bca"])
    assert bad.exit_code != 0
