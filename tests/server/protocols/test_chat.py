"""The canonical form: request checks naming the field, chunk streams adding up to payloads, and the step kind
read from the conversation itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aco.server.http import ApiError
from aco.server.protocols.chat import ChatAccumulator, check_request, payload_chunks, step_from_request, tool_step

PAYLOAD: dict[str, Any] = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 5, "model": "m",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "I will look at the file. " * 9,
        "reasoning_content": "think",
        "thinking_blocks": [{"type": "thinking", "thinking": "think", "signature": "sig=="}],
        "tool_calls": [{"id": "call_a", "type": "function",
                        "function": {"name": "bash", "arguments": json.dumps({"command": "cat a.py" * 20})}},
                       {"id": "call_b", "type": "function", "function": {"name": "Read", "arguments": "{}"}}]}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}}


def test_chunks_add_up_to_the_payload() -> None:
    acc = ChatAccumulator()
    for chunk in payload_chunks(PAYLOAD, text_piece_chars=7):
        acc.add(chunk)
    assert acc.payload() == PAYLOAD


@pytest.mark.parametrize(("body", "where"), [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ({"messages": [{"role": "user", "content": "x", "tool_calls": []}]}, "messages[0].tool_calls"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"id": "a"}]}]}, "messages[0].tool_calls[0]"),
    ({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web"}]}, "tools[0]"),
])
def test_malformed_requests_name_the_field(body: dict[str, Any], where: str) -> None:
    with pytest.raises(ApiError) as err:
        check_request(body)
    assert err.value.status == 422 and err.value.message.startswith(where)


def _loop(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    tool_calls = [{"id": f"c{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                  for i, (n, a) in enumerate(calls)]
    return {"messages": [{"role": "user", "content": "fix it"},
                         {"role": "assistant", "content": None, "tool_calls": tool_calls},
                         *[{"role": "tool", "tool_call_id": c["id"], "content": "ok"} for c in tool_calls]],
            "tools": [{"type": "function", "function": {"name": "bash"}}]}


def test_step_kind_from_the_last_tool_calls() -> None:
    assert step_from_request(_loop(("bash", {"command": "grep -rn foo src"}))) == ("search", "grep -rn foo src")
    assert step_from_request(_loop(("bash", {"command": "python -m pytest tests"})))[0] == "test"
    assert step_from_request(_loop(("str_replace_editor", {"command": "view", "path": "/a.py"})))[0] == "read"
    assert step_from_request(_loop(("Read", {"file_path": "a.py"}), ("Edit", {"file_path": "b.py"})))[0] == "edit"
    assert step_from_request(_loop(("Glob", {"pattern": "*.py"})))[0] == "search"
    first = {"messages": [{"role": "user", "content": "fix it"}], "tools": [{"type": "function"}]}
    assert step_from_request(first) == ("plan", "")
    assert step_from_request({"messages": [{"role": "user", "content": "hi"}]}) == ("", "")


def test_tool_step_reads_shell_commands_and_editor_calls() -> None:
    assert tool_step("bash", json.dumps({"command": "sed -i s/a/b/ x.py"})) == ("edit", "sed -i s/a/b/ x.py")
    assert tool_step("str_replace_editor", json.dumps({"command": "create", "path": "/r.py"}))[0] == "edit"
    assert tool_step("bash", "not json") == ("plan", "bash not json")


def test_conversation_id_is_stable_across_a_tool_loop_and_differs_between_conversations() -> None:
    from aco.server.protocols.chat import conversation_id

    tools = [{"type": "function", "function": {"name": "bash"}}]
    first = {"tools": tools, "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "fix 1"}]}
    later = {"tools": tools, "messages": [
        *first["messages"], {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "ok"}]}
    other = {"tools": tools, "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "fix 2"}]}
    assert conversation_id(first) == conversation_id(later) != conversation_id(other)
    assert conversation_id(first).startswith("conv-")
    assert conversation_id({**first, "user": "session-a"}) != conversation_id({**first, "user": "session-b"})
    chat = {"messages": first["messages"]}  # no tools, no tool use: every request is a task of its own
    assert conversation_id(chat) != conversation_id(chat) and not conversation_id(chat).startswith("conv-")
