"""The dataset registry: names, sources, missing-data errors, outcome-file paths, caching and info."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from aco.datasets.registry import DATASETS, dataset_info, dataset_source, describe, load_dataset
from aco.errors import DataError

CSV = "task_id,model,score,cost_usd\nt1,a,1,0.1\nt1,b,0,0.2\n"


def test_names_descriptions_and_sources() -> None:
    assert set(DATASETS) == {"swebench-verified", "coderouterbench", "routerbench-arc", "routerbench-mbpp",
                             "routerbench-winogrande", "routerbench", "routellm-mmlu", "routellm-gsm8k",
                             "routellm-mtbench", "swebench-lm32b-sonnet"}
    for name in DATASETS:
        source = dataset_source(name)
        assert source["repository"] and source["commit"] and source["license"] in describe(name)
        assert all(len(f["sha256"]) == 64 for f in source["files"])
        assert all(f["upstream"] for f in source["files"]) or not source["fetchable"]
    assert dataset_source("routellm-gsm8k")["commit"] == "0b64fdafe049e596a3f5657c219329f24af24198"


def test_unknown_name() -> None:
    with pytest.raises(DataError, match=r"unknown dataset 'nope'.*routellm-mmlu"):
        load_dataset("nope")


def test_missing_data_tells_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"ACO_DATA_DIR.*aco datasets fetch routerbench-mbpp") as info:
        load_dataset("routerbench-mbpp", tmp_path)
    assert info.value.path == tmp_path / "routerbench" / "mbpp_train.csv"
    with pytest.raises(DataError, match="aco datasets fetch swebench-verified"):
        load_dataset("swebench-verified", tmp_path)


def test_outcome_file_path_is_loaded_and_reloaded_when_changed(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(CSV)
    first = load_dataset(str(path))
    assert first.name == "mine" and load_dataset(str(path)) is first
    path.write_text(CSV.replace("t1,b,0,", "t1,b,1,"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert load_dataset(str(path)).score[0, 1] == 1.0
    with pytest.raises(DataError, match="outcomes file not found"):
        load_dataset(str(tmp_path / "absent.jsonl"))
    info = dataset_info(str(path))
    assert info["path"] == str(path.resolve()) and info["source"] is None


@pytest.mark.realdata
def test_cached_and_read_only(data_dir: Path) -> None:
    table = load_dataset("routellm-mtbench", data_dir)
    assert load_dataset("routellm-mtbench", data_dir) is table
    with pytest.raises(ValueError, match="read-only"):
        table.score[0, 0] = 0.0


@pytest.mark.realdata
def test_dataset_info(data_dir: Path) -> None:
    info = dataset_info("routerbench-mbpp", data_dir)
    assert (info["n_tasks"], info["n_models"], info["n_categories"]) == (427, 11, 1)
    assert info["path"] == str(data_dir / "routerbench")
    gpt4 = next(m for m in info["models"] if m["name"] == "gpt-4-1106-preview")
    assert gpt4["mean_score"] == pytest.approx(0.686, abs=1e-3) and gpt4["cost_usd"] == pytest.approx(4.004, abs=1e-3)
    assert {"success", "tier", "mean_cost_usd"} <= set(gpt4)
    assert info["oracle_score"] == pytest.approx(0.867, abs=1e-3)
    assert dataset_info("routellm-mmlu", data_dir)["n_categories"] == 57


@pytest.mark.realdata
def test_pins_match_the_shared_files(data_dir: Path) -> None:
    for name in DATASETS:
        for entry in dataset_source(name)["files"]:
            path = data_dir / entry["path"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], path
            assert path.stat().st_size == entry["bytes"]
    assert np.isfinite(load_dataset("coderouterbench", data_dir).cost_usd).all()
