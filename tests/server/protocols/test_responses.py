"""OpenAI Responses <-> canonical: requests (input items, function calls and outputs, tools, settings), payloads
both ways, and stream events checked by the official SDK's own stream state."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai._models import construct_type_unchecked
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent

from aco.server.http import ApiError
from aco.server.protocols import responses as r
from aco.server.protocols.chat import payload_chunks
from aco.server.protocols.responses_stream import ResponsesWriter
from tests.server.protocols.test_chat import PAYLOAD

TOOLS = [{"type": "function", "name": "shell", "parameters": {"type": "object"}, "strict": False}]
REQUEST: dict[str, Any] = {
    "model": "aco/agent", "instructions": "Be brief.", "max_output_tokens": 300, "tools": TOOLS,
    "tool_choice": {"type": "function", "name": "shell"}, "reasoning": {"effort": "low"}, "store": False,
    "input": [{"role": "user", "content": [{"type": "input_text", "text": "List files."}]},
              {"type": "reasoning", "id": "rs_1", "summary": []},
              {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Sure."}]},
              {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{\"cmd\": \"ls\"}"},
              {"type": "function_call_output", "call_id": "call_1", "output": "a.py"}]}


def test_request_to_chat() -> None:
    body = r.request_to_chat(REQUEST)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "List files."},
        {"role": "assistant", "content": "Sure.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "shell", "arguments": "{\"cmd\": \"ls\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "a.py"}]
    assert body["max_tokens"] == 300 and body["reasoning_effort"] == "low"
    assert body["tools"] == [{"type": "function", "function": {"name": "shell", "parameters": {"type": "object"},
                                                               "strict": False}}]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "shell"}}
    assert r.request_to_chat({"model": "m", "input": "hi"})["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(("body", "where"), [
    ({"model": "m", "input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"model": "m", "input": 3}, "input"),
    ({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
    ({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"model": "m", "input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
])
def test_unsupported_or_malformed_requests_are_400_naming_the_field(body: dict[str, Any], where: str) -> None:
    with pytest.raises(ApiError) as err:
        r.request_to_chat(body)
    assert err.value.status == 400 and err.value.message.startswith(where)


def test_payload_response_round_trip() -> None:
    response = r.payload_to_response(PAYLOAD, r.echo_request(REQUEST))
    assert [o["type"] for o in response["output"]] == ["message", "function_call", "function_call"]
    assert response["status"] == "completed" and response["usage"]["input_tokens"] == 10
    back = r.response_to_payload(response)
    choice, original = back["choices"][0], PAYLOAD["choices"][0]
    assert choice["message"]["content"] == original["message"]["content"]
    assert choice["message"]["tool_calls"] == original["message"]["tool_calls"]
    assert choice["finish_reason"] == "tool_calls" and back["usage"] == {
        **PAYLOAD["usage"], "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0}}
    for finish in ("stop", "length", "content_filter"):
        text_only = {"choices": [{"message": {"role": "assistant", "content": "x"}, "finish_reason": finish}]}
        again = r.response_to_payload(r.payload_to_response(text_only, {}))
        assert again["choices"][0]["finish_reason"] == finish


def sdk_final_response(events: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
    """The Response the openai SDK's stream helper assembles from our events (it raises on any bad order)."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=tools, text_format=omit)
    for data in json.loads(json.dumps(events)):
        state.handle_event(construct_type_unchecked(type_=ResponseStreamEvent, value=data))  # type: ignore[arg-type]
    return state._completed_response


def test_stream_events_assemble_in_the_sdk() -> None:
    writer = ResponsesWriter(r.echo_request(REQUEST), "m")
    events = [e for chunk in payload_chunks(PAYLOAD, 4) for e in writer.feed(chunk)] + writer.end()
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    final = sdk_final_response(events, TOOLS)
    assert final.output_text == PAYLOAD["choices"][0]["message"]["content"]
    calls = [o for o in final.output if o.type == "function_call"]
    assert [(c.call_id, c.arguments) for c in calls] == [
        (c["id"], c["function"]["arguments"]) for c in PAYLOAD["choices"][0]["message"]["tool_calls"]]
    assert final.usage.output_tokens == 4 and final.status == "completed"
    cut = ResponsesWriter({}, "m")
    done = [e for c in payload_chunks({"choices": [{"message": {"content": "x"}, "finish_reason": "length"}]})
            for e in cut.feed(c)] + cut.end()
    assert done[-1]["type"] == "response.incomplete"
    assert done[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
