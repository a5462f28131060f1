"""Reading an agent's partial trajectory from the chat messages a proxy receives."""

from __future__ import annotations

import json
import math

import pytest

from aco.trajectories.conversation import (
    CallUsage,
    UnreadableConversationError,
    call_usage,
    observation_chars,
    read_turns,
    task_statement,
)


def _assistant(thought: str, command: str | None) -> dict[str, object]:
    message: dict[str, object] = {"role": "assistant", "content": thought}
    if command is not None:
        message["tool_calls"] = [{"id": "c", "type": "function",
                                  "function": {"name": "bash", "arguments": json.dumps({"command": command})}}]
    return message


CONVERSATION = [
    {"role": "system", "content": "you are an agent"},
    {"role": "user", "content": "Fix the bug in utils.py"},
    _assistant("look first", "grep -rn bug src"),
    {"role": "tool", "tool_call_id": "c", "content": "src/utils.py:3: bug"},
    _assistant("now read", "cat src/utils.py"),
    {"role": "tool", "tool_call_id": "c", "content": "a" * 10 + "\n...[truncated 500 chars]...\n" + "b" * 5},
    _assistant("thinking only", None),
]


def test_turns_thoughts_actions_observations_and_usage() -> None:
    turns = read_turns(CONVERSATION, [CallUsage(100.0, 20.0, 0.01), CallUsage(150.0, 30.0, 0.02)])
    assert [t.action for t in turns] == ["grep -rn bug src", "cat src/utils.py", ""]
    assert [t.thought for t in turns] == ["look first", "now read", "thinking only"]
    assert turns[0].observation == "src/utils.py:3: bug" and turns[2].observation == ""
    assert turns[1].observation_chars == 10 + 500 + 5  # the truncation marker counts what was cut
    assert (turns[1].prompt_tokens, turns[1].cost_usd) == (150.0, 0.02)
    assert math.isnan(turns[2].prompt_tokens)  # no call known for the third turn
    assert task_statement(CONVERSATION) == "Fix the bug in utils.py"
    chat = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
    assert task_statement(chat) == "c" and read_turns(chat)[0].observation == "c"


@pytest.mark.parametrize(("messages", "why"), [
    ("not a list", "messages is not a list"),
    ([{"role": "assistant", "tool_calls": "grep"}], "message 1: tool_calls is not a list"),
    ([{"role": "assistant", "tool_calls": [{"function": {"arguments": 3}}]}], "tool call 1 has no function"),
    ([3], "message 1 is not an object"),
    ([{"role": "robot", "content": "x"}], "unknown role 'robot'"),
    ([{"role": "assistant", "content": {"x": 1}}], "content is neither text nor a list"),
])
def test_unreadable_conversations_say_why(messages: object, why: str) -> None:
    with pytest.raises(UnreadableConversationError, match=why):
        read_turns(messages)  # type: ignore[arg-type]


def test_observation_chars_and_usage() -> None:
    assert observation_chars("plain") == 5
    usage = call_usage({"usage": {"prompt_tokens": 12, "completion_tokens": 3.5}}, 0.25)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cost_usd) == (12.0, 3.5, 0.25)
    assert math.isnan(call_usage({"usage": None}, 0.1).prompt_tokens)
