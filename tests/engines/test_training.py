"""Partitioned Parquet outcome tables and LightGBM training on them, locally and with LightGBM's Dask estimator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aco.cli.app import build_app
from aco.datasets.registry import load_dataset
from aco.engines.outcomes import LABEL, feature_columns, long_features, read_parquet_local, resample_table


def test_long_features_have_no_outcome_columns(data_dir: Path) -> None:
    table = load_dataset("routerbench-mbpp", data_dir)
    frame = long_features(table)
    assert len(frame) == table.n_tasks * table.n_models
    assert not {"score", "cost_usd", LABEL} & set(feature_columns())
    np.testing.assert_array_equal(frame[LABEL].to_numpy().reshape(table.score.shape), table.success)


def test_resample_keeps_real_rows(data_dir: Path) -> None:
    table = load_dataset("routerbench-arc", data_dir)
    big = resample_table(table, 3 * table.n_tasks, seed=2)
    assert big.n_tasks == 3 * table.n_tasks and big.metadata["resampled_from"] == table.name
    original = [tid.split("#r")[0] for tid in big.task_ids]
    rows = table.tasks.index.get_indexer(pd.Index(original))
    np.testing.assert_array_equal(big.score, table.score[rows])


def test_scale_export_then_train_local_and_dask(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'aco[dask]')")
    runner = CliRunner()
    out = tmp_path / "outcomes"
    result = runner.invoke(build_app(), ["scale-export", "routerbench-mbpp", "--out", str(out),
                                         "--rows-per-partition", "1500", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    n_rows = len(read_parquet_local(out))
    assert len(list(out.glob("*.parquet"))) == -(-n_rows // 1500)
    for engine in ("local", "dask"):
        model = tmp_path / f"{engine}.txt"
        result = runner.invoke(build_app(), ["scale-train", "--outcomes", str(out), "--engine", engine,
                                             "--n-estimators", "10", "--model-out", str(model)])
        assert result.exit_code == 0, result.output
        assert f"rows={n_rows}" in result.output
        assert model.read_text().startswith("tree")
