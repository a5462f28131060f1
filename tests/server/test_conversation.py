"""A conversation stays valid for the model it goes to after a switch: tool-call ids, thinking blocks and their
signatures, reasoning_content, cache_control, Anthropic-only content."""

from __future__ import annotations

from typing import Any

import pytest

from aco.server.conversation import Target, prepare, tool_id_for
from aco.server.http import ApiError

CACHE = {"type": "ephemeral"}
LONG_ID = "call_" + "x" * 60
SIGNED = {"type": "thinking", "thinking": "plan", "signature": "sig=="}


def _body(thinking: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "aco/p", "messages": [
        {"role": "system", "content": [{"type": "text", "text": "sys", "cache_control": CACHE}]},
        {"role": "user", "content": "fix it"},
        {"role": "assistant", "content": None, "reasoning_content": "plan", "thinking_blocks": [SIGNED],
         "tool_calls": [{"id": LONG_ID, "type": "function", "function": {"name": "bash", "arguments": "{}"}},
                        {"id": "call.with.dots", "type": "function", "function": {"name": "bash",
                                                                                 "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": LONG_ID, "content": "ok", "cache_control": CACHE},
        {"role": "tool", "tool_call_id": "call.with.dots", "content": "ok"}],
        "tools": [{"type": "function", "function": {"name": "bash"}, "cache_control": CACHE},
                  {"type": "anthropic", "anthropic": {"type": "web_search_20250305", "name": "web_search"}}]}
    if thinking:
        body["_anthropic"] = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    return body


def test_tool_ids_are_kept_when_valid_and_mapped_stably_when_not() -> None:
    assert tool_id_for("toolu_01AbC", "anthropic") == "toolu_01AbC"
    assert tool_id_for("call_abc", "openai") == "call_abc"
    mapped = tool_id_for("call.with.dots", "anthropic")
    assert mapped.startswith("toolu_") and mapped == tool_id_for("call.with.dots", "anthropic")
    assert len(tool_id_for(LONG_ID, "openai")) <= 40 and tool_id_for(LONG_ID, "anthropic") == LONG_ID


def test_same_anthropic_model_keeps_signed_thinking_and_cache_markers() -> None:
    out, notes = prepare(_body(), Target("anthropic", "sonnet", True), previous_model="sonnet")
    assistant = out["messages"][2]
    assert assistant["thinking_blocks"] == [SIGNED] and "reasoning_content" not in assistant
    assert out["messages"][0]["content"][0]["cache_control"] == CACHE and out["messages"][3]["cache_control"] == CACHE
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert ids[0] == LONG_ID and ids[1] == tool_id_for("call.with.dots", "anthropic")
    assert out["messages"][4]["tool_call_id"] == ids[1]  # the result follows its call
    assert out["_anthropic"]["thinking"]["type"] == "enabled" and len(out["tools"]) == 2 and notes == []


def test_switch_to_another_anthropic_model_drops_signatures_and_disables_thinking_in_the_open_loop() -> None:
    out, notes = prepare(_body(), Target("anthropic", "opus", True), previous_model="sonnet")
    assert "thinking_blocks" not in out["messages"][2]
    assert "thinking" not in out["_anthropic"]
    assert any("model switched" in n for n in notes) and any("thinking disabled" in n for n in notes)


def test_switch_to_an_openai_model_strips_what_it_does_not_take() -> None:
    out, notes = prepare(_body(), Target("openai", "gpt", False), previous_model="sonnet")
    assistant = out["messages"][2]
    assert "thinking_blocks" not in assistant and "reasoning_content" not in assistant
    assert "cache_control" not in out["messages"][0]["content"][0] and "cache_control" not in out["messages"][3]
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert len(ids[0]) <= 40 and out["messages"][3]["tool_call_id"] == ids[0] and ids[1] == "call.with.dots"
    assert [t["type"] for t in out["tools"]] == ["function"] and "cache_control" not in out["tools"][0]
    assert any("server tools dropped" in n for n in notes)


def test_unknown_previous_model_trusts_the_clients_history() -> None:
    out, _ = prepare(_body(thinking=False), Target("anthropic", "sonnet", True), previous_model="")
    assert out["messages"][2]["thinking_blocks"] == [SIGNED]
    unsigned = _body()
    unsigned["messages"][2]["thinking_blocks"] = [{"type": "thinking", "thinking": "x", "signature": ""}]
    out, _ = prepare(unsigned, Target("anthropic", "sonnet", True), previous_model="")
    assert "thinking_blocks" not in out["messages"][2]


def test_anthropic_only_content_cannot_go_to_an_openai_model() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "anthropic", "anthropic": {"type": "document"}}]}]}
    with pytest.raises(ApiError, match=r"messages\[0\].content: a 'document' block can only be sent"):
        prepare(body, Target("openai", "gpt", False), "")
    out, _ = prepare(body, Target("anthropic", "claude", True), "")
    assert out["messages"][0]["content"][0]["type"] == "anthropic"
