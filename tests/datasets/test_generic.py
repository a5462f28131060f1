"""The generic long-format loader on small hand-written files: good input, and each bad input's message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aco.datasets.generic import load_outcomes_file
from aco.errors import DataError

GOOD_CSV = """task_id,model,score,cost_usd,text,category
t1,cheap,1,0.01,"first task
spans two lines",easy
t1,dear,1,0.10,"first task
spans two lines",easy
t2,cheap,0,0.02,second,hard
t2,dear,0.5,0.20,second,hard
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_csv_loads_in_order_with_tiers(tmp_path: Path) -> None:
    table = load_outcomes_file(write(tmp_path, "runs.csv", GOOD_CSV))
    assert table.name == "runs"
    assert table.task_ids == ["t1", "t2"]
    assert table.model_names == ["cheap", "dear"]
    np.testing.assert_allclose(table.score, np.array([[1, 1], [0, 0.5]]))
    np.testing.assert_allclose(table.cost_usd, [[0.01, 0.10], [0.02, 0.20]])
    assert table.tasks.loc["t1", "text"] == "first task\nspans two lines"
    assert list(table.tasks["category"]) == ["easy", "hard"]
    assert [m.tier for m in table.models] == [1, 3]


def test_jsonl_with_aliases_and_name(tmp_path: Path) -> None:
    rows = [{"task": 1, "model": "a", "score": True, "cost": 0.5},
            {"task": 1, "model": "b", "score": False, "cost": 1}]
    table = load_outcomes_file(write(tmp_path, "x.jsonl", jsonl(rows)), name="mine")
    assert table.name == "mine"
    assert table.task_ids == ["1"]
    np.testing.assert_allclose(table.score, [[1.0, 0.0]])
    assert set(table.tasks.columns) >= {"text", "category", "source", "group"}


def assert_error(path: Path, line: int, field: str | None, match: str) -> None:
    with pytest.raises(DataError, match=match) as info:
        load_outcomes_file(path)
    error = info.value
    assert error.path == path and error.line == line and error.field == field
    assert str(path) in str(error) and f"line {line}" in str(error)
    if field is not None:
        assert repr(field) in str(error)


# The first data row of GOOD_CSV spans lines 2-3, so the rows start on lines 2, 4, 6, 7.
@pytest.mark.parametrize(("old", "new", "line", "field", "match"), [
    ("task_id,model,score,cost_usd", "task_id,model,points,cost_usd", 1, "score", "missing required column"),
    ("t2,cheap,0,0.02", "t2,cheap,abc,0.02", 6, "score", "not a number: 'abc'"),
    ("t2,cheap,0,0.02", "t2,cheap,,0.02", 6, "score", "missing value"),
    ("t2,dear,0.5,0.20", "t2,dear,1.5,0.20", 7, "score", r"1.5 is not in \[0, 1\]"),
    ("t2,dear,0.5,0.20", "t2,dear,0.5,x1", 7, "cost_usd", "not a number"),
    ("t2,cheap,0,0.02", "t2,cheap,0,-0.02", 6, "cost_usd", "-0.02 is not >= 0"),
    ("t2,dear,0.5,0.20", "t2,cheap,0.5,0.20", 7, "model", r"duplicate .*'t2', 'cheap'.*first on line 6"),
    ("t2,dear,0.5,0.20,second,hard\n", "", 6, "model", "task 't2' has no row for model 'dear'"),
    ("t2,cheap,0,0.02", "t2,,0,0.02", 6, "model", "missing value"),
])
def test_bad_csv_names_file_line_and_field(tmp_path: Path, old: str, new: str, line: int, field: str,
                                            match: str) -> None:
    assert old in GOOD_CSV
    assert_error(write(tmp_path, "bad.csv", GOOD_CSV.replace(old, new, 1)), line, field, match)


def test_bad_json_line(tmp_path: Path) -> None:
    text = jsonl([{"task_id": "a", "model": "m", "score": 1, "cost_usd": 0}]) + "{not json\n"
    assert_error(write(tmp_path, "bad.jsonl", text), 2, None, "invalid JSON")


def test_jsonl_missing_field_and_bad_value(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"task_id": "a", "model": "m", "score": 1}]
    assert_error(write(tmp_path, "nocost.jsonl", jsonl(rows)), 1, "cost_usd", "missing required column")
    rows = [{"task_id": "a", "model": "m", "score": 1, "cost_usd": 0},
            {"task_id": "b", "model": "m", "score": "high", "cost_usd": 0}]
    assert_error(write(tmp_path, "text.jsonl", "\n" + jsonl(rows)), 3, "score", "not a number: 'high'")


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_outcomes_file(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="unsupported file type"):
        load_outcomes_file(write(tmp_path, "runs.txt", GOOD_CSV))
    with pytest.raises(DataError, match="no rows"):
        load_outcomes_file(write(tmp_path, "empty.csv", "task_id,model,score,cost_usd\n"))
