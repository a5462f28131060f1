"""Parity of a served router with `aco bench`: replay a split's test tasks through a running `aco serve` over HTTP
and compare every live decision, cost and outcome with the replay of the same router on the same split.

The artifact must have been trained on the split's training tasks (`aco train --holdout`; checked by its
training fingerprint). The replayed side is `aco bench`'s own code path (`replay` with the training tasks as
the training table and the test tasks as the test table), refitting the artifact's router spec and parameters.
The live side sends each test task to the profile (`model = "aco/<profile>"`) against the replay upstream:
- a RouterBench task is one request (its prompt; the recorded task named in `metadata.aco_replay_task`), and a
  cascade escalates inside it;
- a trajectory task (a `turns` column, e.g. `swebench-lm32b-sonnet`) is the recorded cheap turns sent one by one
  as chat messages with tool calls, then one request for the rest of the task (`metadata.aco_replay = "rest"`):
  the value head decides at turn K from the conversation it receives.
Compared per task: the final model (and, for single requests, every model called against the paid runs),
whether the task was given up, the cost (every call's recorded cost against the replayed cost) and the outcome.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from aco.artifacts import fingerprint, load_router
from aco.datasets.table import OutcomeTable
from aco.errors import AcoError
from aco.evaluation.protocol import holdout_split, kfold_splits
from aco.evaluation.replay import RouterRun, replay
from aco.routers.decision import TURNS_COLUMN
from aco.routers.registry import make_router

COST_TOLERANCE_USD = 1e-9


@dataclass(frozen=True)
class LiveTask:
    """What the proxy did for one task: the models it called (in order), the final one, cost and outcome."""

    task_id: str
    model: str
    called: tuple[str, ...]
    cost_usd: float
    score: float
    gave_up: bool
    decision_ids: tuple[str, ...]
    propensity: float


@dataclass
class ParityReport:
    """Live against replayed, per task and in total."""

    dataset: str
    profile: str
    router: str
    holdout: str
    n_tasks: int
    live_cost_usd: float
    replayed_cost_usd: float
    live_success: float
    replayed_success: float
    differences: list[dict[str, Any]] = field(default_factory=list)
    live: list[LiveTask] = field(default_factory=list)

    @property
    def differing_decisions(self) -> int:
        return len({d["task_id"] for d in self.differences if d["field"] in ("model", "called", "gave_up")})

    @property
    def same_total_to_the_cent(self) -> bool:
        return round(self.live_cost_usd, 2) == round(self.replayed_cost_usd, 2)

    @property
    def ok(self) -> bool:
        return not self.differences and self.same_total_to_the_cent

    def summary(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "profile": self.profile, "router": self.router, "holdout": self.holdout,
                "tasks": self.n_tasks, "differing_decisions": self.differing_decisions,
                "differences": len(self.differences), "live_cost_usd": self.live_cost_usd,
                "replayed_cost_usd": self.replayed_cost_usd, "live_success": self.live_success,
                "replayed_success": self.replayed_success, "parity": self.ok}

    def to_json(self) -> dict[str, Any]:
        return {**self.summary(), "differences_list": self.differences, "live": [asdict(t) for t in self.live]}


def _headers(table: OutcomeTable, row: int) -> dict[str, str]:
    tasks = table.tasks
    return {"x-aco-task-id": table.task_ids[row], "x-aco-category": str(tasks["category"].iloc[row]),
            "x-aco-source": str(tasks["source"].iloc[row])}


def _post(client: httpx.Client, profile: str, messages: list[dict[str, Any]], headers: dict[str, str],
          meta: dict[str, str]) -> httpx.Response:
    reply = client.post("/v1/chat/completions", headers=headers,
                        json={"model": f"aco/{profile}", "messages": messages, "metadata": meta})
    if reply.status_code != 200:
        raise AcoError(f"task {headers['x-aco-task-id']!r}: the proxy answered HTTP {reply.status_code}: "
                       f"{reply.text[:300]}")
    return reply


def _calls(reply: httpx.Response) -> list[str]:
    body = reply.json()
    aco = body.get("aco", {}) if isinstance(body, dict) else {}
    return [str(a["model"]) for a in aco.get("attempts", [])]


def _one_request(client: httpx.Client, profile: str, table: OutcomeTable, row: int) -> LiveTask:
    headers = _headers(table, row)
    text = str(table.tasks["text"].iloc[row])
    reply = _post(client, profile, [{"role": "user", "content": text}], headers,
                  {"aco_replay_task": headers["x-aco-task-id"]})
    return _live(headers["x-aco-task-id"], [reply])


def _trajectory(client: httpx.Client, profile: str, table: OutcomeTable, row: int, k: int) -> LiveTask:
    """The recorded cheap turns 1..K as a growing conversation, then the rest of the task."""
    headers = _headers(table, row)
    turns = table.tasks[TURNS_COLUMN].iloc[row]
    messages: list[dict[str, Any]] = [{"role": "user", "content": str(table.tasks["text"].iloc[row])}]
    replies = []
    for t in range(k + 1):
        meta = {"aco_replay_task": headers["x-aco-task-id"], **({"aco_replay": "rest"} if t == k else {})}
        replies.append(_post(client, profile, messages, headers, meta))
        if t == k or replies[-1].headers.get("x-aco-action") == "stop":
            break
        turn = turns[t] if t < len(turns) else None
        if turn is None:
            continue
        call_id = f"call_{t + 1}"
        message: dict[str, Any] = {"role": "assistant", "content": turn.thought}
        if turn.action:
            message["tool_calls"] = [{"id": call_id, "type": "function", "function": {
                "name": "bash", "arguments": json.dumps({"command": turn.action})}}]
        messages.append(message)
        messages.append({"role": "tool", "tool_call_id": call_id, "content": turn.observation} if turn.action
                        else {"role": "user", "content": turn.observation})
    return _live(headers["x-aco-task-id"], replies)


def _live(task_id: str, replies: list[httpx.Response]) -> LiveTask:
    called: list[str] = []
    for reply in replies:
        for model in _calls(reply):
            if not called or called[-1] != model:
                called.append(model)
    last = replies[-1]
    gave_up = last.headers.get("x-aco-action") == "stop"
    propensity = float(last.json().get("aco", {}).get("propensity", 1.0))
    return LiveTask(task_id=task_id, model="" if gave_up else last.headers.get("x-aco-model", ""),
                    called=tuple(called), cost_usd=sum(float(r.headers.get("x-aco-cost-usd", "0")) for r in replies),
                    score=0.0 if gave_up else float(last.headers.get("x-replay-correct", "nan")), gave_up=gave_up,
                    decision_ids=tuple(r.headers.get("x-aco-decision-id", "") for r in replies), propensity=propensity)


def replayed_run(artifact_metadata: Mapping[str, Any], train: OutcomeTable, test: OutcomeTable) -> RouterRun:
    """`aco bench`'s replay of the artifact's router spec and parameters, fitted on `train`, routing `test`."""
    router = make_router(str(artifact_metadata["router"]), **dict(artifact_metadata["params"]))
    router.spec_ = str(artifact_metadata.get("spec", artifact_metadata["router"]))  # type: ignore[attr-defined]
    return replay(router, train, kfold_splits(train.n_tasks, 1), test_table=test, sweep=False)


def _compare(test: OutcomeTable, run: RouterRun, live: list[LiveTask], trajectory: bool) -> list[dict[str, Any]]:
    names = test.model_names
    decisions = run.decisions
    cost, score = decisions.cost_usd(test), decisions.score(test)
    gave_up = np.zeros(test.n_tasks, bool) if decisions.no_result is None else decisions.no_result
    paid = decisions.paid
    out: list[dict[str, Any]] = []
    for i, task in enumerate(live):
        expected: dict[str, Any] = {"model": "" if gave_up[i] else names[decisions.model_idx[i]],
                                    "gave_up": bool(gave_up[i]), "cost_usd": float(cost[i]),
                                    "score": float(score[i])}
        got: dict[str, Any] = {"model": task.model, "gave_up": task.gave_up, "cost_usd": task.cost_usd,
                               "score": task.score}
        if not trajectory:
            expected["called"] = sorted(names[j] for j in np.flatnonzero(paid[i]))
            got["called"] = sorted(task.called)
        for key, value in expected.items():
            same = abs(value - got[key]) <= COST_TOLERANCE_USD if key in ("cost_usd", "score") else value == got[key]
            if not same:
                out.append({"task_id": task.task_id, "field": key, "replayed": value, "live": got[key]})
    return out


def replay_live(url: str, profile: str, table: OutcomeTable, artifact: Path, *, holdout: str = "auto",
                timeout_s: float = 120.0, on_task: Callable[[int], None] | None = None,
                outcomes_key: str | None = None) -> ParityReport:
    """Replay the holdout's test tasks through the proxy at `url` and compare with `aco bench` (module docstring).

    With `outcomes_key`, every task's outcome (the replayed verdict of its final answer) is reported to
    `/v1/outcomes` after all decisions were made (so learning cannot change the compared decisions).
    """
    _, metadata = load_router(artifact)
    column = table.tasks["split"].to_numpy() if "split" in table.tasks.columns else None
    try:
        split = holdout_split(column, table.n_tasks, holdout)
    except ValueError as exc:
        raise AcoError(f"--holdout: {exc}") from None
    train, test = table.subset(split.train), table.subset(split.test)
    if metadata["training"]["fingerprint"] != fingerprint(train):
        raise AcoError(f"{artifact}: trained on other tasks than the training part of holdout {holdout!r} of "
                       f"{table.name}: train it with `aco train {table.name} --router "
                       f"{metadata['spec']} --holdout {holdout}`")
    run = replayed_run(metadata, train, test)
    trajectory = TURNS_COLUMN in test.tasks.columns
    k = int(metadata["params"].get("k", 3))
    live: list[LiveTask] = []
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s) as client:
        for row in range(test.n_tasks):
            live.append(_trajectory(client, profile, test, row, k) if trajectory
                        else _one_request(client, profile, test, row))
            if on_task is not None:
                on_task(row)
        if outcomes_key is not None:
            for task in live:
                client.post("/v1/outcomes", headers={"authorization": f"Bearer {outcomes_key}"}, json={
                    "task_id": task.task_id, "success": task.score >= test.success_threshold,
                    "score": min(max(task.score, 0.0), 1.0), "cost_usd": task.cost_usd, "verifier": "benchmark",
                    "decision_id": task.decision_ids[-1]}).raise_for_status()
    d = run.decisions
    return ParityReport(
        dataset=table.name, profile=profile, router=str(metadata["spec"]), holdout=holdout, n_tasks=test.n_tasks,
        live_cost_usd=float(sum(t.cost_usd for t in live)), replayed_cost_usd=float(d.cost_usd(test).sum()),
        live_success=float(np.mean([t.score for t in live])), replayed_success=float(d.score(test).mean()),
        differences=_compare(test, run, live, trajectory), live=live)
