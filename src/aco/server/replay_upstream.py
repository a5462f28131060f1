"""A replay upstream: an OpenAI-compatible endpoint serving RouterBench's real recorded responses.

For a (model, prompt) pair recorded in `routerbench/*.csv` it answers with that model's recorded response and
reports the recorded cost (`x-replay-cost-usd`) and benchmark verdict (`x-replay-correct`, for outcome reports
only: never a routing feature). An unknown prompt or model gets an honest 404 in OpenAI's error format.
"""

from __future__ import annotations

import ast
import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from aco.errors import DataError

ROUTERBENCH_FILES = ("arc_challenge", "mbpp", "winograde")
_SPLITS = ("train", "test")


def prompt_text(raw: str) -> str:
    """The chat text of a RouterBench prompt cell (stored as a Python list literal of strings)."""
    raw = str(raw)
    if raw.startswith("[") and raw.endswith("]"):
        try:
            parts = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw.strip()
        if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
            return "\n".join(parts).strip()
    return raw.strip()


@dataclass(frozen=True)
class Recorded:
    """One recorded answer."""

    sample_id: str
    eval_name: str
    response: str
    cost_usd: float
    correct: float


class ReplayBook:
    """Every recorded (prompt, model) -> response, cost and verdict, indexed by prompt text."""

    def __init__(self, frames: list[pd.DataFrame]) -> None:
        self.models: list[str] = []
        self._rows: dict[str, dict[str, Recorded]] = {}
        for frame in frames:
            self._add(frame)

    def _add(self, frame: pd.DataFrame) -> None:
        models = [c.split("|")[0] for c in frame.columns if c.endswith("|model_response")]
        self.models = sorted(set(self.models) | set(models))
        texts = [prompt_text(p) for p in frame["prompt"].tolist()]
        for model in models:
            responses = frame[f"{model}|model_response"].tolist()
            costs = pd.to_numeric(frame[f"{model}|total_cost"], errors="coerce").tolist()
            correct = pd.to_numeric(frame[model], errors="coerce").tolist()
            for i, text in enumerate(texts):
                if not isinstance(responses[i], str) or pd.isna(costs[i]):
                    continue
                self._rows.setdefault(text, {})[model] = Recorded(
                    str(frame["sample_id"].iat[i]), str(frame["eval_name"].iat[i]), prompt_text(responses[i]),
                    float(costs[i]), float(correct[i]))

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> ReplayBook:
        folder = Path(data_dir) / "routerbench"
        frames = []
        for name in ROUTERBENCH_FILES:
            for split in _SPLITS:
                path = folder / f"{name}_{split}.csv"
                if not path.is_file():
                    raise DataError("RouterBench file not found (set --data-dir or ACO_DATA_DIR)", path=path)
                frame = pd.read_csv(path)
                missing = {"sample_id", "prompt", "eval_name"} - set(frame.columns)
                if missing:
                    raise DataError(f"missing columns {sorted(missing)}", path=path)
                frames.append(frame)
        return cls(frames)

    def __len__(self) -> int:
        return len(self._rows)

    def lookup(self, text: str, model: str) -> Recorded | None:
        return self._rows.get(text.strip(), {}).get(model)

    def has_prompt(self, text: str) -> bool:
        return text.strip() in self._rows

    def prompts(self) -> list[str]:
        return list(self._rows)


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


def _completion(model: str, rec: Recorded) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-replay-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": rec.response}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "x_replay": {"sample_id": rec.sample_id, "eval_name": rec.eval_name, "cost_usd": rec.cost_usd,
                     "correct": rec.correct if math.isfinite(rec.correct) else None},
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


def create_replay_app(book: ReplayBook, *, chunk_delay_ms: float = 0.0) -> Starlette:
    """The replay upstream as an ASGI app (`POST /v1/chat/completions`, `GET /v1/models`, `GET /healthz`)."""

    async def chat(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "request body is not valid JSON", "invalid_json")
        text = _messages_text(body)
        model = body.get("model") if isinstance(body, dict) else None
        if text is None or not isinstance(model, str):
            return _error(400, "need 'model' and 'messages' (a list of {role, content})", "invalid_request")
        if model not in book.models:
            return _error(404, f"model {model!r} has no recorded responses; known: {book.models}", "model_not_found")
        rec = book.lookup(text, model)
        if rec is None:
            what = "this prompt is not in the RouterBench recordings" if not book.has_prompt(text) else \
                f"no recorded response of {model!r} for this prompt"
            return _error(404, f"replay upstream: {what}", "prompt_not_recorded")
        headers = {"x-replay-cost-usd": repr(rec.cost_usd), "x-replay-sample-id": rec.sample_id}
        if math.isfinite(rec.correct):  # a few recordings have a response but no verdict
            headers["x-replay-correct"] = repr(rec.correct)
        if body.get("stream"):
            return StreamingResponse(_sse(model, rec, chunk_delay_ms / 1000.0), media_type="text/event-stream",
                                     headers=headers)
        return JSONResponse(_completion(model, rec), headers=headers)

    async def models(_: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": m, "object": "model"} for m in book.models]})

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "prompts": len(book)})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/v1/models", models, methods=["GET"]),
                             Route("/healthz", healthz, methods=["GET"])])
