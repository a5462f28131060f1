"""Translation round trips on every recorded case: each RouterBench response (3 tasks x 11 models) and each
recorded SWE-bench agent turn (a tool call with its usage), through Anthropic Messages and OpenAI Responses,
as payloads and as streams, keep the text, the tool calls, the stop reason and the usage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aco.records import Usage
from aco.server.protocols import anthropic, responses
from aco.server.protocols.anthropic_stream import AnthropicReader, AnthropicWriter
from aco.server.protocols.chat import ChatAccumulator, payload_chunks
from aco.server.protocols.responses_stream import ResponsesWriter
from aco.server.replay_trajectories import TrajectoryBook, replay_payload
from aco.server.replay_upstream import ReplayBook
from aco.server.usage import from_chat, to_chat

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _essence(payload: dict[str, Any]) -> tuple[Any, ...]:
    choice = payload["choices"][0]
    message = choice["message"]
    calls = [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"] or "{}"))
             for c in message.get("tool_calls") or []]
    return message.get("content") or "", calls, choice["finish_reason"], from_chat(payload.get("usage"))


def _via_anthropic(payload: dict[str, Any]) -> dict[str, Any]:
    return anthropic.message_to_payload(json.loads(json.dumps(anthropic.payload_to_message(payload))))


def _via_responses(payload: dict[str, Any]) -> dict[str, Any]:
    return responses.response_to_payload(json.loads(json.dumps(responses.payload_to_response(payload, {}))))


def _via_anthropic_stream(payload: dict[str, Any]) -> dict[str, Any]:
    writer, reader, acc = AnthropicWriter("m"), AnthropicReader(), ChatAccumulator()
    events = [e for c in payload_chunks(payload, 400) for e in writer.feed(c)] + writer.end()
    for name, data in events:
        for chunk in reader.feed(name, json.dumps(data)):
            acc.add(chunk)
    return acc.payload()


def _via_responses_stream(payload: dict[str, Any]) -> dict[str, Any]:
    writer = ResponsesWriter({}, "m")
    events = [e for c in payload_chunks(payload, 400) for e in writer.feed(c)] + writer.end()
    final = json.loads(json.dumps(events[-1]))
    assert final["type"] in ("response.completed", "response.incomplete")
    return responses.response_to_payload(final["response"])


PATHS = {"anthropic": _via_anthropic, "responses": _via_responses, "anthropic-stream": _via_anthropic_stream,
         "responses-stream": _via_responses_stream}


def _routerbench_cases(data_dir: Path) -> Iterator[dict[str, Any]]:
    book = ReplayBook.from_data_dir(data_dir)
    for i, prompt in enumerate(book.prompts()):
        for model in book.models:
            rec = book.lookup(prompt, model)
            if rec is not None:
                usage = to_chat(Usage(input_tokens=len(prompt) // 4, output_tokens=len(rec.response) // 4 + i % 3))
                yield {"id": "c", "model": model, "usage": usage, "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": rec.response}, "finish_reason":
                     ("stop", "length", "content_filter")[i % 3]}]}


def _trajectory_cases(data_dir: Path) -> Iterator[dict[str, Any]]:
    book = TrajectoryBook.from_data_dir(data_dir)
    for model in book.models:
        for instance in book.instances(model):
            messages: list[dict[str, Any]] = [{"role": "user", "content": instance}]
            while True:
                found = replay_payload(book, model, {"messages": messages})
                if isinstance(found, str):
                    break
                yield found[0]
                messages.append({"role": "assistant", "content": "x"})


@pytest.mark.parametrize("source", ["routerbench", "trajectories"])
def test_every_recorded_case_round_trips(data_dir: Path, source: str) -> None:
    cases = _routerbench_cases(data_dir) if source == "routerbench" else _trajectory_cases(data_dir)
    counted = 0
    for payload in cases:
        expected = _essence(payload)
        for name, path in PATHS.items():
            assert _essence(path(payload)) == expected, (name, payload["model"], expected[0][:80])
        counted += 1
    # every RouterBench response, every recorded agent turn (1,991 + 384 + 3,000)
    assert counted > (30_000 if source == "routerbench" else 5_300)
