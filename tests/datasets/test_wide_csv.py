"""`load_wide_csv` on hand-written RouterBench-style files: detection, prompt unwrapping, row merging."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aco.datasets.routerbench import load_wide_csv, unwrap_prompt
from aco.errors import DataError


def wide_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=True)
    return path


def row(sample: str, prompt: str, a: float | None, b: float | None, cost: float = 0.1) -> dict[str, object]:
    return {"sample_id": sample, "prompt": prompt, "eval_name": "toy", "a": a, "b": b,
            "a|model_response": f"['{sample}-a']", "b|model_response": f"['{sample}-b']",
            "a|total_cost": cost, "b|total_cost": 2 * cost, "oracle_model_to_route_to": "a"}


def test_unwrap_prompt() -> None:
    assert unwrap_prompt("['What is 2+2?\\nAnswer:']") == "What is 2+2?\nAnswer:"
    assert unwrap_prompt("['one', 'two']") == "one\n\ntwo"
    assert unwrap_prompt("plain text") == "plain text"
    assert unwrap_prompt("[not a literal") == "[not a literal"
    assert unwrap_prompt("[1, 2]") == "[1, 2]"


def test_train_and_test_concatenated(tmp_path: Path) -> None:
    train = wide_csv(tmp_path / "toy_train.csv", [row("s1", "['p1']", 1, 0), row("s2", "['p2']", 0, 1)])
    test = wide_csv(tmp_path / "toy_test.csv", [row("s3", "p3", 1, 1)])
    table = load_wide_csv([train, test], "toy")
    assert table.name == "toy" and table.model_names == ["a", "b"]
    assert table.task_ids == ["s1", "s2", "s3"]
    assert list(table.tasks["split"]) == ["train", "train", "test"]
    assert list(table.tasks["text"]) == ["p1", "p2", "p3"]
    np.testing.assert_allclose(table.score, [[1, 0], [0, 1], [1, 1]])
    np.testing.assert_allclose(table.cost_usd[:, 1], 0.2)
    assert table.signals["response"][0, 1] == "s1-b"  # the recorded list literal, unwrapped like the prompt
    assert "oracle_model_to_route_to" not in table.tasks.columns
    assert [m.tier for m in table.models] == [1, 3]


def test_rows_sharing_an_id_are_merged(tmp_path: Path) -> None:
    rows = [row("s1", "['p1']", None, 1, cost=0.1), row("s1", "['p1', 'p1']", 0, None, cost=0.3),
            row("s2", "['p2']", 1, 1)]
    table = load_wide_csv([wide_csv(tmp_path / "dup_train.csv", rows)], "dup")
    assert table.task_ids == ["s1", "s2"]
    np.testing.assert_allclose(table.score[0], [0, 1])
    np.testing.assert_allclose(table.cost_usd[0], [0.3, 0.2])  # each model's cost from the row of its score
    assert table.tasks.loc["s1", "text"] == "p1"  # the prompt of the row holding more results
    assert table.metadata["merged_rows"] == 1


def test_missing_result_is_an_error(tmp_path: Path) -> None:
    path = wide_csv(tmp_path / "gap_train.csv", [row("s1", "p", 1, 0), row("s2", "p2", None, 1)])
    with pytest.raises(DataError, match="no result") as info:
        load_wide_csv([path], "gap")
    assert (info.value.path, info.value.line, info.value.field) == (path, 3, "a")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_wide_csv([tmp_path / "none_train.csv"], "none")
