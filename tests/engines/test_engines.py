"""Engines: the fold-by-fold merge equals the sequential replay; the Dask engine equals the local one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from aco.cli.app import build_app
from aco.datasets.registry import load_dataset
from aco.engines import fold_jobs, make_engine, merge_fold_runs, run_fold
from aco.errors import ConfigError
from aco.evaluation.protocol import kfold_splits
from aco.evaluation.replay import replay
from aco.routers.registry import make_router

TIMING_FIELDS = ("fit_seconds", "route_seconds")  # wall-clock times differ run to run: not compared
BENCH_ROUTERS = "best-single,random,heuristic,dimension-best,oracle,category-stats"


def _without_timing(doc: dict[str, Any]) -> dict[str, Any]:
    for row in doc["rows"]:
        for key in TIMING_FIELDS:
            row.pop(key)
    return doc


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """An in-process Dask cluster (2 thread workers) whose address the CLI's --scheduler connects to."""
    pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'aco[dask]')")
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        yield str(cluster.scheduler_address)


def test_merged_folds_equal_sequential_replay(data_dir: Path) -> None:
    table = load_dataset("routerbench-arc", data_dir)
    splits = kfold_splits(table.n_tasks, 3, seed=1)
    for spec in ("category-stats", "random"):
        whole = replay(make_router(spec), table, splits, label=spec)
        parts = [run_fold(job, table) for job in fold_jobs([spec], splits, table.n_tasks, transfer=False)]
        merged = merge_fold_runs(parts, table.n_tasks, table.n_models)
        np.testing.assert_array_equal(merged.decisions.model_idx, whole.decisions.model_idx)
        np.testing.assert_array_equal(merged.decisions.paid, whole.decisions.paid)
        np.testing.assert_array_equal(merged.fold, whole.fold)
        assert len(merged.sweep) == len(whole.sweep)
        for a, b in zip(merged.sweep, whole.sweep, strict=True):
            assert a.knob_value == b.knob_value
            np.testing.assert_array_equal(a.decisions.model_idx, b.decisions.model_idx)
        if whole.p_success is None:
            assert merged.p_success is None
        else:
            np.testing.assert_allclose(merged.p_success, whole.p_success)


def test_bench_json_identical_local_and_dask(data_dir: Path, scheduler: str, tmp_path: Path) -> None:
    docs = {}
    for engine in ("local", "dask"):
        out = tmp_path / f"{engine}.json"
        extra = ["--scheduler", scheduler] if engine == "dask" else []
        result = CliRunner().invoke(build_app(), [
            "bench", "swebench-verified", "--routers", BENCH_ROUTERS, "--seed", "3", "--engine", engine, *extra,
            "--data-dir", str(data_dir), "--json", str(out)])
        assert result.exit_code == 0, result.output
        docs[engine] = _without_timing(json.loads(out.read_text()))
    assert len(docs["local"]["rows"]) == 6
    assert json.dumps(docs["local"], sort_keys=True) == json.dumps(docs["dask"], sort_keys=True)


def test_make_engine_rejects_bad_names() -> None:
    with pytest.raises(ConfigError, match="unknown engine"):
        make_engine("spark")
    with pytest.raises(ConfigError, match="--scheduler"):
        make_engine("local", "tcp://127.0.0.1:8786")


def test_dask_engine_rejects_unknown_router_before_submitting(data_dir: Path) -> None:
    from aco.engines.dask import DaskEngine
    from aco.errors import UnknownRouterError

    table = load_dataset("routerbench-arc", data_dir)
    engine = DaskEngine(client=object())  # never used: the spec check comes first
    with pytest.raises(UnknownRouterError, match="no-such-router"):
        engine.run_bench(table, ["best-single", "no-such-router"], folds=2)
