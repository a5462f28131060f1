"""A replay upstream speaking OpenAI chat completions and Anthropic Messages (streaming and not), serving real
recorded responses: RouterBench's and SWE-bench agent turns (`replay_trajectories`).

For a (model, prompt) pair recorded in `routerbench/*.csv` it answers with that model's recorded response and
reports the recorded cost (`x-replay-cost-usd`) and benchmark verdict (`x-replay-correct`, for outcome reports
only: never a routing feature). For a trajectory model it answers the conversation's next recorded agent turn as
a tool call with the recorded usage. An unknown prompt or model gets an honest 404 in the API's error format.
The models `fault/malformed-json`, `fault/malformed-stream` (garbage from the first event) and
`fault/broken-stream` (garbage after a valid first event) misbehave on purpose, for fault tests.
"""

from __future__ import annotations

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

from aco.datasets.routerbench import unwrap_prompt
from aco.errors import DataError
from aco.server import sse
from aco.server.http import ApiError
from aco.server.protocols import anthropic
from aco.server.protocols.anthropic_stream import AnthropicWriter
from aco.server.protocols.chat import chunk, payload_chunks
from aco.server.replay_pairs import PairBook
from aco.server.replay_trajectories import TrajectoryBook, replay_payload
from aco.server.usage import estimate_tokens, from_chat, prompt_chars, to_anthropic

ROUTERBENCH_FILES = ("arc_challenge", "mbpp", "winograde")
_SPLITS = ("train", "test")


def prompt_text(raw: str) -> str:
    """The chat text of a RouterBench prompt or response cell (a Python list literal of strings): the same text
    `aco bench` reads (`aco.datasets.routerbench.unwrap_prompt`), so a replayed answer is the table's."""
    return unwrap_prompt(str(raw))


@dataclass(frozen=True)
class Recorded:
    """One recorded answer."""

    sample_id: str
    eval_name: str
    response: str
    cost_usd: float
    correct: float


class ReplayBook:
    """Every recorded (prompt, model) -> response, cost and verdict, indexed by prompt text and by sample id.

    A (prompt, model) recorded twice keeps its first recording with a verdict (else its first), as the RouterBench
    loader keeps a sample's first scored result per model."""

    def __init__(self, frames: list[pd.DataFrame]) -> None:
        self.models: list[str] = []
        self._rows: dict[str, dict[str, Recorded]] = {}
        self._by_sample: dict[str, dict[str, Recorded]] = {}
        for frame in frames:
            self._add(frame)

    def _add(self, frame: pd.DataFrame) -> None:
        models = [c.split("|")[0] for c in frame.columns if c.endswith("|model_response")]
        self.models = sorted(set(self.models) | set(models))
        texts = [prompt_text(p) for p in frame["prompt"].tolist()]
        sample_ids = [str(v) for v in frame["sample_id"].tolist()]
        eval_names = [str(v) for v in frame["eval_name"].tolist()]
        for model in models:
            responses = frame[f"{model}|model_response"].tolist()
            costs = pd.to_numeric(frame[f"{model}|total_cost"], errors="coerce").tolist()
            correct = pd.to_numeric(frame[model], errors="coerce").tolist()
            for i, text in enumerate(texts):
                if not isinstance(responses[i], str) or pd.isna(costs[i]):
                    continue
                rec = Recorded(sample_ids[i], eval_names[i], prompt_text(responses[i]), float(costs[i]),
                               float(correct[i]))
                for answers in (self._rows.setdefault(text.strip(), {}), self._by_sample.setdefault(sample_ids[i], {})):
                    kept = answers.get(model)
                    if kept is None or (not math.isfinite(kept.correct) and math.isfinite(rec.correct)):
                        answers[model] = rec

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

    def lookup(self, text: str, model: str, sample_id: str = "") -> Recorded | None:
        """The recording of `model` for this prompt (or for the named sample, when given: prompts recorded twice)."""
        answers = self._by_sample.get(sample_id) if sample_id else None
        return (answers or self._rows.get(text.strip(), {})).get(model)

    def has_prompt(self, text: str) -> bool:
        return text.strip() in self._rows

    def prompts(self) -> list[str]:
        return list(self._rows)


FAULT_MODELS = ("fault/malformed-json", "fault/malformed-stream", "fault/broken-stream")


def _error(status: int, message: str, code: str, api: str = "openai") -> JSONResponse:
    if api == "anthropic":
        return JSONResponse(anthropic.error_body(status, message), status_code=status)
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": code}},
                        status_code=status)


def _user_text(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None
    parts = []
    for message in body["messages"]:
        if not isinstance(message, dict):
            return None
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if message.get("role") == "user" and isinstance(content, str):
            parts.append(content)
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


async def _stream(payload: dict[str, Any], api: str, include_usage: bool, delay_s: float) -> AsyncIterator[bytes]:
    chunks = payload_chunks(payload)
    if api == "anthropic":
        start = from_chat(payload.get("usage"))
        writer = AnthropicWriter(str(payload.get("model", "")),
                                 {**to_anthropic(start), "output_tokens": 0} if start is not None else None)
        for i, chunk in enumerate(chunks):
            if delay_s and i:
                await asyncio.sleep(delay_s)
            for name, data in writer.feed(chunk):
                yield sse.encode(data, name)
        for name, data in writer.end():
            yield sse.encode(data, name)
        return
    for i, chunk in enumerate(chunks):
        if delay_s and i:
            await asyncio.sleep(delay_s)
        if chunk["choices"] or include_usage:
            yield sse.encode(chunk)
    yield sse.encode("[DONE]")


async def _fault_stream(model: str, api: str) -> AsyncIterator[bytes]:
    if model == "fault/broken-stream":
        first = chunk("chatcmpl-fault", model, {"role": "assistant", "content": "a valid start"})
        if api == "anthropic":
            for name, data in AnthropicWriter(model).feed(first):
                yield sse.encode(data, name)
        else:
            yield sse.encode(first)
    yield b"data: {this is not json\n\n"


def _fault(model: str, api: str, stream: bool) -> Response:
    if stream:
        return StreamingResponse(_fault_stream(model, api), media_type="text/event-stream")
    return Response(b"{this is not json", media_type="application/json")


def _resolve(book: ReplayBook, trajectories: TrajectoryBook | None, body: dict[str, Any], api: str,
             pairs: PairBook | None = None) -> tuple[dict[str, Any], dict[str, str]] | Response:
    model = body.get("model")
    text = _user_text(body)
    if text is None or not isinstance(model, str):
        return _error(400, "need 'model' and 'messages' (a list of {role, content})", "invalid_request", api)
    if pairs is not None and model in pairs.models:
        replied = pairs.reply(body)
        if isinstance(replied, str):
            return _error(404, f"replay upstream: {replied}", "task_not_recorded", api)
        return replied
    if trajectories is not None and model in trajectories.models:
        found = replay_payload(trajectories, model, body)
        if isinstance(found, str):
            return _error(404, f"replay upstream: {found}", "turn_not_recorded", api)
        return found
    if model not in book.models:
        known = book.models + (trajectories.models if trajectories is not None else [])
        return _error(404, f"model {model!r} has no recorded responses; known: {known}", "model_not_found", api)
    meta = body.get("metadata")
    rec = book.lookup(text, model, str(meta.get("aco_replay_task") or "") if isinstance(meta, dict) else "")
    if rec is None:
        what = "this prompt is not in the RouterBench recordings" if not book.has_prompt(text) else \
            f"no recorded response of {model!r} for this prompt"
        return _error(404, f"replay upstream: {what}", "prompt_not_recorded", api)
    headers = {"x-replay-cost-usd": repr(rec.cost_usd), "x-replay-sample-id": rec.sample_id}
    if math.isfinite(rec.correct):  # a few recordings have a response but no verdict
        headers["x-replay-correct"] = repr(rec.correct)
    return _completion(model, rec), headers


def create_replay_app(book: ReplayBook, *, trajectories: TrajectoryBook | None = None,
                      chunk_delay_ms: float = 0.0, pairs: PairBook | None = None) -> Starlette:
    """The replay upstream as an ASGI app: `POST /v1/chat/completions` (OpenAI), `POST /v1/messages` and
    `/v1/messages/count_tokens` (Anthropic), `GET /v1/models`, `GET /healthz`; `pairs` adds a pair's recorded runs
    for parity checks (`aco.server.replay_pairs`)."""

    async def answer(request: Request, api: str) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "request body is not valid JSON", "invalid_json", api)
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object", "invalid_json", api)
        try:
            canonical = anthropic.request_to_chat(body) if api == "anthropic" else body
        except ApiError as exc:
            return _error(exc.status, exc.message, exc.code, api)
        stream = bool(body.get("stream"))
        if canonical.get("model") in FAULT_MODELS:
            return _fault(str(canonical["model"]), api, stream)
        found = _resolve(book, trajectories, canonical, api, pairs)
        if isinstance(found, Response):
            return found
        payload, headers = found
        if stream:
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            return StreamingResponse(_stream(payload, api, include_usage, chunk_delay_ms / 1000.0),
                                     media_type="text/event-stream", headers=headers)
        return JSONResponse(anthropic.payload_to_message(payload) if api == "anthropic" else payload,
                            headers=headers)

    async def chat(request: Request) -> Response:
        return await answer(request, "openai")

    async def messages(request: Request) -> Response:
        return await answer(request, "anthropic")

    async def count_tokens(request: Request) -> Response:
        try:
            canonical = anthropic.request_to_chat(json.loads(await request.body()), need_max_tokens=False)
        except (ValueError, ApiError) as exc:
            return _error(400, str(exc), "invalid_request", "anthropic")
        return JSONResponse({"input_tokens": estimate_tokens(prompt_chars(canonical))})

    async def models(_: Request) -> Response:
        names = (book.models + (trajectories.models if trajectories is not None else [])
                 + (pairs.models if pairs is not None else []) + list(FAULT_MODELS))
        return JSONResponse({"object": "list", "data": [{"id": m, "object": "model", "type": "model"}
                                                        for m in names]})

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "prompts": len(book),
                             "trajectories": len(trajectories) if trajectories is not None else 0})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/v1/messages", messages, methods=["POST"]),
                             Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
                             Route("/v1/models", models, methods=["GET"]),
                             Route("/healthz", healthz, methods=["GET"])])
