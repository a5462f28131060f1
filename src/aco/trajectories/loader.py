"""Trajectory files (swebench-verified/trajectories/*.jsonl) as typed records.

A `Trajectory` holds only what the agent did turn by turn (plus task identity); the whole-run fields that
leak the outcome (resolved, exit_status, model_stats, posthoc_*) go to a separate `RunOutcome` that the
feature extractor never receives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aco.datasets.generic import iter_jsonl
from aco.errors import DataError
from aco.trajectories.pricing import TokenPrice

NAN = float("nan")


@dataclass(frozen=True, slots=True)
class Turn:
    """One agent turn: its text and, where recorded, its tokens and cost (NaN when unknown)."""

    index: int
    thought: str = ""
    action: str = ""
    observation: str = ""
    observation_chars: int = 0
    prompt_tokens: float = NAN
    completion_tokens: float = NAN
    cost_usd: float = NAN
    cached_prompt_tokens: float = NAN  # of prompt_tokens, read from the prompt cache (where recorded)
    reasoning_tokens: float = NAN  # of completion_tokens (where recorded)


@dataclass(frozen=True, slots=True)
class Trajectory:
    """The first turns of one run of one system on one task: no outcome, no whole-run statistics."""

    instance_id: str
    system_id: str
    model: str
    scaffold: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """Whole-run fields of one run: evaluator-only (they leak the outcome at turn K)."""

    instance_id: str
    resolved: bool
    exit_status: str = ""
    instance_cost_usd: float = NAN
    tokens_sent: float = NAN
    tokens_received: float = NAN
    api_calls: float = NAN


@dataclass(frozen=True)
class TrajectoryFile:
    """One file: trajectories where turns exist, outcomes for every task, reasons for the missing ones."""

    path: Path
    trajectories: Mapping[str, Trajectory]
    outcomes: Mapping[str, RunOutcome]
    missing_reasons: Mapping[str, str] = field(default_factory=dict)


def _num(value: Any, where: str, path: Path, line: int) -> float:
    if value is None or value == "" or value == "None":
        return NAN
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"not a number: {value!r}", path=path, line=line, field=where) from None


def _turn(raw: Mapping[str, Any], price: TokenPrice | None, path: Path, line: int) -> Turn:
    index = int(_num(raw.get("turn"), "turns.turn", path, line))
    prompt = _num(raw.get("prompt_tokens"), "turns.prompt_tokens", path, line)
    completion = _num(raw.get("completion_tokens"), "turns.completion_tokens", path, line)
    if math.isnan(prompt) and price is not None and "prompt_chars" in raw:
        prompt = _num(raw["prompt_chars"], "turns.prompt_chars", path, line) * price.tokens_per_char
        completion = _num(raw.get("completion_chars"), "turns.completion_chars", path, line) * price.tokens_per_char
    cost = _num(raw.get("cost_usd"), "turns.cost_usd", path, line)
    if math.isnan(cost) and price is not None and not math.isnan(prompt):
        cost = price.cost_usd(prompt, 0.0 if math.isnan(completion) else completion)
    observation = str(raw.get("observation") or "")
    obs_chars = _num(raw.get("observation_chars"), "turns.observation_chars", path, line)
    obs_chars = float(len(observation)) if math.isnan(obs_chars) else obs_chars
    return Turn(index=index, thought=str(raw.get("thought") or ""), action=str(raw.get("action") or ""),
                observation=observation, observation_chars=int(obs_chars),
                prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost,
                cached_prompt_tokens=_num(raw.get("cached_prompt_tokens"), "turns.cached_prompt_tokens", path, line),
                reasoning_tokens=_num(raw.get("reasoning_tokens"), "turns.reasoning_tokens", path, line))


def _outcome(row: Mapping[str, Any], path: Path, line: int) -> RunOutcome:
    stats = row.get("model_stats") or {}
    if "resolved" not in row:
        raise DataError("missing field", path=path, line=line, field="resolved")
    return RunOutcome(
        instance_id=str(row["instance_id"]), resolved=bool(row["resolved"]),
        exit_status=str(row.get("exit_status") or ""),
        instance_cost_usd=_num(stats.get("instance_cost"), "model_stats.instance_cost", path, line),
        tokens_sent=_num(stats.get("tokens_sent"), "model_stats.tokens_sent", path, line),
        tokens_received=_num(stats.get("tokens_received"), "model_stats.tokens_received", path, line),
        api_calls=_num(stats.get("api_calls"), "model_stats.api_calls", path, line))


def load_trajectory_file(path: Path, price: TokenPrice | None = None) -> TrajectoryFile:
    """Read one trajectory JSONL file; `price` fills per-turn tokens/cost where only characters are recorded."""
    if not path.is_file():
        raise DataError("trajectory file not found", path=path)
    trajectories: dict[str, Trajectory] = {}
    outcomes: dict[str, RunOutcome] = {}
    missing: dict[str, str] = {}
    for line, row in iter_jsonl(path):
        if "instance_id" not in row:
            raise DataError("missing field", path=path, line=line, field="instance_id")
        task = str(row["instance_id"])
        outcomes[task] = _outcome(row, path, line)
        turns = row.get("turns")
        if row.get("traj_available") and isinstance(turns, list) and turns:
            trajectories[task] = Trajectory(
                instance_id=task, system_id=str(row.get("system_id", "")), model=str(row.get("model", "")),
                scaffold=str(row.get("scaffold", "")),
                turns=tuple(_turn(t, price, path, line) for t in turns))
        else:
            missing[task] = str(row.get("missing_reason") or "no turns")
    return TrajectoryFile(path=path, trajectories=trajectories, outcomes=outcomes, missing_reasons=missing)
