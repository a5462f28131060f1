"""A user's own outcome table works on the first try: plain long CSVs built from the shared data (text, category,
no run signals, rows shuffled so the models come in another order) through the real console entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from aco.cli.app import main
from aco.datasets.registry import load_dataset
from aco.datasets.table import OutcomeTable
from aco.evaluation.bench import BASELINES

pytestmark = pytest.mark.realdata


def write_plain_csv(table: OutcomeTable, rows: np.ndarray, path: Path, seed: int) -> list[str]:
    """Tasks `rows` of `table` as a user would have them: task_id, model, score, cost_usd, text, category, rows
    shuffled. Returns the models in order of first appearance (the order a loader sees)."""
    part = table.subset(rows)
    long = part.long_frame()
    long["text"] = np.repeat(part.tasks["text"].to_numpy(), part.n_models)
    long["category"] = np.repeat(part.tasks["category"].to_numpy(), part.n_models)
    long = long.sample(frac=1.0, random_state=seed)
    long.to_csv(path, index=False)
    return list(dict.fromkeys(long["model"]))


def _aco(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str,
         ) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["aco", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    out = capsys.readouterr()
    return int(stop.value.code or 0), out.out, out.err


@pytest.fixture(scope="module")
def mbpp(data_dir: Path) -> OutcomeTable:
    return load_dataset("routerbench-mbpp", data_dir)


def _check(doc: dict[str, Any], models: list[str], out: str, err: str) -> None:
    routers = [row["router"] for row in doc["rows"]]
    expected = [f"always:{m}" for m in models] + list(BASELINES) + ["category-stats", "gbdt", "mf"]
    assert sorted(routers) == sorted(expected)
    notes = {note["router"]: note for note in doc["notes"]}
    assert sorted(notes) == ["agreement", "cascade"]
    assert all(note["status"] == "skipped" for note in notes.values())
    assert notes["cascade"]["reason"].startswith("needs observable run signals")
    assert notes["agreement"]["reason"].startswith("needs recorded model responses")
    assert "skipped cascade: needs observable run signals" in out
    assert "objective: value of a success $" in out and "break-even of " in out
    assert "Traceback" not in err + out


def test_aco_bench_my_csv(mbpp: OutcomeTable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    csv, out_json = tmp_path / "my.csv", tmp_path / "out.json"
    models = write_plain_csv(mbpp, np.arange(mbpp.n_tasks), csv, seed=1)
    code, out, err = _aco(monkeypatch, capsys, "bench", str(csv), "--json", str(out_json))
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    _check(doc, models, out, err)
    assert doc["n_tasks"] == mbpp.n_tasks and doc["objective"]["value_usd"] > 0
    rows = {r["router"]: r for r in doc["rows"]}
    # the same outcomes as the built-in loader, whatever the row order
    assert rows["best-single"]["success"] == pytest.approx(0.686, abs=5e-4)
    assert rows["oracle"]["success"] == pytest.approx(0.867, abs=5e-4)


def test_aco_bench_train_test_with_models_in_another_order(mbpp: OutcomeTable, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    half = np.random.default_rng(0).permutation(mbpp.n_tasks)
    train, test, out_json = tmp_path / "train.csv", tmp_path / "test.csv", tmp_path / "out.json"
    train_models = write_plain_csv(mbpp, np.sort(half[:213]), train, seed=2)
    test_models = write_plain_csv(mbpp, np.sort(half[213:]), test, seed=3)
    assert train_models != test_models and sorted(train_models) == sorted(test_models)
    code, out, err = _aco(monkeypatch, capsys, "bench", "--train", str(train), "--test", str(test),
                          "--json", str(out_json))
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    _check(doc, train_models, out, err)
    assert doc["dataset"] == "test" and doc["n_tasks"] == mbpp.n_tasks - 213
    assert [m["name"] for m in doc["models"]] == train_models  # aligned to the training table's order


def test_a_model_missing_from_the_test_table_is_named(mbpp: OutcomeTable, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    write_plain_csv(mbpp, np.arange(200), tmp_path / "train.csv", seed=4)
    frame = pd.read_csv(tmp_path / "train.csv")
    frame[frame["model"] != "claude-v2"].to_csv(tmp_path / "test.csv", index=False)
    code, _, err = _aco(monkeypatch, capsys, "bench", "--train", str(tmp_path / "train.csv"),
                        "--test", str(tmp_path / "test.csv"), "--routers", "best-single")
    assert code == 2
    assert err.strip() == ("error: field 'model': train and test have different models: 'claude-v2' only in train")


def test_an_explicit_router_that_does_not_apply_is_one_line(mbpp: OutcomeTable, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    write_plain_csv(mbpp, np.arange(50), tmp_path / "my.csv", seed=5)
    code, out, err = _aco(monkeypatch, capsys, "bench", str(tmp_path / "my.csv"), "--routers", "best-single,cascade")
    assert code == 2 and out == ""
    assert err.strip() == ("error: router 'cascade' does not apply: needs observable run signals "
                           "(e.g. api_calls, response); my has none")
