"""`aco train` then `aco route` round trip through a saved artifact, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aco.cli.app import build_app
from tests.estimators.synthetic import text_table


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = text_table(160, seed=3).long_frame()
    table = text_table(160, seed=3)
    frame["text"] = frame["task_id"].map(table.tasks["text"])
    frame["category"] = frame["task_id"].map(table.tasks["category"])
    path = tmp_path_factory.mktemp("cli") / "outcomes.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("extra", [[], ["--target-success", "0.7"], ["--lambda", "0.1"]])
def test_train_then_route(outcomes: Path, tmp_path: Path, extra: list[str]) -> None:
    runner = CliRunner()
    out = tmp_path / "router.aco"
    result = runner.invoke(build_app(), ["train", "--outcomes", str(outcomes), "--router", "gbdt", "--out",
                                         str(out), *extra])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    easy = runner.invoke(build_app(), ["route", "--router", str(out), "--json", "fix a simple typo in the docs",
                                       "--category", "docs"])
    assert easy.exit_code == 0, easy.output
    decision = json.loads(easy.output)
    assert decision["model"] in {"cheap", "mid"}
    assert len(decision["candidates"]) == 3 and decision["reason"]
    hard = runner.invoke(build_app(), ["route", "--router", str(out), "--json",
                                       "critical security race condition in production", "--category", "backend"])
    assert json.loads(hard.output)["model"] == "strong"
    text = runner.invoke(build_app(), ["route", "--router", str(out), "typo"])
    assert "P(success)" in text.output and "reason:" in text.output


def test_exclusive_policies_and_bad_artifact(outcomes: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(build_app(), ["train", "--outcomes", str(outcomes), "--target-success", "0.8",
                                       "--lambda", "1", "--out", str(tmp_path / "x.aco")])
    assert both.exit_code != 0 and "exclusive" in str(both.exception)
    bad = tmp_path / "bad.aco"
    bad.write_text("not a zip")
    routed = runner.invoke(build_app(), ["route", "--router", str(bad), "task"])
    assert routed.exit_code != 0 and "corrupt" in str(routed.exception)


def test_train_engine_dask_on_parquet_export(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'aco[dask]')")
    from distributed import LocalCluster

    runner = CliRunner()
    parquet = tmp_path / "outcomes"
    exported = runner.invoke(build_app(), ["scale-export", "routerbench-mbpp", "--out", str(parquet),
                                           "--rows-per-partition", "1500", "--data-dir", str(data_dir)])
    assert exported.exit_code == 0, exported.output
    out = tmp_path / "booster.txt"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        result = runner.invoke(build_app(), ["train", "--outcomes", str(parquet), "--engine", "dask",
                                             "--scheduler", cluster.scheduler_address, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "engine=dask" in result.output and f"wrote {out}" in result.output
    assert out.read_text().startswith("tree")


def test_train_engine_dask_needs_parquet(outcomes: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for source in (["routerbench-mbpp"], ["--outcomes", str(outcomes)]):
        result = runner.invoke(build_app(), ["train", *source, "--engine", "dask", "--out", str(tmp_path / "x")])
        assert result.exit_code != 0 and "aco scale-export" in str(result.exception)
    bad = runner.invoke(build_app(), ["train", "--outcomes", str(outcomes), "--scheduler", "tcp://h:1",
                                      "--out", str(tmp_path / "y.aco")])
    assert bad.exit_code != 0 and "--engine dask" in str(bad.exception)
    assert not (tmp_path / "x").exists()


def test_train_any_router_on_a_holdout_then_route(data_dir: Path, tmp_path: Path) -> None:
    """`aco train --router cascade --holdout split` fits on the train split only; `aco route` gives its first step."""
    runner = CliRunner()
    out = tmp_path / "cascade.aco"
    result = runner.invoke(build_app(), ["train", "routerbench-mbpp", "--router", "cascade", "--holdout", "split",
                                         "--out", str(out), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "on 299 tasks" in result.output and "training part of" in " ".join(result.output.split())
    routed = runner.invoke(build_app(), ["route", "--router", str(out), "--json", "Write a function", "--category",
                                         "mbpp"])
    decision = json.loads(routed.output)
    assert decision["action"] == "continue" and decision["reason"].startswith("cascade (threshold ")
    bad = runner.invoke(build_app(), ["train", "routerbench-mbpp", "--router", "oracle", "--out", str(out),
                                      "--data-dir", str(data_dir)])
    assert bad.exit_code != 0 and "evaluation-only" in str(bad.exception)
