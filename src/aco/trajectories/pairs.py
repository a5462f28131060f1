"""Cheap -> strong pairs on SWE-bench Verified for the escalate-at-K evaluation, read from the real files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aco.datasets.generic import iter_jsonl
from aco.datasets.table import OutcomeTable
from aco.errors import AcoError, DataError
from aco.records import ModelSpec
from aco.trajectories.loader import Trajectory, TrajectoryFile, load_trajectory_file
from aco.trajectories.pricing import stated_price

LM32B_FILE = "sweagent_lm32b_first6.jsonl"
SONNET_FILE = "sweagent_claude4sonnet_first6.jsonl"
GEMINI_FILE = "mini_gemini3pro_first6.jsonl"
SONNET_SYSTEM = "sweagent:20250522_sweagent_claude-4-sonnet-20250514"
PAIRS = ("lm32b-sonnet", "gemini-opus")
PAIR_MODELS = {"lm32b-sonnet": ("SWE-agent-LM-32B", "Claude 4 Sonnet (20250514)"),
               "gemini-opus": ("Gemini 3 Pro Preview (2025-11-18)", "Claude 4.5 Opus medium (20251101)")}


@dataclass(frozen=True)
class Pair:
    """Every task of the cheap file, its trajectory where one exists, and both models' whole-run outcomes.

    The outcome arrays are evaluator-only; features see `trajectories` and `texts` only.
    """

    name: str
    description: str
    task_ids: tuple[str, ...]
    has_turns: np.ndarray
    trajectories: dict[str, Trajectory]
    texts: dict[str, str]
    cheap_success: np.ndarray
    strong_success: np.ndarray
    cheap_cost_usd: np.ndarray
    strong_cost_usd: np.ndarray


def _texts(data_dir: Path) -> dict[str, str]:
    path = data_dir / "swebench-verified" / "instances.jsonl"
    if not path.is_file():
        raise DataError("instances file not found", path=path)
    return {str(r["instance_id"]): str(r.get("problem_statement", "")) for _, r in iter_jsonl(path)}


def _leaderboard(data_dir: Path, model: str) -> pd.DataFrame:
    path = data_dir / "swebench-verified" / "per_instance_long.csv"
    frame = pd.read_csv(path)
    rows = frame[frame["model"] == model].set_index("instance_id")
    if rows.empty:
        raise DataError(f"no rows for model {model!r}", path=path, field="model")
    return rows


def _sonnet_costs(data_dir: Path, task_ids: list[str]) -> np.ndarray:
    """Claude 4 Sonnet's recorded SWE-agent cost where known, else its mini-SWE-agent cost on the same task."""
    path = data_dir / "swebench-verified" / "outcomes_all_systems.jsonl"
    recorded: dict[str, float] = {}
    for _, row in iter_jsonl(path):
        if row.get("system_id") == SONNET_SYSTEM and row.get("cost_usd") is not None:
            recorded[str(row["instance_id"])] = float(row["cost_usd"])
    mini = _leaderboard(data_dir, "Claude 4 Sonnet (20250514)")["cost_usd"]
    return np.array([recorded.get(t, float(mini.get(t, np.nan))) for t in task_ids])


def _from_file(file: TrajectoryFile, task_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    has = np.array([t in file.trajectories for t in task_ids])
    ok = np.array([file.outcomes[t].resolved for t in task_ids])
    return has, ok


def load_pair(name: str, data_dir: Path) -> Pair:
    """`lm32b-sonnet` (same agent, SWE-agent 1.0.1) or `gemini-opus` (mini-SWE-agent, independent runs)."""
    folder = data_dir / "swebench-verified" / "trajectories"
    texts = _texts(data_dir)
    if name == "lm32b-sonnet":
        price = stated_price("SWE-agent-LM-32B")
        cheap = load_trajectory_file(folder / LM32B_FILE, price)
        strong = load_trajectory_file(folder / SONNET_FILE)
        ids = list(cheap.outcomes)
        has, cheap_ok = _from_file(cheap, ids)
        cheap_cost = np.array([price.cost_usd(cheap.outcomes[t].tokens_sent, cheap.outcomes[t].tokens_received)
                               for t in ids])
        strong_ok = np.array([strong.outcomes[t].resolved for t in ids])
        strong_cost = _sonnet_costs(data_dir, ids)
        description = ("SWE-agent-LM-32B -> Claude 4 Sonnet, same agent (SWE-agent 1.0.1); escalation = Sonnet's "
                       f"independent full run; LM-32B tokens priced at ${price.usd_per_mtok_input}/M")
    elif name == "gemini-opus":
        cheap = load_trajectory_file(folder / GEMINI_FILE)
        ids = list(cheap.outcomes)
        has, cheap_ok = _from_file(cheap, ids)
        cheap_cost = np.array([cheap.outcomes[t].instance_cost_usd for t in ids])
        opus = _leaderboard(data_dir, "Claude 4.5 Opus medium (20251101)").reindex(ids)
        strong_ok, strong_cost = opus["resolved"].to_numpy(bool), opus["cost_usd"].to_numpy(float)
        description = ("Gemini 3 Pro -> Claude 4.5 Opus, cross-run: both mini-SWE-agent leaderboard systems, "
                       "escalation = Opus's independent full run (not a continuation of Gemini's trajectory)")
    else:
        raise AcoError(f"unknown pair {name!r}; choose one of {', '.join(PAIRS)}")
    return Pair(name=name, description=description, task_ids=tuple(ids), has_turns=has,
                trajectories=dict(cheap.trajectories), texts=texts, cheap_success=cheap_ok,
                strong_success=strong_ok, cheap_cost_usd=cheap_cost, strong_cost_usd=strong_cost)


def pair_table(pair: Pair) -> OutcomeTable:
    """The pair's tasks with turns as an outcome table over (cheap, strong): resolved and cost of each model's run,
    the problem statement as text, the repository as category, and the cheap run's turns (a tuple of `Turn`) in
    the task column `turns` (what a value head reads at turn K; the whole-run outcome stays in score and cost)."""
    rows = np.flatnonzero(pair.has_turns)
    ids = [pair.task_ids[i] for i in rows]
    repos = [t.split("__")[0] if "__" in t else "" for t in ids]
    tasks = pd.DataFrame({"text": [pair.texts.get(t, "") for t in ids], "category": repos, "source": pair.name,
                          "group": repos}, index=pd.Index(ids, name="task_id"))
    tasks["turns"] = pd.Series([pair.trajectories[t].turns for t in ids], index=tasks.index, dtype=object)
    cheap, strong = PAIR_MODELS[pair.name]
    cost = np.column_stack([pair.cheap_cost_usd[rows], pair.strong_cost_usd[rows]])
    models = (ModelSpec(name=cheap, tier=1), ModelSpec(name=strong, tier=2))
    score = np.column_stack([pair.cheap_success[rows], pair.strong_success[rows]]).astype(float)
    return OutcomeTable(name=f"swebench-{pair.name}", tasks=tasks, models=models, score=score, cost_usd=cost,
                        metadata={"description": pair.description})


def load_pair_table(data_dir: Path, name: str = "lm32b-sonnet") -> OutcomeTable:
    """`pair_table` of a named pair read from the data directory."""
    return pair_table(load_pair(name, data_dir))
