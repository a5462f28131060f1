"""Several proxy replicas (separate `aco serve` uvicorn processes) on one PostgreSQL: concurrent calls for the
same tasks through different replicas never overspend a budget, lose no decision and attribute every outcome.

Needs a PostgreSQL server: set ACO_TEST_POSTGRES_URL=postgresql+psycopg://user:pw@127.0.0.1/db (skips
otherwise). The upstream is the replay upstream (real RouterBench responses and their recorded costs).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from aco.datasets.routerbench import unwrap_prompt
from aco.server.launch import free_port, start, stop, write_config
from aco.store import Store

KEY = "replicas-admin-key"
EXAMPLE = Path(__file__).parents[2] / "examples" / "aco.toml"
N_REPLICAS = 3
N_TASKS = 4
CALLS_PER_TASK = 12
BUDGET_USD = 0.012  # binding: fewer calls fit than are sent, whichever models the policy picks


@pytest.fixture(scope="module")
def postgres_url() -> str:
    url = os.environ.get("ACO_TEST_POSTGRES_URL", "")
    if not url:
        pytest.skip("no PostgreSQL server: set ACO_TEST_POSTGRES_URL=postgresql+psycopg://... to run the "
                    "multi-replica test")
    try:
        Store.open(url).close()  # also applies the migrations once, before the replicas start
    except Exception as exc:
        pytest.skip(f"PostgreSQL at ACO_TEST_POSTGRES_URL is unreachable: {type(exc).__name__}: {exc}")
    return url


@pytest.fixture(scope="module")
def replicas(postgres_url: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Base URLs of N_REPLICAS `aco serve` processes sharing `postgres_url`, behind no load balancer."""
    tmp = tmp_path_factory.mktemp("replicas")
    env = {"ACO_DATA_DIR": str(data_dir), "ACO_API_KEY": KEY}
    up_port = free_port()
    procs = [start(["replay-upstream", "--port", str(up_port)], env, f"http://127.0.0.1:{up_port}/healthz")]
    config = write_config(EXAMPLE, tmp / "aco.toml", up_port, postgres_url)
    bases = [f"http://127.0.0.1:{free_port()}" for _ in range(N_REPLICAS)]
    try:
        with ThreadPoolExecutor(max_workers=N_REPLICAS) as pool:  # migrated already: replicas start together
            procs += pool.map(lambda base: start(["serve", "--config", str(config), "--port", base.rsplit(":", 1)[1]],
                                                 env, f"{base}/healthz"), bases)
        yield bases
    finally:
        for proc in reversed(procs):
            stop(proc)


@dataclass(frozen=True)
class Call:
    task_id: str
    status: int
    decision_id: str = ""
    model: str = ""
    reserved_usd: float = 0.0
    cost_usd: float = 0.0
    correct: bool = False


def _prompts(data_dir: Path, n: int) -> list[str]:
    frame = pd.read_csv(data_dir / "routerbench" / "arc_challenge_test.csv", nrows=n)
    return [unwrap_prompt(p) for p in frame["prompt"]]


def _chat(base: str, task_id: str, category: str, prompt: str) -> Call:
    reply = httpx.post(f"{base}/v1/chat/completions", timeout=60.0, json={
        "model": "aco/default", "messages": [{"role": "user", "content": prompt}]}, headers={
        "x-aco-task-id": task_id, "x-aco-category": category, "x-aco-step": "edit",
        "x-aco-budget-usd": str(BUDGET_USD)})
    if reply.status_code != 200:
        return Call(task_id, reply.status_code)
    aco: dict[str, Any] = reply.json()["aco"]
    return Call(task_id, 200, reply.headers["x-aco-decision-id"], reply.headers["x-aco-model"],
                float(aco["reserved_usd"]), float(reply.headers["x-replay-cost-usd"]),
                float(reply.headers["x-replay-correct"]) >= 0.5)


def _report(base: str, call: Call) -> int:
    reply = httpx.post(f"{base}/v1/outcomes", timeout=60.0, headers={"authorization": f"Bearer {KEY}"},
                       json={"task_id": call.task_id, "decision_id": call.decision_id, "success": call.correct,
                             "cost_usd": call.cost_usd, "verifier": "benchmark"})
    return reply.status_code


def test_replicas_share_budgets_decisions_and_outcomes(replicas: list[str], postgres_url: str,
                                                       data_dir: Path) -> None:
    run = uuid.uuid4().hex[:10]  # the server may be shared: everything here is namespaced by this run
    category = f"replicas-{run}"
    prompts = _prompts(data_dir, CALLS_PER_TASK)
    jobs = [(replicas[(t + i) % len(replicas)], f"{run}-t{t}", prompts[i])
            for i in range(CALLS_PER_TASK) for t in range(N_TASKS)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        calls = list(pool.map(lambda job: _chat(job[0], job[1], category, job[2]), jobs))
    ok = [c for c in calls if c.status == 200]
    assert {c.status for c in calls} <= {200, 402}, Counter(c.status for c in calls)
    assert ok and len(ok) < len(calls), "the budget must admit some calls and reject others"

    with ThreadPoolExecutor(max_workers=8) as pool:  # outcomes go to a different replica than the call
        statuses = list(pool.map(lambda ic: _report(replicas[(ic[0] + 1) % len(replicas)], ic[1]), enumerate(ok)))
    assert statuses == [201] * len(ok)

    store = Store.open(postgres_url)
    try:
        for t in range(N_TASKS):
            task_id = f"{run}-t{t}"
            mine = [c for c in ok if c.task_id == task_id]
            budget_usd, reserved_usd, spent_usd = store.budget(task_id) or (0.0, -1.0, -1.0)
            assert budget_usd == pytest.approx(BUDGET_USD)
            assert reserved_usd == pytest.approx(0.0, abs=1e-12)  # no reservation leaked
            assert spent_usd == pytest.approx(sum(c.cost_usd for c in mine))  # no settlement lost
            # Admission reserves the expected cost atomically, so the budget can be exceeded only by what the
            # recorded costs exceeded their reservations, never by concurrent admissions across replicas.
            slack_usd = sum(max(0.0, c.cost_usd - c.reserved_usd) for c in mine)
            assert spent_usd <= BUDGET_USD + slack_usd + 1e-9
            stored = {d.decision_id: d for d in store.decisions(task_id=task_id)}
            assert sorted(stored) == sorted(c.decision_id for c in mine)  # no decision lost or invented
            assert all(stored[c.decision_id].chosen_model == c.model for c in mine)
            outcomes = store.outcomes(task_id=task_id)
            assert sorted(o.decision_id or "" for o in outcomes) == sorted(stored)
            assert all(o.model == stored[o.decision_id or ""].chosen_model for o in outcomes)
            assert all(o.category == category for o in outcomes)
        counts = {(m, n) for c, m, n, _, _ in store.category_model_stats() if c == category}
        assert counts == set(Counter(c.model for c in ok).items())  # the shared online-learning counts
    finally:
        store.close()
