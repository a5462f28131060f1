"""A replay upstream: an OpenAI-compatible endpoint serving real recorded responses, so everything runs offline.

- RouterBench (`ReplayBook`): for a (model, prompt) pair recorded in `routerbench/*.csv` (read by the same loader
  as `aco bench`, so text, response and cost are the table's) it answers with that model's recorded response.
- SWE-agent trajectories (`TrajectoryBook`, `--trajectories`): the cheap model's recorded turns one by one
  (thought as content, action as a `bash` tool call, the turn's tokens as usage), the rest of its run, or the
  strong model's independent full run, with their recorded costs.
Every answer reports its recorded cost (`x-replay-cost-usd`) and benchmark verdict (`x-replay-correct`, for
outcome reports only: never a routing feature). A request may name the recorded task in `metadata.aco_replay_task`
(prompts recorded twice); `metadata.aco_replay = "rest"` asks a trajectory for the rest of the run. An unknown
prompt or model gets an honest 404 in OpenAI's error format.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from aco.datasets.routerbench import BENCHMARKS, load_routerbench
from aco.datasets.table import OutcomeTable

TOOL = "bash"


@dataclass(frozen=True)
class Recorded:
    """One recorded answer."""

    sample_id: str
    eval_name: str
    response: str
    cost_usd: float
    correct: float


class ReplayBook:
    """Every recorded (prompt, model) -> response, cost and verdict, indexed by prompt text and by task id."""

    def __init__(self, tables: Sequence[OutcomeTable]) -> None:
        self.models: list[str] = []
        self._rows: dict[str, dict[str, Recorded]] = {}
        self._by_task: dict[str, dict[str, Recorded]] = {}
        for table in tables:
            self._add(table)

    def _add(self, table: OutcomeTable) -> None:
        self.models = sorted(set(self.models) | set(table.model_names))
        responses = table.signals.get("response")
        categories = table.tasks["category"].tolist()
        for i, (task_id, text) in enumerate(zip(table.task_ids, table.tasks["text"].tolist(), strict=True)):
            answers = {m: Recorded(task_id, str(categories[i]), "" if responses is None else str(responses[i, j]),
                                   float(table.cost_usd[i, j]), float(table.score[i, j]))
                       for j, m in enumerate(table.model_names)}
            self._by_task.setdefault(task_id, answers)
            self._rows.setdefault(str(text).strip(), answers)  # a prompt recorded twice: the first, unless named

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> ReplayBook:
        return cls([load_routerbench(Path(data_dir), name) for name in BENCHMARKS])

    def __len__(self) -> int:
        return len(self._rows)

    def lookup(self, text: str, model: str, task_id: str = "") -> Recorded | None:
        answers = self._by_task.get(task_id) if task_id else None
        return (answers or self._rows.get(text.strip(), {})).get(model)

    def has_prompt(self, text: str) -> bool:
        return text.strip() in self._rows

    def prompts(self) -> list[str]:
        return list(self._rows)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


class TrajectoryBook:
    """A cheap -> strong pair's recorded runs (`swebench-lm32b-sonnet`): turns, whole-run costs and verdicts."""

    def __init__(self, table: OutcomeTable) -> None:
        cost = table.cost_usd.mean(axis=0)
        self.cheap, self.strong = ((0, 1) if cost[0] <= cost[1] else (1, 0))
        self.table = table
        self.models = [table.model_names[self.cheap], table.model_names[self.strong]]
        self._row = {t: i for i, t in enumerate(table.task_ids)}
        self._by_text = {str(x).strip(): i for i, x in reversed(list(enumerate(table.tasks["text"].tolist())))}

    def row(self, task_id: str, statement: str) -> int | None:
        return self._row.get(task_id) if task_id else self._by_text.get(statement.strip())

    def reply(self, row: int, model: str, n_turns: int, rest: bool) -> tuple[dict[str, Any], float, float]:
        """(assistant message with usage, cost, verdict) for `model` with `n_turns` turns already taken."""
        turns = self.table.tasks["turns"].iloc[row]
        column = self.table.model_index(model)
        verdict = float(self.table.score[row, column])
        if column == self.strong:
            return _message(f"[recorded {model} run on this task, resolved={bool(verdict)}]"), \
                float(self.table.cost_usd[row, column]), verdict
        if rest or n_turns >= len(turns):
            so_far = sum(t.cost_usd for t in turns[:n_turns] if not math.isnan(t.cost_usd))
            remaining = max(float(self.table.cost_usd[row, column]) - so_far, 0.0)
            return _message(f"[the recorded {model} run continues after turn {n_turns} to its end, resolved="
                            f"{bool(verdict)}]"), remaining, verdict
        turn = turns[n_turns]
        message = _message(turn.thought, turn.action)
        message["usage"] = {"prompt_tokens": _number(turn.prompt_tokens),
                            "completion_tokens": _number(turn.completion_tokens)}
        return message, 0.0 if math.isnan(turn.cost_usd) else float(turn.cost_usd), verdict


def _message(content: str, command: str = "") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if command:
        message["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                                  "function": {"name": TOOL, "arguments": json.dumps({"command": command})}}]
    return {"message": message}


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": code}},
                        status_code=status)


def _messages_text(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None
    parts = []
    for message in body["messages"]:
        if not isinstance(message, dict):
            return None
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            parts.append(message["content"])
    return "\n".join(parts)


def _completion(model: str, message: Mapping[str, Any], usage: Mapping[str, Any] | None = None,
                extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return {
        "id": f"chatcmpl-replay-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "choices": [{"index": 0, "message": dict(message), "finish_reason": finish}],
        "usage": dict(usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
        **({"x_replay": dict(extra)} if extra else {}),
    }


async def _sse(model: str, rec: Recorded, delay_s: float, chunk_chars: int = 64) -> AsyncIterator[bytes]:
    cid = f"chatcmpl-replay-{uuid.uuid4().hex[:12]}"
    pieces = [rec.response[i:i + chunk_chars] for i in range(0, len(rec.response), chunk_chars)] or [""]
    for i, piece in enumerate(pieces):
        if delay_s:
            await asyncio.sleep(delay_s)
        delta: dict[str, Any] = {"content": piece}
        if i == 0:
            delta["role"] = "assistant"
        chunk = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    last = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    yield f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode()


def _replay_headers(cost_usd: float, correct: float, sample_id: str) -> dict[str, str]:
    return {"x-replay-cost-usd": repr(float(cost_usd)), "x-replay-correct": repr(float(correct)),
            "x-replay-sample-id": sample_id}


def _trajectory_reply(book: TrajectoryBook, body: dict[str, Any], model: str, meta: Mapping[str, Any]) -> Response:
    messages = body["messages"]
    statement = next((m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"), "")
    row = book.row(str(meta.get("aco_replay_task") or ""), statement if isinstance(statement, str) else "")
    if row is None:
        return _error(404, "replay upstream: this task is not in the recorded trajectories", "prompt_not_recorded")
    n_turns = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
    message, cost_usd, verdict = book.reply(row, model, n_turns, meta.get("aco_replay") == "rest")
    usage = message.pop("usage", None)
    body_out = _completion(model, message["message"], usage)
    return JSONResponse(body_out, headers=_replay_headers(cost_usd, verdict, book.table.task_ids[row]))


def create_replay_app(book: ReplayBook, *, chunk_delay_ms: float = 0.0,
                      trajectories: TrajectoryBook | None = None) -> Starlette:
    """The replay upstream as an ASGI app (`POST /v1/chat/completions`, `GET /v1/models`, `GET /healthz`)."""
    models = [*book.models, *(trajectories.models if trajectories else [])]

    async def chat(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "request body is not valid JSON", "invalid_json")
        text = _messages_text(body)
        model = body.get("model") if isinstance(body, dict) else None
        if text is None or not isinstance(model, str):
            return _error(400, "need 'model' and 'messages' (a list of {role, content})", "invalid_request")
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        if trajectories is not None and model in trajectories.models:
            return _trajectory_reply(trajectories, body, model, meta)
        if model not in book.models:
            return _error(404, f"model {model!r} has no recorded responses; known: {models}", "model_not_found")
        rec = book.lookup(text, model, str(meta.get("aco_replay_task") or ""))
        if rec is None:
            what = "this prompt is not in the RouterBench recordings" if not book.has_prompt(text) else \
                f"no recorded response of {model!r} for this prompt"
            return _error(404, f"replay upstream: {what}", "prompt_not_recorded")
        headers = _replay_headers(rec.cost_usd, rec.correct, rec.sample_id)
        if body.get("stream"):
            return StreamingResponse(_sse(model, rec, chunk_delay_ms / 1000.0), media_type="text/event-stream",
                                     headers=headers)
        extra = {"sample_id": rec.sample_id, "eval_name": rec.eval_name, "cost_usd": rec.cost_usd,
                 "correct": rec.correct}
        return JSONResponse(_completion(model, {"role": "assistant", "content": rec.response}, extra=extra),
                            headers=headers)

    async def list_models(_: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": m, "object": "model"} for m in models]})

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "prompts": len(book),
                             "trajectory_tasks": 0 if trajectories is None else trajectories.table.n_tasks})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/v1/models", list_models, methods=["GET"]),
                             Route("/healthz", healthz, methods=["GET"])])
