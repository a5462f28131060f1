"""An agent's partial trajectory read from the chat conversation a proxy receives (OpenAI chat messages).

Each assistant message is one turn: its text is the thought, its tool calls the action (a call's `command`
argument, else its raw arguments); the tool (or user) messages after it, up to the next assistant message, are
the observation. The first user messages before any assistant turn are the task, not an observation. Turn i's
tokens and cost are those of the i-th call made for the task, when the caller knows them (`CallUsage`), else NaN.
An observation that says how much was cut (`...[truncated N chars]...`, the form of the recorded SWE-agent
turns) counts the cut characters in its length. A conversation that cannot be read this way gives no turns and
a reason (the value head then abstains and says why).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aco.trajectories.loader import Turn

NAN = float("nan")
_TRUNCATED = re.compile(r"\n\.\.\.\[truncated (\d+) chars\]\.\.\.\n")


@dataclass(frozen=True, slots=True)
class CallUsage:
    """What one model call of a task cost: tokens in and out, and USD (NaN where unknown)."""

    prompt_tokens: float = NAN
    completion_tokens: float = NAN
    cost_usd: float = NAN


class UnreadableConversationError(ValueError):
    """The messages cannot be read as an agent trajectory; the message says where and why."""


def observation_chars(text: str) -> int:
    """Characters of an observation, counting those a truncation marker says were cut."""
    return len(text) + sum(int(m.group(1)) - len(m.group(0)) for m in _TRUNCATED.finditer(text))


def _text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, Mapping):
                raise UnreadableConversationError(f"{where}: a content part is not an object")
            text = part.get("text", "")
            parts.append(text if isinstance(text, str) else "")
        return " ".join(parts)
    raise UnreadableConversationError(f"{where}: content is neither text nor a list of parts")


def _action(calls: Any, where: str) -> str:
    if calls is None:
        return ""
    if not isinstance(calls, list):
        raise UnreadableConversationError(f"{where}: tool_calls is not a list")
    actions = []
    for number, call in enumerate(calls, start=1):
        function = call.get("function") if isinstance(call, Mapping) else None
        arguments = function.get("arguments", "") if isinstance(function, Mapping) else None
        if not isinstance(arguments, str):
            raise UnreadableConversationError(f"{where}: tool call {number} has no function arguments string")
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            parsed = None
        command = parsed.get("command") if isinstance(parsed, dict) else None
        actions.append(command if isinstance(command, str) else arguments)
    return "\n".join(actions)


def read_turns(messages: Sequence[Any], calls: Sequence[CallUsage] = ()) -> tuple[Turn, ...]:
    """The turns of `messages` (see the module docstring); raises `UnreadableConversationError`."""
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        raise UnreadableConversationError("messages is not a list")
    turns: list[dict[str, Any]] = []
    for number, message in enumerate(messages, start=1):
        where = f"message {number}"
        if not isinstance(message, Mapping):
            raise UnreadableConversationError(f"{where} is not an object")
        role = message.get("role")
        if role == "assistant":
            turns.append({"thought": _text(message.get("content"), where),
                          "action": _action(message.get("tool_calls"), where), "observation": []})
        elif role in ("tool", "user", "function") and turns:
            turns[-1]["observation"].append(_text(message.get("content"), where))
        elif role not in ("system", "developer", "user", "tool", "function"):
            raise UnreadableConversationError(f"{where} has unknown role {role!r}")
    out = []
    for index, turn in enumerate(turns):
        usage = calls[index] if index < len(calls) else CallUsage()
        observation = "\n".join(turn["observation"])
        out.append(Turn(index=index + 1, thought=turn["thought"], action=turn["action"], observation=observation,
                        observation_chars=observation_chars(observation), prompt_tokens=usage.prompt_tokens,
                        completion_tokens=usage.completion_tokens, cost_usd=usage.cost_usd))
    return tuple(out)


def task_statement(messages: Sequence[Any]) -> str:
    """The task a conversation is about: its first user message when an agent is at work (tool calls or tool
    results), else its last user message (a chat request)."""
    users = [m for m in messages if isinstance(m, Mapping) and m.get("role") == "user"]
    agentic = any(isinstance(m, Mapping) and (m.get("role") == "tool" or m.get("tool_calls")) for m in messages)
    if not users:
        return ""
    try:
        return _text((users[0] if agentic else users[-1]).get("content"), "user message")
    except UnreadableConversationError:
        return ""


def call_usage(payload: Any, cost_usd: float) -> CallUsage:
    """A call's usage from an OpenAI chat completion payload (`usage`) and the cost it was booked at."""
    usage = payload.get("usage") if isinstance(payload, Mapping) else None

    def number(key: str) -> float:
        value = usage.get(key) if isinstance(usage, Mapping) else None
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else NAN

    cost = float(cost_usd) if math.isfinite(cost_usd) else NAN
    return CallUsage(prompt_tokens=number("prompt_tokens"), completion_tokens=number("completion_tokens"),
                     cost_usd=cost)
