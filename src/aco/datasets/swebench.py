"""SWE-bench Verified, bash-only leaderboard: 500 tasks x mini-SWE-agent runs of many models.

Reads `swebench-verified/per_instance_long.csv` (resolved, cost_usd, api_calls per run), drops every system
flagged in `models_meta.csv` (its per-instance rows contradict its own aggregate) and joins the problem
statements of `instances.jsonl`. A finished run's API calls and cost are observable before its test verdict.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aco.datasets.generic import csv_line_of, pivot_long, read_jsonl
from aco.datasets.table import OutcomeTable, assign_cost_tiers
from aco.errors import DataError
from aco.records import ModelSpec

NAME = "swebench-verified"
FOLDER = "swebench-verified"


def flagged_systems(meta_path: Path) -> list[str]:
    """Names of the systems whose `flag` column in models_meta.csv is non-empty."""
    meta = pd.read_csv(meta_path, dtype=str, keep_default_na=False)
    for column in ("name", "flag"):
        if column not in meta.columns:
            raise DataError(f"missing column {column!r}", path=meta_path, line=1, field=column)
    return [str(n) for n in meta.loc[meta["flag"].str.strip() != "", "name"]]


def _problem_statements(path: Path, task_ids: pd.Index) -> np.ndarray:
    instances, _ = read_jsonl(path)
    text = instances.set_index("instance_id")["problem_statement"].reindex(task_ids)
    if text.isna().any():
        missing = task_ids[text.isna().to_numpy()][0]
        raise DataError(f"no problem statement for {missing!r}", path=path, field="instance_id")
    return np.asarray(text.astype(str).to_numpy(), dtype=object)


def load_swebench_verified(data_dir: Path) -> OutcomeTable:
    """The SWE-bench Verified outcome table (flagged systems excluded; see the module docstring)."""
    folder = data_dir / FOLDER
    runs_path = folder / "per_instance_long.csv"
    runs = pd.read_csv(runs_path, dtype={"instance_id": str, "repo": str, "model": str})
    excluded = flagged_systems(folder / "models_meta.csv")
    runs = runs.rename(columns={"instance_id": "task_id"})
    keep = ~runs["model"].isin(excluded).to_numpy()
    rows = np.flatnonzero(keep)
    base_line = csv_line_of(runs_path)
    runs = runs.iloc[rows].reset_index(drop=True)
    task_ids, models, arrays = pivot_long(runs, ["resolved", "cost_usd", "api_calls"], path=runs_path,
                                          line_of=lambda row: base_line(int(rows[row])))
    repo = runs.drop_duplicates("task_id").set_index("task_id")["repo"].reindex(task_ids).to_numpy()
    tasks = pd.DataFrame({"text": _problem_statements(folder / "instances.jsonl", task_ids),
                          "category": repo, "source": NAME, "group": repo}, index=task_ids)
    cost = arrays["cost_usd"].astype(float)
    specs = assign_cost_tiers([ModelSpec(name=m) for m in models], cost.mean(axis=0))
    return OutcomeTable(
        name=NAME, tasks=tasks, models=specs, score=arrays["resolved"].astype(float), cost_usd=cost,
        signals={"api_calls": arrays["api_calls"].astype(float)}, observable_signals=("api_calls", "cost_usd"),
        metadata={"cost_unit": "usd", "excluded_models": excluded, "path": str(folder)},
    )
