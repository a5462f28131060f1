"""Keep a conversation valid for the model it goes to, including after a mid-task switch (an escalation,
a fallback, a per-step change of model).

- Tool-call ids are carried over unchanged when the target accepts them, else mapped deterministically (the
  same id on the call and on its result): Anthropic takes `[A-Za-z0-9_-]+`, OpenAI at most 40 characters.
- Anthropic thinking blocks (and their signatures) go back only to the Anthropic model that wrote them: after a
  switch, or to any other API, they are dropped (a signature from another model is rejected as invalid). When
  that leaves the open tool loop's assistant turn without its thinking block while the request enables
  thinking, thinking is turned off for this call (Anthropic requires the block in that case).
- `reasoning_content` (DeepSeek-style) is never sent back as input (DeepSeek rejects it).
- `cache_control` markers stay where the target supports them (Anthropic; an OpenAI-compatible upstream that
  says so in its config) and are removed elsewhere.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aco.server.http import ApiError

_ANTHROPIC_ID = re.compile(r"[A-Za-z0-9_-]+")
OPENAI_ID_MAX_CHARS = 40


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: the upstream's API, the catalog model, and whether it takes cache_control."""

    api: str  # "openai" or "anthropic"
    model: str
    cache_control: bool


def tool_id_for(raw: str, api: str) -> str:
    """The tool-call id as `api` accepts it: unchanged when valid, else a stable hash of it."""
    if api == "anthropic":
        if _ANTHROPIC_ID.fullmatch(raw):
            return raw
        return "toolu_" + hashlib.sha256(raw.encode()).hexdigest()[:24]
    if 0 < len(raw) <= OPENAI_ID_MAX_CHARS:
        return raw
    return "call_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def _strip_cache(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "cache_control"}


def _content(content: Any, target: Target, where: str) -> Any:
    if not isinstance(content, list):
        return content
    out = []
    for part in content:
        if not isinstance(part, Mapping):
            out.append(part)
            continue
        if part.get("type") == "anthropic" and target.api != "anthropic":
            kind = (part.get("anthropic") or {}).get("type")
            raise ApiError(400, f"{where}.content: a {kind!r} block can only be sent to an Anthropic model, and "
                           f"{target.model!r} is not one", "unsupported_content")
        out.append(dict(part) if target.cache_control else _strip_cache(part))
    return out


def _thinking(blocks: list[Any], keep: bool) -> list[dict[str, Any]]:
    if not keep:
        return []
    return [dict(b) for b in blocks if isinstance(b, Mapping)
            and ((b.get("type") == "thinking" and b.get("signature")) or
                 (b.get("type") == "redacted_thinking" and b.get("data")))]


def prepare(body: Mapping[str, Any], target: Target, previous_model: str) -> tuple[dict[str, Any], list[str]]:
    """A copy of the canonical `body` that `target` accepts, and notes on what was changed.

    `previous_model` is the model that answered the task's previous call ("" when unknown: the client's own
    history is trusted as it is).
    """
    switched = bool(previous_model) and previous_model != target.model
    keep_thinking = target.api == "anthropic" and not switched
    notes: set[str] = set()
    messages = []
    for i, raw in enumerate(body.get("messages") or []):
        message = dict(raw)
        if "thinking_blocks" in message:
            kept = _thinking(message.pop("thinking_blocks"), keep_thinking)
            if kept:
                message["thinking_blocks"] = kept
            elif raw.get("thinking_blocks"):
                notes.add(f"thinking blocks dropped ({'model switched' if switched else 'target is not Anthropic'})")
        message.pop("reasoning_content", None)
        if not target.cache_control and "cache_control" in message:
            message.pop("cache_control")
            notes.add("cache_control markers removed (not supported by the target)")
        message["content"] = _content(message.get("content"), target, f"messages[{i}]")
        if isinstance(message.get("tool_call_id"), str):
            message["tool_call_id"] = tool_id_for(message["tool_call_id"], target.api)
        if message.get("tool_calls"):
            message["tool_calls"] = [
                {**(c if target.cache_control else _strip_cache(c)), "id": tool_id_for(str(c.get("id", "")),
                                                                                      target.api)}
                for c in message["tool_calls"]]
        messages.append(message)
    out = {**body, "messages": messages}
    if body.get("tools"):
        tools = [t for t in body["tools"] if target.api == "anthropic" or t.get("type") != "anthropic"]
        if len(tools) < len(body["tools"]):
            notes.add("Anthropic server tools dropped (the target is not Anthropic)")
        out["tools"] = [dict(t) if target.cache_control else _strip_cache(t) for t in tools]
    if target.api == "anthropic":
        out = _thinking_param(out, notes)
    return out, sorted(notes)


def _thinking_param(body: dict[str, Any], notes: set[str]) -> dict[str, Any]:
    """Turn thinking off when the open tool loop's assistant turn lost its thinking block."""
    extra = body.get("_anthropic") or {}
    thinking = extra.get("thinking")
    if not isinstance(thinking, Mapping) or thinking.get("type") != "enabled":
        return body
    messages = body["messages"]
    last = next((m for m in reversed(messages) if m.get("role") == "assistant"), None)
    in_loop = bool(messages) and messages[-1].get("role") == "tool"
    if last is not None and in_loop and last.get("tool_calls") and not last.get("thinking_blocks"):
        notes.add("thinking disabled for this call (its tool loop's thinking block came from another model)")
        return {**body, "_anthropic": {k: v for k, v in extra.items() if k != "thinking"}}
    return body
