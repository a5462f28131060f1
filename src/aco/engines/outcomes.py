"""Long (task, model) outcome tables as partitioned Parquet, and real-shaped large tables by resampling.

`long_features` turns an `OutcomeTable` into one row per (task, model) with decision-time features only
(model, category, source, hashed task text; never a score) plus the label `success`. `resample_table` draws
tasks of a REAL table with replacement to make a bigger table of the same shape: resampled real data, not
new data, and everything that reports on it must say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aco.datasets.table import OutcomeTable
from aco.errors import DataError

N_TEXT_HASHES = 16
LABEL = "success"


def feature_columns(n_text_hashes: int = N_TEXT_HASHES) -> list[str]:
    """The feature columns `long_features` writes, in order."""
    return ["model_code", "category_code", "source_code", "text_log_chars",
            *[f"text_h{k}" for k in range(n_text_hashes)]]


def _text_hashes(texts: pd.Series, n_text_hashes: int) -> np.ndarray:
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(n_features=n_text_hashes, alternate_sign=False, norm="l2")
    return np.asarray(vectorizer.transform(texts.tolist()).toarray(), dtype=np.float32)


def long_features(table: OutcomeTable, n_text_hashes: int = N_TEXT_HASHES) -> pd.DataFrame:
    """One row per (task, model): task_id, model, features, success (label), score and cost_usd."""
    n, m = table.score.shape
    tasks = table.tasks
    per_task = pd.DataFrame({
        "category_code": pd.factorize(tasks["category"], sort=True)[0].astype(np.int32),
        "source_code": pd.factorize(tasks["source"], sort=True)[0].astype(np.int32),
        "text_log_chars": np.log1p(tasks["text"].str.len().to_numpy(dtype=float)).astype(np.float32),
    })
    hashes = _text_hashes(tasks["text"], n_text_hashes)
    for k in range(n_text_hashes):
        per_task[f"text_h{k}"] = hashes[:, k]
    frame = per_task.iloc[np.repeat(np.arange(n), m)].reset_index(drop=True)
    frame.insert(0, "model_code", np.tile(np.arange(m, dtype=np.int32), n))
    frame.insert(0, "model", np.tile(np.asarray(table.model_names, dtype=object), n))
    frame.insert(0, "task_id", np.repeat(np.asarray(table.task_ids, dtype=object), m))
    frame[LABEL] = table.success.ravel().astype(np.int8)
    frame["score"] = table.score.ravel()
    frame["cost_usd"] = table.cost_usd.ravel()
    return frame


def write_parquet(frame: pd.DataFrame, folder: Path, rows_per_partition: int = 250_000) -> list[Path]:
    """Write `frame` as `part-00000.parquet`, ... under `folder` (created); returns the files written."""
    if rows_per_partition < 1:
        raise ValueError("rows_per_partition must be >= 1")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, start in enumerate(range(0, len(frame), rows_per_partition)):
        path = folder / f"part-{k:05d}.parquet"
        frame.iloc[start:start + rows_per_partition].to_parquet(path, index=False)
        paths.append(path)
    return paths


def read_parquet_local(folder: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """All partitions of `folder` in one pandas frame (the local engine's way: everything on one node)."""
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise DataError("no *.parquet partitions", path=str(folder))
    return pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)


def resample_table(table: OutcomeTable, n_tasks: int, seed: int = 0) -> OutcomeTable:
    """`n_tasks` tasks of `table` drawn with replacement (ids get a `#r<k>` suffix): resampled REAL rows."""
    if n_tasks < 1:
        raise ValueError("n_tasks must be >= 1")
    rows = np.random.default_rng(seed).integers(0, table.n_tasks, size=n_tasks)
    tasks = table.tasks.iloc[rows].copy()
    tasks.index = pd.Index([f"{tid}#r{k}" for k, tid in enumerate(tasks.index)], name="task_id")
    return OutcomeTable(
        name=f"{table.name} (resampled to {n_tasks} tasks)", tasks=tasks, models=table.models,
        score=table.score[rows], cost_usd=table.cost_usd[rows],
        signals={k: np.asarray(v)[rows] for k, v in table.signals.items()},
        observable_signals=table.observable_signals, protected_categories=table.protected_categories,
        success_threshold=table.success_threshold,
        metadata={**table.metadata, "resampled_from": table.name, "resample_seed": seed},
    )
