"""Anthropic Messages <-> canonical: requests both ways (system, tool_use / tool_result, thinking, cache_control,
images, tool_choice, stop sequences), responses both ways, errors naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aco.server.http import ApiError
from aco.server.protocols import anthropic as a

CACHE = {"type": "ephemeral"}
REQUEST: dict[str, Any] = {
    "model": "claude", "max_tokens": 512, "temperature": 0.2, "stop_sequences": ["END"], "stream": True,
    "system": [{"type": "text", "text": "You are an agent.", "cache_control": CACHE}],
    "tools": [{"name": "bash", "description": "run", "input_schema": {"type": "object"}, "cache_control": CACHE},
              {"type": "web_search_20250305", "name": "web_search"}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    "thinking": {"type": "enabled", "budget_tokens": 1024}, "metadata": {"user_id": "u1"},
    "messages": [
        {"role": "user", "content": "Fix the bug."},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "look first", "signature": "sig=="},
            {"type": "text", "text": "Looking."},
            {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "ls"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.py", "cache_control": CACHE},
            {"type": "text", "text": "go on"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
    ]}


def test_request_to_chat() -> None:
    body = a.request_to_chat(REQUEST)
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    assert body["messages"][0]["content"] == [{"type": "text", "text": "You are an agent.", "cache_control": CACHE}]
    assistant = body["messages"][2]
    assert assistant["content"] == "Looking." and assistant["thinking_blocks"][0]["signature"] == "sig=="
    assert assistant["tool_calls"] == [{"id": "toolu_1", "type": "function",
                                        "function": {"name": "bash", "arguments": json.dumps({"command": "ls"})}}]
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "a.py",
                                   "cache_control": CACHE}
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    assert body["messages"][4]["content"][1] == image
    assert body["tools"][0]["cache_control"] == CACHE and body["tools"][1]["type"] == "anthropic"
    assert body["tool_choice"] == "required" and body["parallel_tool_calls"] is False
    assert body["stop"] == ["END"] and body["stream_options"] == {"include_usage": True} and body["user"] == "u1"
    assert body["_anthropic"] == {"thinking": REQUEST["thinking"], "metadata": {"user_id": "u1"}}


def test_request_round_trip_keeps_the_anthropic_request() -> None:
    back = a.chat_to_request(a.request_to_chat(REQUEST), "claude")
    for key in ("model", "max_tokens", "temperature", "stop_sequences", "stream", "system", "tools", "thinking",
                "metadata", "tool_choice"):
        assert back[key] == REQUEST[key], key
    assert back["messages"] == REQUEST["messages"]


def test_chat_to_request_merges_tool_results_and_hoists_system() -> None:
    body = {"model": "x", "max_completion_tokens": 99, "temperature": 1.7, "stop": "STOP",
            "tool_choice": {"type": "function", "function": {"name": "bash"}},
            "tools": [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}],
            "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"},
                         {"role": "assistant", "content": None, "tool_calls": [
                             {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}},
                             {"id": "c2", "type": "function", "function": {"name": "bash", "arguments": ""}}]},
                         {"role": "tool", "tool_call_id": "c1", "content": "one", "is_error": True},
                         {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "two"}]},
                         {"role": "developer", "content": "late rule"}]}
    out = a.chat_to_request(body, "claude-x")
    assert out["system"] == [{"type": "text", "text": "sys"}, {"type": "text", "text": "late rule"}]
    assert out["max_tokens"] == 99 and out["temperature"] == 1.0 and out["stop_sequences"] == ["STOP"]
    assert out["tool_choice"] == {"type": "tool", "name": "bash"}
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "c1", "content": "one", "is_error": True},
        {"type": "tool_result", "tool_use_id": "c2", "content": [{"type": "text", "text": "two"}]}]
    assert a.chat_to_request({"messages": [{"role": "user", "content": "x"}]}, "m")["max_tokens"] == \
        a.DEFAULT_MAX_TOKENS


@pytest.mark.parametrize(("request_body", "where"), [
    ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ({"model": "m", "max_tokens": 5, "messages": []}, "messages"),
    ({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
    ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"text": "x"}]}]},
     "messages[0].content[0]"),
    ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
     "messages[0].content[0].tool_use_id"),
    ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
      "tool_choice": {"type": "maybe"}}, "tool_choice.type"),
])
def test_malformed_requests_are_400_naming_the_field(request_body: dict[str, Any], where: str) -> None:
    with pytest.raises(ApiError) as err:
        a.request_to_chat(request_body)
    assert err.value.status == 400 and err.value.message.startswith(where)


MESSAGE: dict[str, Any] = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "stop_reason": "tool_use",
    "stop_sequence": None, "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "s1"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_9", "name": "bash", "input": {"command": "pytest -x"}}],
    "usage": {"input_tokens": 20, "output_tokens": 15, "cache_read_input_tokens": 1000,
              "cache_creation_input_tokens": 50}}


def test_message_payload_round_trips() -> None:
    payload = a.message_to_payload(MESSAGE)
    choice = payload["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] == "Let me check."
    assert payload["usage"]["prompt_tokens"] == 1070 and payload["usage"]["prompt_tokens_details"] == {
        "cached_tokens": 1000, "cache_write_tokens": 50}
    back = a.payload_to_message(payload)
    assert back["content"] == MESSAGE["content"] and back["stop_reason"] == "tool_use"
    assert back["usage"] == {**MESSAGE["usage"]} and back["id"] == "msg_1"
    for stop in ("end_turn", "max_tokens", "stop_sequence", "refusal", "pause_turn"):
        again = a.payload_to_message(a.message_to_payload({**MESSAGE, "stop_reason": stop, "stop_sequence": "X"}))
        assert again["stop_reason"] == stop and again["stop_sequence"] == "X"
    with pytest.raises(ValueError, match="not an Anthropic message"):
        a.message_to_payload({"choices": []})


def test_openai_finish_reasons_map_to_anthropic_stop_reasons() -> None:
    def stop_of(finish: str, calls: bool = False) -> str:
        message: dict[str, Any] = {"role": "assistant", "content": "x"}
        if calls:
            message["tool_calls"] = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{"}}]
        return str(a.payload_to_message({"choices": [{"message": message, "finish_reason": finish}]})["stop_reason"])

    assert [stop_of(f) for f in ("stop", "length", "tool_calls", "content_filter")] == [
        "end_turn", "max_tokens", "tool_use", "refusal"]
    assert stop_of("stop", calls=True) == "tool_use"  # some providers say "stop" next to tool calls
    bad_args = a.payload_to_message({"choices": [{"finish_reason": "tool_calls", "message": {
        "role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}}]})
    assert bad_args["content"][0]["input"] == {"_raw_arguments": "{oops"}
    assert a.error_body(429, "slow down") == {"type": "error", "error": {"type": "rate_limit_error",
                                                                         "message": "slow down"}}
