"""Every named loader on the real files: shapes and the published check figures (skips without the data)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from aco.datasets import routellm
from aco.datasets.registry import DATASETS, _spec, load_dataset
from aco.datasets.table import OutcomeTable

pytestmark = pytest.mark.realdata


def load(name: str, data_dir: Path) -> OutcomeTable:
    return load_dataset(name, data_dir)


def figures(table: OutcomeTable, model: str) -> tuple[float, float, float]:
    j = table.model_index(model)
    return (float(table.score[:, j].mean()), float(table.cost_usd[:, j].sum()),
            float(table.score.max(axis=1).mean()))


@pytest.mark.parametrize("name", DATASETS)
def test_every_loader_is_fast_and_well_formed(name: str, data_dir: Path) -> None:
    start = time.perf_counter()
    table = _spec(name).loader(data_dir)
    assert time.perf_counter() - start < 2.0
    assert table.name == name
    assert table.n_tasks > 0 and table.n_models >= 2
    assert all(m.tier >= 1 for m in table.models)
    assert {"text", "category", "source", "group"} <= set(table.tasks.columns)


def test_swebench_verified(data_dir: Path) -> None:
    table = load("swebench-verified", data_dir)
    assert (table.n_tasks, table.n_models) == (500, 24)
    assert "Claude 3.7 Sonnet (20250219)" not in table.model_names
    assert table.metadata["excluded_models"] == ["Claude 3.7 Sonnet (20250219)"]
    mean, total, oracle = figures(table, "Claude 4.5 Opus medium (20251101)")
    assert mean == pytest.approx(0.744) and total == pytest.approx(360.62, abs=0.01)
    assert oracle == pytest.approx(0.872)
    assert table.tasks.loc["django__django-11099", "category"] == "django"
    assert table.tasks["group"].equals(table.tasks["category"])
    assert (table.tasks["source"] == "swebench-verified").all()
    assert table.tasks["text"].str.len().min() > 0
    assert table.signals["api_calls"].dtype == float
    assert set(table.observable_signals) == {"api_calls", "cost_usd"}


def test_coderouterbench(data_dir: Path) -> None:
    table = load("coderouterbench", data_dir)
    assert (table.n_tasks, table.n_models) == (2919, 8)
    mean, total, oracle = figures(table, "claude-opus-4-6")
    assert mean == pytest.approx(0.4383, abs=1e-4) and total == pytest.approx(34.02, abs=0.01)
    assert oracle == pytest.approx(0.6002, abs=1e-4)
    opus = table.models[0]
    assert (opus.name, opus.tier, opus.provider, opus.usd_per_mtok_output) == ("claude-opus-4-6", 4, "Anthropic", 25.0)
    assert {m.tier_label for m in table.models} == {"low", "mid", "high", "premium"}
    tasks = table.tasks
    assert (tasks["text"] == "").all()
    for task_id, source, language in [("dim7_hex_python_Python/1", "hex", "python"),
                                      ("dim2_lcb_abc364_c", "lcb", ""), ("dim1_bcb_BigCodeBench/21", "bcb", ""),
                                      ("dim1_humaneval_HumanEval_65", "humaneval", "")]:
        assert (tasks.loc[task_id, "source"], tasks.loc[task_id, "language"]) == (source, language)
    assert tasks["group"].equals(tasks["source"])
    assert tasks["category"].nunique() == 9
    peers = [c for c in tasks.columns if c.startswith("peer:")]
    assert len(peers) == 10 and "peer:acrouter_released" in peers
    assert tasks[peers].isin(table.model_names).all().all()
    assert set(table.signals) == {"latency_ms", "input_tokens", "output_tokens"}


@pytest.mark.parametrize(("name", "n_tasks", "gpt4", "cost", "oracle"), [
    ("routerbench-mbpp", 427, 0.686, 4.00, 0.867),
    ("routerbench-winogrande", 1267, 0.859, 4.47, 0.999),
    # 14 ARC ids are split over two rows (one holds only gpt-3.5's result, at twice the cost): merged,
    # gpt-4 pays $7.39 rather than the $7.53 of summing every row, and the per-task oracle is 0.987.
    ("routerbench-arc", 1470, 0.954, 7.39, 0.987),
])
def test_routerbench(name: str, n_tasks: int, gpt4: float, cost: float, oracle: float, data_dir: Path) -> None:
    table = load(name, data_dir)
    assert (table.n_tasks, table.n_models) == (n_tasks, 11)
    got = figures(table, "gpt-4-1106-preview")
    assert got == pytest.approx((gpt4, cost, oracle), abs=0.005)
    assert set(table.tasks["split"]) == {"train", "test"}
    assert (table.tasks["source"] == "routerbench").all()
    assert not table.tasks["text"].str.startswith("['").any()
    assert "oracle_model_to_route_to" not in table.tasks.columns
    assert table.signals["response"].dtype == object and "response" in table.observable_signals


@pytest.mark.parametrize(("name", "n_tasks", "weak", "strong", "oracle"), [
    ("routellm-mmlu", 13932, 0.680, 0.806, 0.859),
    ("routellm-gsm8k", 1307, 0.637, 0.858, 0.930),
    ("routellm-mtbench", 72, 0.828, 0.921, 0.932),
])
def test_routellm(name: str, n_tasks: int, weak: float, strong: float, oracle: float, data_dir: Path) -> None:
    table = load(name, data_dir)
    assert table.model_names == [routellm.WEAK, routellm.STRONG]
    assert table.n_tasks == n_tasks
    assert tuple(table.mean_score()) == pytest.approx((weak, strong), abs=0.001)
    assert table.score.max(axis=1).mean() == pytest.approx(oracle, abs=0.001)
    np.testing.assert_array_equal(table.cost_usd, np.tile([0.0, 1.0], (n_tasks, 1)))
    assert table.metadata["cost_unit"] == "strong-call share"
    assert table.metadata["excluded_contaminated"] > 0


def test_routellm_mmlu_details_and_prices(data_dir: Path) -> None:
    table = load("routellm-mmlu", data_dir)
    assert table.tasks["category"].nunique() == 57
    assert table.metadata["dropped_duplicate_prompts"] == 105
    priced = routellm.load_gsm8k(data_dir, usd_per_call={routellm.WEAK: 0.001, routellm.STRONG: 0.03})
    assert priced.total_cost_usd() == pytest.approx([1.307, 39.21])
    assert priced.metadata["cost_unit"].startswith("usd")


def test_routerbench_combined_is_the_three_benchmarks_as_groups(data_dir: Path) -> None:
    table = load("routerbench", data_dir)
    parts = [load(name, data_dir) for name in ("routerbench-arc", "routerbench-mbpp", "routerbench-winogrande")]
    assert (table.n_tasks, table.n_models) == (3164, 11)
    assert all(p.model_names == table.model_names for p in parts)
    assert table.tasks["category"].value_counts().to_dict() == {"arc-challenge": 1470, "winogrande": 1267, "mbpp": 427}
    assert table.tasks["source"].equals(table.tasks["category"])
    mbpp = parts[1]
    np.testing.assert_array_equal(table.score[table.tasks.index.get_indexer(mbpp.tasks.index)], mbpp.score)

