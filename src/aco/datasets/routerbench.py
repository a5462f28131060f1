"""RouterBench-style wide CSVs: one row per prompt, per model a 0/1 column, `|total_cost` and `|model_response`.

`load_wide_csv` reads any such files (models are the columns with a `|total_cost` suffix). Rows that share
a sample id are merged: per model, the score of the first row that has one, with that row's cost and
response (RouterBench's ARC-Challenge has 14 ids split over two rows, one holding a single model's result).
The model's response is observable after its run; the 0/1 correctness is the hidden verdict.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from aco.datasets.generic import csv_line_of
from aco.datasets.table import OutcomeTable, assign_cost_tiers
from aco.errors import DataError
from aco.records import ModelSpec

FOLDER = "routerbench"
COST_SUFFIX = "|total_cost"
RESPONSE_SUFFIX = "|model_response"
BENCHMARKS = {"routerbench-arc": "arc_challenge", "routerbench-mbpp": "mbpp",
              "routerbench-winogrande": "winograde"}  # file stems as spelled upstream


def unwrap_prompt(raw: str) -> str:
    """The text of a prompt or response cell stored as a Python list literal ("['...']"); the raw string if it is
    not one."""
    if not raw.startswith("["):
        return raw
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return "\n\n".join(value)
    return value if isinstance(value, str) else raw


def _split_name(path: Path) -> str:
    stem = path.stem
    return stem.rsplit("_", 1)[1] if "_" in stem else stem


def _read(paths: Sequence[Path]) -> tuple[pd.DataFrame, list[str]]:
    frames = []
    for number, path in enumerate(paths):
        if not path.is_file():
            raise DataError("file not found", path=path)
        frame = pd.read_csv(path, dtype={"sample_id": str, "prompt": str, "eval_name": str})
        frames.append(frame.assign(split=_split_name(path), _file=number, _row=np.arange(len(frame))))
    frame = pd.concat(frames, ignore_index=True)
    models = [str(c)[: -len(COST_SUFFIX)] for c in frames[0].columns if str(c).endswith(COST_SUFFIX)]
    for column in ("sample_id", "prompt", "eval_name", *models):
        if column not in frame.columns:
            raise DataError(f"missing column {column!r}", path=paths[0], line=1, field=column)
    return frame, models


def _merge(frame: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """One row per sample id: per model the first score with its own cost and response."""
    score = frame[models].astype(float)
    has = score.notna().to_numpy()
    merged = {m: score[m] for m in models}
    for m in models:
        mask = has[:, models.index(m)]
        merged[m + COST_SUFFIX] = frame[m + COST_SUFFIX].astype(float).where(mask)
        if m + RESPONSE_SUFFIX in frame.columns:
            merged[m + RESPONSE_SUFFIX] = frame[m + RESPONSE_SUFFIX].astype(object).where(mask)
    n_scored = has.sum(axis=1)
    fullest = n_scored == pd.Series(n_scored).groupby(frame["sample_id"].to_numpy()).transform("max").to_numpy()
    merged["prompt"] = frame["prompt"].where(fullest)
    for column in ("sample_id", "eval_name", "split", "_file", "_row"):
        merged[column] = frame[column]
    wide = pd.DataFrame(merged)
    return wide.groupby("sample_id", sort=False).first()


def _check_complete(wide: pd.DataFrame, models: list[str], paths: Sequence[Path]) -> None:
    columns = models + [m + COST_SUFFIX for m in models]
    missing = wide[columns].isna().to_numpy()
    if missing.any():
        row, col = (int(x[0]) for x in np.nonzero(missing))
        path = paths[int(wide["_file"].iloc[row])]
        line = csv_line_of(path)(int(wide["_row"].iloc[row]))
        raise DataError(f"sample {wide.index[row]!r} has no result for this model", path=path, line=line,
                        field=columns[col])


def load_wide_csv(paths: Sequence[Path | str], name: str, *, source: str = "routerbench") -> OutcomeTable:
    """An `OutcomeTable` from RouterBench-style wide CSVs (concatenated; task column `split` = file suffix)."""
    files = [Path(p) for p in paths]
    frame, models = _read(files)
    wide = _merge(frame, models)
    _check_complete(wide, models, files)
    responses = np.empty((len(wide), len(models)), dtype=object)
    for j, m in enumerate(models):
        column = m + RESPONSE_SUFFIX
        cells = wide[column].fillna("").tolist() if column in wide.columns else [""] * len(wide)
        responses[:, j] = [unwrap_prompt(str(c)) for c in cells]  # the text a live call would return
    text = [unwrap_prompt(str(p)) for p in wide["prompt"].fillna("")]
    tasks = pd.DataFrame({"text": text, "category": wide["eval_name"].to_numpy(), "source": source,
                          "group": wide.index.to_numpy(), "split": wide["split"].to_numpy()},
                         index=wide.index.astype(str))
    cost = wide[[m + COST_SUFFIX for m in models]].to_numpy(dtype=float)
    specs = assign_cost_tiers([ModelSpec(name=m) for m in models], cost.mean(axis=0))
    return OutcomeTable(
        name=name, tasks=tasks, models=specs, score=wide[models].to_numpy(dtype=float), cost_usd=cost,
        signals={"response": responses}, observable_signals=("response", "cost_usd"),
        metadata={"cost_unit": "usd", "paths": [str(p) for p in files],
                  "merged_rows": int(len(frame) - len(wide))},
    )


def load_routerbench(data_dir: Path, name: str) -> OutcomeTable:
    """One RouterBench benchmark (`routerbench-arc`, `-mbpp`, `-winogrande`): train and test rows."""
    stem = BENCHMARKS[name]
    folder = data_dir / FOLDER
    return load_wide_csv([folder / f"{stem}_train.csv", folder / f"{stem}_test.csv"], name)


def load_routerbench_all(data_dir: Path) -> OutcomeTable:
    """ARC-Challenge, MBPP and Winogrande as one 11-model table (`routerbench`): category and source are the
    benchmark (`arc-challenge`, `mbpp`, `winogrande`), so each benchmark is one group of a shift protocol."""
    folder = data_dir / FOLDER
    paths = [folder / f"{stem}_{split}.csv" for stem in BENCHMARKS.values() for split in ("train", "test")]
    table = load_wide_csv(paths, "routerbench")
    return replace(table, tasks=table.tasks.assign(source=table.tasks["category"]))
