"""The canonical form (OpenAI chat completions): request checks, stream accumulation, and the step kind an agent
is in, read from its conversation."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from aco.server.http import ApiError
from aco.trajectories.steps import classify_step

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")


def _bad(where: str, message: str) -> ApiError:
    return ApiError(422, f"{where}: {message}", "bad_field")


def check_request(body: Mapping[str, Any]) -> None:
    """Reject a malformed chat completions body with a 422 naming the message and field."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages", "must be a non-empty list of {role, content}")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise _bad(where, "must be an object with 'role' and 'content'")
        role = message.get("role")
        if role not in ROLES:
            raise _bad(f"{where}.role", f"must be one of {list(ROLES)}, got {str(role)[:40]!r}")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise _bad(f"{where}.content", "must be a string, a list of content parts or null")
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise _bad(f"{where}.tool_call_id", "a tool message needs the id of the tool call it answers")
        calls = message.get("tool_calls")
        if calls is not None:
            if role != "assistant" or not isinstance(calls, list):
                raise _bad(f"{where}.tool_calls", "only an assistant message has tool_calls (a list)")
            for j, call in enumerate(calls):
                fn = call.get("function") if isinstance(call, Mapping) else None
                if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str) \
                        or not isinstance(call.get("id"), str):
                    raise _bad(f"{where}.tool_calls[{j}]", "needs 'id' and 'function': {name, arguments}")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad("tools", "must be a list")
        for i, tool in enumerate(tools):
            if not isinstance(tool, Mapping) or tool.get("type") not in ("function", "anthropic"):
                raise _bad(f"tools[{i}]", "must be {type: 'function', function: {name, parameters}}")


def conversation_id(body: Mapping[str, Any]) -> str:
    """A task id for a request that names none (no `x-aco-task-id`). An agent's request (tools offered, or tool
    use in the conversation) gets the same id on every call of its conversation (its `user`, first system text
    and first user message), so its tool loop stays one task; any other request is a task of its own."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, Mapping)]
    first_user = next((m.get("content") for m in messages if m.get("role") == "user"), None)
    agentic = bool(body.get("tools")) or any(m.get("role") == "tool" or m.get("tool_calls") for m in messages)
    if first_user is None or not agentic:
        return uuid.uuid4().hex
    system = next((m.get("content") for m in messages if m.get("role") in ("system", "developer")), None)
    key = json.dumps([body.get("user"), system, first_user], sort_keys=True, default=str)
    return "conv-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def chunk(cid: str, model: str, delta: dict[str, Any] | None = None, finish_reason: str | None = None,
          **extra: Any) -> dict[str, Any]:
    """One canonical stream chunk with a single choice (`delta`), or a usage-only chunk (no delta)."""
    out: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    if delta is None and finish_reason is None:
        out["choices"] = []
    else:
        choice: dict[str, Any] = {"index": 0, "delta": delta or {}, "finish_reason": finish_reason}
        choice.update(extra)
        out["choices"] = [choice]
    return out


class ChatAccumulator:
    """Canonical chunks -> the canonical payload they add up to (text, tool calls, thinking, stop, usage)."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created = 0
        self.content: str | None = None
        self.reasoning: str | None = None
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.thinking: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.stop_extra: dict[str, Any] = {}
        self.usage: Any = None

    def add(self, chunk: Mapping[str, Any]) -> None:
        self.id = self.id or str(chunk.get("id") or "")
        self.model = self.model or str(chunk.get("model") or "")
        self.created = self.created or int(chunk.get("created") or 0)
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self.content = (self.content or "") + delta["content"]
            if isinstance(delta.get("reasoning_content"), str):
                self.reasoning = (self.reasoning or "") + delta["reasoning_content"]
            for call in delta.get("tool_calls") or []:
                self._add_call(call)
            for block in delta.get("thinking_blocks") or []:
                self._add_thinking(block)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                self.stop_extra = {k: choice[k] for k in ("_stop_reason", "_stop_sequence") if k in choice}

    def _add_call(self, call: Mapping[str, Any]) -> None:
        index = int(call.get("index", len(self.tool_calls)))
        slot = self.tool_calls.setdefault(index, {"id": "", "type": "function",
                                                  "function": {"name": "", "arguments": ""}})
        if call.get("id"):
            slot["id"] = call["id"]
        fn = call.get("function") or {}
        if fn.get("name"):
            slot["function"]["name"] += fn["name"]
        if fn.get("arguments"):
            slot["function"]["arguments"] += fn["arguments"]

    def _add_thinking(self, block: Mapping[str, Any]) -> None:
        index = int(block.get("index", len(self.thinking)))
        slot = self.thinking.setdefault(index, {"type": block.get("type", "thinking")})
        for key in ("thinking", "data"):
            if isinstance(block.get(key), str):
                slot[key] = slot.get(key, "") + block[key]
        if isinstance(block.get("signature"), str):
            slot["signature"] = slot.get("signature", "") + block["signature"]

    def payload(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        if self.reasoning is not None:
            message["reasoning_content"] = self.reasoning
        if self.thinking:
            message["thinking_blocks"] = [self.thinking[i] for i in sorted(self.thinking)]
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason or "stop", **self.stop_extra}
        out: dict[str, Any] = {"id": self.id or new_id("chatcmpl-"), "object": "chat.completion",
                               "created": self.created or int(time.time()), "model": self.model, "choices": [choice]}
        if self.usage is not None:
            out["usage"] = self.usage
        return out


def payload_chunks(payload: Mapping[str, Any], text_piece_chars: int = 64) -> list[dict[str, Any]]:
    """A canonical payload as the chunk stream that adds up to it (text in pieces; usage in a last chunk)."""
    cid, model = str(payload.get("id") or new_id("chatcmpl-")), str(payload.get("model") or "")
    choice = (payload.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    out = [chunk(cid, model, {"role": "assistant", "content": ""})]
    for i, block in enumerate(message.get("thinking_blocks") or []):
        out.append(chunk(cid, model, {"thinking_blocks": [{"index": i, **block}]}))
    if message.get("reasoning_content"):
        out.append(chunk(cid, model, {"reasoning_content": message["reasoning_content"]}))
    raw = message.get("content")
    text = "".join(str(p.get("text", "")) for p in raw if isinstance(p, Mapping)) if isinstance(raw, list) \
        else str(raw or "")
    for start in range(0, len(text), text_piece_chars):
        out.append(chunk(cid, model, {"content": text[start:start + text_piece_chars]}))
    for i, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        out.append(chunk(cid, model, {"tool_calls": [{"index": i, "id": call.get("id"), "type": "function",
                                                      "function": {"name": fn.get("name"), "arguments": ""}}]}))
        args = str(fn.get("arguments") or "")
        for start in range(0, len(args), text_piece_chars):
            piece = args[start:start + text_piece_chars]
            out.append(chunk(cid, model, {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    extra = {k: choice[k] for k in ("_stop_reason", "_stop_sequence") if k in choice}
    out.append(chunk(cid, model, {}, choice.get("finish_reason") or "stop", **extra))
    if payload.get("usage"):
        out.append({**chunk(cid, model), "usage": payload["usage"]})
    created = int(payload.get("created") or 0)
    return [{**c, "created": created} for c in out] if created else out


# --- the step an agent is in, from its conversation ----------------------------------------------------------
_TOOL_KINDS = {
    "read": "read", "view": "read", "read_file": "read", "open_file": "read", "notebookread": "read",
    "grep": "search", "glob": "search", "ls": "search", "search": "search", "find": "search",
    "list_dir": "search", "list_files": "search", "search_files": "search", "codebase_search": "search",
    "websearch": "search", "webfetch": "read",
    "edit": "edit", "write": "edit", "multiedit": "edit", "notebookedit": "edit", "create_file": "edit",
    "edit_file": "edit", "write_file": "edit", "apply_patch": "edit", "str_replace": "edit",
    "todowrite": "plan", "task": "plan", "exitplanmode": "plan",
}
_COMMAND_KEYS = ("command", "cmd", "code", "script", "input")
_PRIORITY = ("edit", "test", "verify", "search", "read", "plan")


def tool_action(name: str, arguments: str) -> str:
    """The text of one tool call as an agent action: a shell tool's command, else the name and its arguments."""
    try:
        args = json.loads(arguments) if arguments else {}
    except ValueError:
        return f"{name} {arguments}".strip()
    if isinstance(args, dict):
        for key in _COMMAND_KEYS:
            value = args.get(key)
            if isinstance(value, list):
                value = " ".join(map(str, value))
            if isinstance(value, str) and name.lower() in ("bash", "shell", "terminal", "execute", "run",
                                                           "exec_command", "run_command", "local_shell"):
                return value
        values = " ".join(str(v) for v in args.values() if isinstance(v, str | int | float))
        return f"{name} {values}".strip()
    return f"{name} {args}".strip()


def tool_step(name: str, arguments: str) -> tuple[str, str]:
    """(step kind, action text) of one tool call: well-known editor/agent tools by name, else the classifier
    on the action (a shell command, `str_replace_editor view ...`)."""
    action = tool_action(name, arguments)
    kind = _TOOL_KINDS.get(name.lower()) or classify_step(action)
    if name.lower() == "bash" and kind == "plan":
        kind = classify_step(action)
    return kind, action


def step_from_request(body: Mapping[str, Any]) -> tuple[str, str]:
    """(step kind, action) of the call a canonical request asks for, read from the request itself.

    In a tool loop (the conversation ends with tool results) the kind is that of the last assistant turn's
    tool calls (the strongest of them: edit > test > verify > search > read > plan) and the action their text;
    an agent's turn that starts from the user's own words is a "plan" step; a request with no tools and no
    tool use has no step kind.
    """
    messages = [m for m in body.get("messages") or [] if isinstance(m, Mapping)]
    if messages and messages[-1].get("role") == "tool":
        for message in reversed(messages):
            if message.get("role") == "assistant" and message.get("tool_calls"):
                steps = [tool_step(str((c.get("function") or {}).get("name") or ""),
                                   str((c.get("function") or {}).get("arguments") or ""))
                         for c in message["tool_calls"] if isinstance(c, Mapping)]
                if steps:
                    kind = min((k for k, _ in steps), key=_PRIORITY.index)
                    return kind, "\n".join(a for _, a in steps)
        return "", ""
    agentic = bool(body.get("tools")) or any(m.get("role") == "tool" or m.get("tool_calls") for m in messages)
    return ("plan", "") if agentic else ("", "")
