"""Anthropic streams: canonical chunks -> named SSE events (checked by the official SDK's own accumulator), and an
Anthropic upstream's events -> canonical chunks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent

from aco.server.protocols.anthropic import payload_to_message
from aco.server.protocols.anthropic_stream import AnthropicReader, AnthropicWriter, StreamError
from aco.server.protocols.chat import ChatAccumulator, payload_chunks
from tests.server.protocols.test_chat import PAYLOAD


def _sdk_message(events: list[tuple[str, dict[str, Any]]]) -> Any:
    """The Message the anthropic SDK assembles from our events (it raises on any out-of-order event)."""
    from anthropic._models import construct_type_unchecked

    snapshot = None
    bufs: dict[int, bytes] = {}
    for name, data in events:
        assert data["type"] == name
        event = construct_type_unchecked(type_=RawMessageStreamEvent, value=data)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
    return snapshot


def _write(payload: dict[str, Any], piece: int = 5) -> list[tuple[str, dict[str, Any]]]:
    writer = AnthropicWriter("m")
    events = [e for chunk in payload_chunks(payload, piece) for e in writer.feed(chunk)]
    return events + writer.end()


def test_writer_events_assemble_to_the_same_message_in_the_sdk() -> None:
    events = _write(PAYLOAD)
    assert [n for n, _ in events][:2] == ["message_start", "content_block_start"]
    assert events[-1][0] == "message_stop" and events[-2][0] == "message_delta"
    message = _sdk_message(events)
    expected = payload_to_message(PAYLOAD)
    assert [b.to_dict() for b in message.content] == expected["content"]
    assert message.stop_reason == "tool_use" and message.usage.input_tokens == 10
    assert message.usage.output_tokens == 4


def test_reader_turns_writer_events_back_into_the_payload() -> None:
    reader = AnthropicReader()
    acc = ChatAccumulator()
    for name, data in _write(PAYLOAD, 3):
        for chunk in reader.feed(name, json.dumps(data)):
            acc.add(chunk)
    back = acc.payload()["choices"][0]
    assert back["message"]["content"] == PAYLOAD["choices"][0]["message"]["content"]
    assert back["message"]["tool_calls"] == PAYLOAD["choices"][0]["message"]["tool_calls"]
    assert back["message"]["thinking_blocks"] == PAYLOAD["choices"][0]["message"]["thinking_blocks"]
    assert back["finish_reason"] == "tool_calls" and back["_stop_reason"] == "tool_use" and reader.stopped
    assert acc.usage["prompt_tokens"] == 10 and acc.usage["completion_tokens"] == 4


def test_reader_handles_an_anthropic_stream_with_ping_cache_usage_and_redacted_thinking() -> None:
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_x", "type": "message", "role": "assistant", "model": "claude", "content": [],
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 4000, "output_tokens": 1}}}),
        ("ping", {"type": "ping"}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "redacted_thinking", "data": "opaque"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "text_delta", "text": "Done."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "stop_sequence",
                                                              "stop_sequence": "###"},
                           "usage": {"output_tokens": 9}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    reader = AnthropicReader()
    acc = ChatAccumulator()
    chunks = [c for name, data in events for c in reader.feed(name, json.dumps(data))]
    for chunk in chunks:
        acc.add(chunk)
    assert chunks[0]["_input_usage"]["prompt_tokens"] == 4012  # known at message_start (bills a cut stream)
    payload = acc.payload()
    assert payload["id"] == "msg_x" and payload["choices"][0]["message"]["content"] == "Done."
    assert payload["choices"][0]["message"]["thinking_blocks"] == [{"type": "redacted_thinking", "data": "opaque"}]
    assert payload["choices"][0]["_stop_reason"] == "stop_sequence"
    assert payload["usage"]["prompt_tokens_details"]["cached_tokens"] == 4000
    assert payload["usage"]["completion_tokens"] == 9


@pytest.mark.parametrize(("name", "data", "match"), [
    ("content_block_delta", "{not json", "not JSON"),
    ("error", json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}), "busy"),
    ("content_block_delta", json.dumps({"type": "content_block_delta", "index": 4,
                                        "delta": {"type": "text_delta", "text": "x"}}), "before its"),
])
def test_reader_rejects_broken_streams(name: str, data: str, match: str) -> None:
    with pytest.raises(StreamError, match=match):
        AnthropicReader().feed(name, data)


def test_writer_refuses_interleaved_tool_arguments() -> None:
    writer = AnthropicWriter("m")
    writer.feed({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f"}}]}}]})
    writer.feed({"choices": [{"delta": {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g"}}]}}]})
    with pytest.raises(StreamError, match="tool call 0"):
        writer.feed({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]})
