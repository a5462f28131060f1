"""Long-format outcomes (one row per task and model) to an `OutcomeTable`, with errors that name the line.

`load_outcomes_file` reads a user's CSV or JSONL file with columns task_id, model, score, cost_usd and
optionally text, category, source, group (`task` and `cost` are accepted as aliases). `pivot_long` is the
shared long-to-matrix step the real-data loaders use too.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aco.datasets.table import TASK_COLUMNS, OutcomeTable, assign_cost_tiers
from aco.errors import DataError
from aco.records import ModelSpec

LineOf = Callable[[int], int]
"""Maps a 0-based data row to its 1-based line in the file."""

ALIASES = {"task": "task_id", "cost": "cost_usd"}
REQUIRED = ("task_id", "model", "score", "cost_usd")


def csv_line_of(path: Path) -> LineOf:
    """Line lookup for a CSV with a header; exact even when quoted fields span lines (computed on demand)."""
    starts: list[int] = []

    def line_of(row: int) -> int:
        if not starts:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                previous = 0
                for _ in reader:
                    starts.append(previous + 1)
                    previous = reader.line_num
        return starts[row + 1] if row + 1 < len(starts) else row + 2

    return line_of


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line, object) for every non-blank line of a JSONL file; a bad line raises DataError naming it."""
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DataError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=path, line=number) from None
            if not isinstance(record, dict):
                raise DataError("expected a JSON object", path=path, line=number)
            yield number, record


def read_jsonl(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Records of a JSONL file and the 1-based line of each; a bad line raises DataError naming it."""
    rows = list(iter_jsonl(path))
    records = [record for _, record in rows]
    return pd.DataFrame.from_records(records), np.asarray([number for number, _ in rows], dtype=int)


def pivot_long(frame: pd.DataFrame, values: Sequence[str], *, path: Path | str, line_of: LineOf,
               ) -> tuple[pd.Index, list[str], dict[str, np.ndarray]]:
    """Task ids and models (in order of first appearance) and one tasks x models array per value column.

    Every (task_id, model) pair must occur exactly once: a duplicate or a missing pair raises DataError.
    """
    task_codes, task_ids = pd.factorize(frame["task_id"], sort=False)
    model_codes, models = pd.factorize(frame["model"], sort=False)
    n, m = len(task_ids), len(models)
    flat = task_codes * m + model_codes
    duplicated = pd.Series(flat).duplicated().to_numpy()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        first = int(np.flatnonzero(flat == flat[row])[0])
        raise DataError(f"duplicate (task_id, model) = ({task_ids[task_codes[row]]!r}, "
                        f"{models[model_codes[row]]!r}); first on line {line_of(first)}",
                        path=path, line=line_of(row), field="model")
    if len(flat) != n * m:
        present = np.zeros(n * m, dtype=bool)
        present[flat] = True
        task, model = divmod(int(np.flatnonzero(~present)[0]), m)
        row = int(np.flatnonzero(task_codes == task)[0])
        raise DataError(f"task {task_ids[task]!r} has no row for model {models[model]!r} "
                        "(every task needs every model)", path=path, line=line_of(row), field="model")
    arrays: dict[str, np.ndarray] = {}
    for column in values:
        source = frame[column].to_numpy()
        dtype = float if pd.api.types.is_numeric_dtype(frame[column]) else object
        out = np.empty(n * m, dtype=dtype)
        out[flat] = source
        arrays[column] = out.reshape(n, m)
    return pd.Index(task_ids.astype(str)), [str(x) for x in models], arrays


def numeric_column(frame: pd.DataFrame, column: str, *, path: Path | str, line_of: LineOf) -> pd.Series:
    """`frame[column]` as floats; a missing or non-numeric cell raises DataError naming its line."""
    raw = frame[column]
    text = raw.astype(str).str.strip().str.lower().replace({"true": "1", "false": "0"})
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cell = raw.iloc[row]
        what = "missing value" if str(text.iloc[row]) in ("", "nan", "none") else f"not a number: {cell!r}"
        raise DataError(what, path=path, line=line_of(row), field=column)
    return values.astype(float)


def _check_range(values: pd.Series, column: str, low: float, high: float, *, path: Path,
                 line_of: LineOf) -> None:
    bad = ((values < low) | (values > high)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        bounds = f"in [{low:g}, {high:g}]" if np.isfinite(high) else f">= {low:g}"
        raise DataError(f"{values.iloc[row]:g} is not {bounds}", path=path, line=line_of(row), field=column)


def _read(path: Path) -> tuple[pd.DataFrame, LineOf, int]:
    """The rows, a row -> line lookup, and the line to report a missing column at."""
    if not path.is_file():
        raise DataError("file not found", path=path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot parse CSV: {exc}", path=path) from None
        return frame, csv_line_of(path), 1
    if suffix == ".jsonl":
        frame, lines = read_jsonl(path)
        if frame.empty:
            raise DataError("no rows", path=path)
        return frame, lambda row: int(lines[row]), int(lines[0])
    raise DataError(f"unsupported file type {suffix!r}; expected .csv or .jsonl", path=path)


def _prepare(frame: pd.DataFrame, path: Path, line_of: LineOf, header_line: int) -> pd.DataFrame:
    frame = frame.rename(columns={a: c for a, c in ALIASES.items() if a in frame.columns and c not in frame})
    if frame.empty:
        raise DataError("no rows", path=path)
    for column in REQUIRED:
        if column not in frame.columns:
            raise DataError(f"missing required column {column!r} (need {', '.join(REQUIRED)})",
                            path=path, line=header_line, field=column)
    for column in ("task_id", "model"):
        missing = frame[column].isna().to_numpy()
        frame[column] = frame[column].astype(str).str.strip()
        empty = missing | (frame[column] == "").to_numpy()
        if empty.any():
            raise DataError("missing value", path=path, line=line_of(int(np.flatnonzero(empty)[0])), field=column)
    frame["score"] = numeric_column(frame, "score", path=path, line_of=line_of)
    frame["cost_usd"] = numeric_column(frame, "cost_usd", path=path, line_of=line_of)
    _check_range(frame["score"], "score", 0.0, 1.0, path=path, line_of=line_of)
    _check_range(frame["cost_usd"], "cost_usd", 0.0, np.inf, path=path, line_of=line_of)
    return frame


def load_outcomes_file(path: Path | str, name: str | None = None) -> OutcomeTable:
    """An `OutcomeTable` from a long CSV/JSONL file (task_id, model, score, cost_usd [, text, category])."""
    path = Path(path)
    raw, line_of, header_line = _read(path)
    frame = _prepare(raw, path, line_of, header_line)
    task_ids, models, arrays = pivot_long(frame, ["score", "cost_usd"], path=path, line_of=line_of)
    firsts = frame.drop_duplicates("task_id").set_index("task_id")
    tasks = pd.DataFrame(index=task_ids)
    for column in TASK_COLUMNS:
        if column in firsts.columns:
            tasks[column] = firsts[column].reindex(task_ids).fillna("").astype(str).to_numpy()
    cost = arrays["cost_usd"]
    specs = assign_cost_tiers([ModelSpec(name=m) for m in models], cost.mean(axis=0))
    return OutcomeTable(name=name or path.stem, tasks=tasks, models=specs, score=arrays["score"],
                        cost_usd=cost, metadata={"path": str(path), "cost_unit": "usd"})
