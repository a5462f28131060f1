"""CodeRouterBench (Agent-as-a-Router): the ID test split, 2,919 coding tasks x 8 models.

Reads `id_test_results_long.csv` (score, cost, tokens, latency per cell), the model price table and tiers of
`models.json`, and every published router's decisions in `peer_decisions/*.jsonl` as task columns
`peer:<name>`. The data has no task text; the source benchmark (and language) is parsed from the task id.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from aco.datasets.generic import csv_line_of, pivot_long, read_jsonl
from aco.datasets.table import OutcomeTable
from aco.errors import DataError
from aco.records import ModelSpec

NAME = "coderouterbench"
FOLDER = "coderouterbench"
SPLIT = "id_test"
PEER_PREFIX = "peer:"  # the column prefix aco.routers.peers reads
TIERS = {"low": 1, "mid": 2, "high": 3, "premium": 4}
SIGNALS = ("latency_ms", "input_tokens", "output_tokens")
_ID_PATTERN = r"^dim\d+_(?P<source>[^_/]+)(?:_(?P<language>[a-z]+)_)?"
_LANGUAGE_SOURCES = ("hex", "multiple")
PAPER_VALUE_USD = 10.0  # the paper's reward score - 0.1 x cost_usd values a success at $10 (see aco.policies.objective)


def parse_task_ids(task_ids: pd.Index) -> pd.DataFrame:
    """Source benchmark (`dim1_bcb_BigCodeBench/767` -> bcb) and, for hex/multiple, the language."""
    parts = pd.Series(task_ids, index=task_ids).str.extract(_ID_PATTERN)
    source = parts["source"].fillna("").astype(str)
    language = parts["language"].where(source.isin(_LANGUAGE_SOURCES)).fillna("").astype(str)
    return pd.DataFrame({"source": source, "language": language}, index=task_ids)


def read_models(path: Path) -> dict[str, ModelSpec]:
    """Model specs (provider, prices, tier 1-4) by name from models.json."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["models"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"cannot read the model list: {exc}", path=path) from None
    specs: dict[str, ModelSpec] = {}
    for entry in entries:
        tier = str(entry.get("tier", ""))
        if tier not in TIERS:
            raise DataError(f"unknown tier {tier!r} of {entry.get('model')!r}", path=path, field="tier")
        specs[str(entry["model"])] = ModelSpec(
            name=str(entry["model"]), provider=str(entry.get("provider", "")),
            usd_per_mtok_input=float(entry.get("input_per_1m", 0.0)),
            usd_per_mtok_output=float(entry.get("output_per_1m", 0.0)), tier=TIERS[tier], tier_label=tier,
        )
    return specs


def read_peer_decisions(folder: Path, task_ids: pd.Index) -> pd.DataFrame:
    """One column `peer:<file stem>` per decisions file: the chosen model per task ('' where none)."""
    columns: dict[str, np.ndarray] = {}
    for path in sorted(folder.glob("*.jsonl")):
        decisions, lines = read_jsonl(path)
        for field in ("task_id", "chosen_model"):
            if field not in decisions.columns:
                raise DataError(f"missing field {field!r}", path=path, line=int(lines[0]), field=field)
        duplicated = decisions["task_id"].duplicated().to_numpy()
        if duplicated.any():
            line = int(lines[np.flatnonzero(duplicated)[0]])
            raise DataError("duplicate decision for a task", path=path, line=line, field="task_id")
        chosen = decisions.set_index("task_id")["chosen_model"].reindex(task_ids)
        columns[PEER_PREFIX + path.stem] = chosen.fillna("").astype(str).to_numpy()
    return pd.DataFrame(columns, index=task_ids)


def load_coderouterbench(data_dir: Path) -> OutcomeTable:
    """The CodeRouterBench ID test table with model tiers/prices and the published routers' decisions."""
    folder = data_dir / FOLDER
    path = folder / "id_test_results_long.csv"
    frame = pd.read_csv(path, dtype={"task_id": str, "model": str, "split": str, "dimension": str})
    base_line = csv_line_of(path)
    rows = np.flatnonzero((frame["split"] == SPLIT).to_numpy())
    frame = frame.iloc[rows].reset_index(drop=True)
    task_ids, models, arrays = pivot_long(frame, ["score", "cost_usd", *SIGNALS], path=path,
                                          line_of=lambda row: base_line(int(rows[row])))
    specs = read_models(folder / "models.json")
    unknown = [m for m in models if m not in specs]
    if unknown:
        raise DataError(f"models {unknown} are not in models.json", path=folder / "models.json", field="model")
    dimension = frame.drop_duplicates("task_id").set_index("task_id")["dimension"].reindex(task_ids)
    parsed = parse_task_ids(task_ids)
    tasks = pd.DataFrame({"text": "", "category": dimension.to_numpy(), "source": parsed["source"],
                          "group": parsed["source"], "language": parsed["language"]}, index=task_ids)
    tasks = pd.concat([tasks, read_peer_decisions(folder / "peer_decisions", task_ids)], axis=1)
    return OutcomeTable(
        name=NAME, tasks=tasks, models=tuple(specs[m] for m in models),
        score=arrays["score"].astype(float), cost_usd=arrays["cost_usd"].astype(float),
        signals={s: arrays[s].astype(float) for s in SIGNALS}, observable_signals=(*SIGNALS, "cost_usd"),
        metadata={"cost_unit": "usd", "split": SPLIT, "path": str(folder), "value_usd": PAPER_VALUE_USD,
                  "value_source": "Agent-as-a-Router's reward score - 0.1 x cost_usd, as published"},
    )
