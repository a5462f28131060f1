"""Real RouterBench traffic through a running proxy (tests, the dashboard benchmark, the screenshot script).

Each task is one recorded RouterBench prompt worked on in a few agent steps (`x-aco-step`); after a step whose
recorded answer is wrong (the replay upstream's `x-replay-correct`, standing in for the agent's own test), the
agent asks for a stronger model (`POST /v1/route` with `escalate`); a share of tasks runs under a tight budget,
so some calls are refused (402); the task's outcome is reported with the last answer's recorded verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from aco.records import STEP_KINDS
from aco.server.replay_upstream import prompt_text

ROUTERBENCH_CATEGORIES = {"arc_challenge": "arc-challenge", "mbpp": "mbpp", "winograde": "winogrande"}


@dataclass
class TrafficLog:
    """What the traffic did, as the client saw it."""

    calls: int = 0
    refused: int = 0
    escalations: int = 0
    outcomes: int = 0
    recorded_cost_usd: float = 0.0
    task_ids: list[str] = field(default_factory=list, repr=False)


def routerbench_prompts(data_dir: Path, per_file: int, seed: int = 0) -> list[tuple[str, str]]:
    """(prompt text, category) of `per_file` prompts drawn from each RouterBench test file."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, str]] = []
    for name, category in ROUTERBENCH_CATEGORIES.items():
        frame = pd.read_csv(Path(data_dir) / "routerbench" / f"{name}_test.csv", usecols=["prompt"])
        rows = rng.choice(len(frame), size=min(per_file, len(frame)), replace=False)
        out += [(prompt_text(frame["prompt"].iat[int(i)]), category) for i in rows]
    order = rng.permutation(len(out))
    return [out[int(i)] for i in order]


def send_traffic(base_url: str, api_key: str, prompts: list[tuple[str, str]], *, task_prefix: str = "task-",
                 profiles: tuple[str, ...] = ("default",), tight_budget_share: float = 0.1,
                 tight_budget_usd: float = 0.0002, seed: int = 0, timeout_s: float = 30.0) -> TrafficLog:
    """Work each prompt as one task of 1-3 steps through the proxy at `base_url` and report its outcome."""
    rng = np.random.default_rng(seed)
    log = TrafficLog()
    admin = {"authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, timeout=timeout_s) as client:
        for i, (text, category) in enumerate(prompts):
            task_id = f"{task_prefix}{i:05d}"
            profile = profiles[i % len(profiles)]
            headers = {"x-aco-task-id": task_id, "x-aco-category": category}
            if rng.random() < tight_budget_share:
                headers["x-aco-budget-usd"] = repr(tight_budget_usd)
            body = {"model": f"aco/{profile}", "messages": [{"role": "user", "content": text}]}
            correct: float | None = None
            for step in rng.choice(STEP_KINDS, size=int(rng.integers(1, 4))):
                reply = client.post("/v1/chat/completions", json=body, headers={**headers, "x-aco-step": str(step)})
                log.calls += 1
                if reply.status_code == 402:
                    log.refused += 1
                    break
                reply.raise_for_status()
                log.recorded_cost_usd += float(reply.headers.get("x-replay-cost-usd", 0.0))
                verdict = reply.headers.get("x-replay-correct")  # absent for the few recordings without one
                correct = None if verdict is None else float(verdict)
                if correct is not None and correct < 0.5:
                    routed = client.post("/v1/route", headers=headers, json={
                        "task_id": task_id, "profile": profile, "category": category, "escalate": True})
                    routed.raise_for_status()
                    log.escalations += 1
            log.task_ids.append(task_id)
            if correct is not None:
                client.post("/v1/outcomes", headers=admin, json={
                    "task_id": task_id, "success": correct >= 0.5, "verifier": "benchmark"}).raise_for_status()
                log.outcomes += 1
    return log
