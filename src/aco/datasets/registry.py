"""Named datasets: loader, one-line description and source (repository, pinned commit, paths, license).

`load_dataset(name)` reads the files in place from the data directory (`resolve_data_dir`) and caches the
table in-process; a name that is the path of a .csv/.jsonl file loads it with the generic loader.
Sources and sha256 pins live as data in `aco/data/dataset_sources.json`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from aco.datasets import routellm
from aco.datasets.coderouterbench import load_coderouterbench
from aco.datasets.generic import load_outcomes_file
from aco.datasets.location import resolve_data_dir
from aco.datasets.routerbench import load_routerbench, load_routerbench_all
from aco.datasets.swebench import load_swebench_verified
from aco.datasets.table import OutcomeTable
from aco.errors import DataError

OUTCOME_FILE_SUFFIXES = (".csv", ".jsonl")


def _load_lm32b_sonnet(data_dir: Path) -> OutcomeTable:
    from aco.trajectories.pairs import load_pair_table  # imported late: trajectories read datasets modules

    return load_pair_table(data_dir, "lm32b-sonnet")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset aco knows: how to load it from the data directory, and what it is."""

    name: str
    description: str
    loader: Callable[[Path], OutcomeTable]


_SPECS = (
    DatasetSpec("swebench-verified", "SWE-bench Verified: 500 repo-level bug fixes x 24 models under "
                "mini-SWE-agent (resolved, USD, API calls)", load_swebench_verified),
    DatasetSpec("coderouterbench", "CodeRouterBench ID test: 2,919 coding tasks x 8 models (score, USD, tokens, "
                "latency) plus 10 published routers' decisions", load_coderouterbench),
    DatasetSpec("routerbench-arc", "RouterBench ARC-Challenge 0-shot: 1,470 questions x 11 models (0/1, USD, "
                "responses)", partial(load_routerbench, name="routerbench-arc")),
    DatasetSpec("routerbench-mbpp", "RouterBench MBPP 0-shot: 427 Python problems x 11 models (0/1, USD, "
                "responses)", partial(load_routerbench, name="routerbench-mbpp")),
    DatasetSpec("routerbench-winogrande", "RouterBench Winogrande 0-shot: 1,267 questions x 11 models (0/1, "
                "USD, responses)", partial(load_routerbench, name="routerbench-winogrande")),
    DatasetSpec("routerbench", "RouterBench ARC-Challenge + MBPP + Winogrande 0-shot as one table: 3,164 prompts x "
                "11 models (category and source = the benchmark)", load_routerbench_all),
    DatasetSpec("routellm-mmlu", "RouteLLM MMLU: 13,932 questions x Mixtral-8x7B/GPT-4-1106 (cost = strong-call "
                "share)", routellm.load_mmlu),
    DatasetSpec("routellm-gsm8k", "RouteLLM GSM8K: 1,307 problems x Mixtral-8x7B/GPT-4-1106 (cost = strong-call "
                "share)", routellm.load_gsm8k),
    DatasetSpec("routellm-mtbench", "RouteLLM MT-Bench: 72 questions x Mixtral-8x7B/GPT-4-1106, GPT-4 grade / 10 "
                "(cost = strong-call share)", routellm.load_mtbench),
    DatasetSpec("swebench-lm32b-sonnet", "SWE-bench Verified, SWE-agent 1.0.1: the 332 tasks with SWE-agent-LM-32B "
                "turns x (SWE-agent-LM-32B, Claude 4 Sonnet), resolved and USD per run, the cheap run's first 6 turns",
                _load_lm32b_sonnet),
)
_BY_NAME = {spec.name: spec for spec in _SPECS}
DATASETS: tuple[str, ...] = tuple(_BY_NAME)


@lru_cache(maxsize=1)
def _sources() -> dict[str, Any]:
    text = resources.files("aco").joinpath("data", "dataset_sources.json").read_text(encoding="utf-8")
    return dict(json.loads(text)["datasets"])


def _spec(name: str) -> DatasetSpec:
    if name not in _BY_NAME:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)} "
                        "(or give the path of a .csv/.jsonl outcomes file)")
    return _BY_NAME[name]


def describe(name: str) -> str:
    """One-line description of a dataset, with its source repository and license."""
    source = dataset_source(name)
    return f"{_spec(name).description}. Source: {source['repository']} ({source['license']})"


def dataset_source(name: str) -> dict[str, Any]:
    """Repository, pinned commit, license and files (local path, upstream path, sha256) of a dataset."""
    _spec(name)
    return dict(_sources()[name])


def dataset_dir(name: str, data_dir: Path | None = None) -> Path:
    """The folder of the data directory holding the dataset's files."""
    files = [f["path"] for f in dataset_source(name)["files"] if f.get("required", True)]
    root = resolve_data_dir(data_dir)
    return root / (os.path.commonpath(files) if len(files) > 1 else Path(files[0]).parent)


def _check_present(name: str, root: Path) -> None:
    source = dataset_source(name)
    for entry in source["files"]:
        path = root / entry["path"]
        if entry.get("required", True) and not path.is_file():
            how = (f"or run `aco datasets fetch {name}`" if source.get("fetchable")
                   else "(this dataset is derived and cannot be fetched by download)")
            raise DataError(f"dataset {name!r} not found in {root}: set ACO_DATA_DIR (or --data-dir) to the "
                            f"folder holding the shared datasets {how}", path=path)


def _freeze(table: OutcomeTable) -> OutcomeTable:
    """Make the cached table's arrays read-only: cached tables are shared."""
    for array in (table.score, table.cost_usd, *table.signals.values()):
        np.asarray(array).flags.writeable = False
    return table


@lru_cache(maxsize=16)
def _load_named(name: str, root: str) -> OutcomeTable:
    _check_present(name, Path(root))
    return _freeze(_spec(name).loader(Path(root)))


@lru_cache(maxsize=16)
def _load_file(path: str, mtime_ns: int) -> OutcomeTable:
    del mtime_ns  # part of the cache key only: an edited file is read again
    return _freeze(load_outcomes_file(Path(path)))


def _as_outcome_file(name: str) -> Path | None:
    path = Path(name).expanduser()
    if path.suffix.lower() not in OUTCOME_FILE_SUFFIXES or name in _BY_NAME:
        return None
    if not path.is_file():
        raise DataError("outcomes file not found", path=path)
    return path.resolve()


def load_dataset(name: str, data_dir: Path | None = None) -> OutcomeTable:
    """The outcome table of a named dataset (or of a .csv/.jsonl outcomes file), cached in-process."""
    file = _as_outcome_file(name)
    if file is not None:
        return _load_file(str(file), file.stat().st_mtime_ns)
    _spec(name)
    return _load_named(name, str(resolve_data_dir(data_dir).resolve()))


def clear_cache() -> None:
    """Forget every cached table (e.g. after the files changed)."""
    _load_named.cache_clear()
    _load_file.cache_clear()


def _model_rows(table: OutcomeTable) -> list[dict[str, Any]]:
    mean, success = table.mean_score(), table.success.mean(axis=0)
    total, mean_cost = table.total_cost_usd(), table.cost_usd.mean(axis=0)
    return [{"name": m.name, "provider": m.provider, "tier": m.tier, "tier_label": m.tier_label,
             "mean_score": float(mean[j]), "success": float(success[j]), "cost_usd": float(total[j]),
             "mean_cost_usd": float(mean_cost[j])} for j, m in enumerate(table.models)]


def dataset_info(name: str, data_dir: Path | None = None) -> dict[str, Any]:
    """Shape, per-model mean score and total cost, oracle score, categories and path of a dataset."""
    table = load_dataset(name, data_dir)
    file = _as_outcome_file(name)
    categories = table.tasks["category"].value_counts(sort=False)
    return {
        "name": table.name, "n_tasks": table.n_tasks, "n_models": table.n_models,
        "models": _model_rows(table), "oracle_score": float(table.score.max(axis=1).mean()),
        "n_categories": len(categories), "categories": {str(k): int(v) for k, v in categories.items()},
        "path": str(file if file is not None else dataset_dir(name, data_dir)),
        "cost_unit": str(table.metadata.get("cost_unit", "usd")),
        "source": None if file is not None else {k: v for k, v in dataset_source(name).items() if k != "files"},
    }
