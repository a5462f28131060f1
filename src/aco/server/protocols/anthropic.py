"""Anthropic Messages <-> the canonical form (OpenAI chat completions): requests, responses and errors.

Streams are in `anthropic_stream`. Both directions are here because aco speaks Messages to clients (Claude Code,
the Anthropic SDK) and to upstreams (Anthropic's native API).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aco.server.http import ApiError
from aco.server.protocols.chat import new_id
from aco.server.usage import from_anthropic, from_chat, to_anthropic, to_chat

# Anthropic stop_reason -> OpenAI finish_reason, and back (the exact Anthropic value rides along as `_stop_reason`)
FINISH_OF_STOP = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
                  "model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter"}
STOP_OF_FINISH = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                  "content_filter": "refusal"}
DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; used when an OpenAI-style request has none
_REQUEST_KEYS = ("model", "messages", "system", "max_tokens", "temperature", "top_p", "stop_sequences", "stream",
                 "tools", "tool_choice")
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large", 422: "invalid_request_error",
                429: "rate_limit_error", 529: "overloaded_error"}


def _bad(where: str, message: str) -> ApiError:
    return ApiError(400, f"{where}: {message}", "bad_field")


def _with_cache(out: dict[str, Any], block: Mapping[str, Any]) -> dict[str, Any]:
    if block.get("cache_control") is not None:
        out["cache_control"] = block["cache_control"]
    return out


# --- requests: Anthropic -> canonical --------------------------------------------------------------------------
def request_to_chat(body: Mapping[str, Any], *, need_max_tokens: bool = True) -> dict[str, Any]:
    """An Anthropic Messages request as a canonical chat completions body (400 naming the field when malformed)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model", "missing or not a string")
    if need_max_tokens and (not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1):
        raise _bad("max_tokens", "required: a positive integer")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages", "must be a non-empty list of {role, content}")
    out: dict[str, Any] = {"model": model, "messages": _system(body.get("system"))}
    for i, message in enumerate(messages):
        out["messages"] += _message_to_chat(message, f"messages[{i}]")
    for key in ("max_tokens", "temperature", "top_p", "stream"):
        if key in body:
            out[key] = body[key]
    if body.get("stream"):
        out["stream_options"] = {"include_usage": True}
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    if body.get("tools"):
        out["tools"] = [_tool_to_chat(t, f"tools[{i}]") for i, t in enumerate(body["tools"])]
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping):
        kind = choice.get("type")
        mapped: Any = {"auto": "auto", "any": "required", "none": "none"}.get(str(kind))
        if kind == "tool":
            mapped = {"type": "function", "function": {"name": choice.get("name")}}
        if mapped is None:
            raise _bad("tool_choice.type", f"must be auto, any, tool or none, got {str(kind)[:40]!r}")
        out["tool_choice"] = mapped
        if choice.get("disable_parallel_tool_use"):
            out["parallel_tool_calls"] = False
    extra = {k: v for k, v in body.items() if k not in _REQUEST_KEYS}
    if isinstance(extra.get("metadata"), Mapping) and extra["metadata"].get("user_id"):
        out["user"] = str(extra["metadata"]["user_id"])
    if extra:
        out["_anthropic"] = extra
    return out


def _system(system: Any) -> list[dict[str, Any]]:
    if system is None or system == "" or system == []:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    if not isinstance(system, list):
        raise _bad("system", "must be a string or a list of text blocks")
    parts = []
    for i, block in enumerate(system):
        if not isinstance(block, Mapping) or block.get("type") != "text":
            raise _bad(f"system[{i}]", "must be a text block")
        parts.append(_with_cache({"type": "text", "text": str(block.get("text", ""))}, block))
    return [{"role": "system", "content": parts}]


def _blocks(content: Any, where: str) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _bad(f"{where}.content", "must be a string or a list of content blocks")
    for j, block in enumerate(content):
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise _bad(f"{where}.content[{j}]", "must be a content block with a 'type'")
    return content


def _message_to_chat(message: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
        raise _bad(f"{where}.role", "must be 'user' or 'assistant'")
    blocks = _blocks(message.get("content"), where)
    if message["role"] == "assistant":
        return [_assistant_to_chat(blocks, where)]
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        if block["type"] == "tool_result":
            tools.append(_tool_result_to_chat(block, f"{where}.content[{j}]"))
        else:
            parts.append(_part_to_chat(block))
    out = list(tools)
    if parts:
        simple = len(parts) == 1 and parts[0]["type"] == "text" and "cache_control" not in parts[0]
        out.append({"role": "user", "content": parts[0]["text"] if simple else parts})
    return out


def _part_to_chat(block: Mapping[str, Any]) -> dict[str, Any]:
    if block["type"] == "text":
        return _with_cache({"type": "text", "text": str(block.get("text", ""))}, block)
    source = block.get("source")
    if block["type"] == "image" and isinstance(source, Mapping):
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
        else:
            url = str(source.get("url", ""))
        return _with_cache({"type": "image_url", "image_url": {"url": url}}, block)
    return {"type": "anthropic", "anthropic": dict(block)}  # documents, search results...: Anthropic targets only


def _tool_result_to_chat(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(block.get("tool_use_id"), str):
        raise _bad(f"{where}.tool_use_id", "a tool_result needs the id of its tool_use")
    content = block.get("content")
    if content is None:
        content = ""
    if isinstance(content, list):
        parts = [_part_to_chat(b) for b in content if isinstance(b, Mapping)]
        content = parts[0]["text"] if len(parts) == 1 and parts[0]["type"] == "text" and \
            "cache_control" not in parts[0] else parts
    out: dict[str, Any] = {"role": "tool", "tool_call_id": block["tool_use_id"], "content": content}
    if block.get("is_error"):
        out["is_error"] = True
    return _with_cache(out, block)


def _assistant_to_chat(blocks: list[Mapping[str, Any]], where: str) -> dict[str, Any]:
    texts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        kind = block["type"]
        if kind == "text":
            texts.append(_with_cache({"type": "text", "text": str(block.get("text", ""))}, block))
        elif kind == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise _bad(f"{where}.content[{j}]", "a tool_use needs 'id' and 'name'")
            call = {"id": block["id"], "type": "function",
                    "function": {"name": block["name"], "arguments": json.dumps(block.get("input") or {})}}
            calls.append(_with_cache(call, block))
        elif kind in ("thinking", "redacted_thinking"):
            thinking.append(dict(block))
        else:
            texts.append({"type": "anthropic", "anthropic": dict(block)})
    simple = all(t["type"] == "text" and "cache_control" not in t for t in texts)
    content: Any = "".join(t["text"] for t in texts) if simple else texts
    out: dict[str, Any] = {"role": "assistant", "content": content if content else None}
    if calls:
        out["tool_calls"] = calls
    if thinking:
        out["thinking_blocks"] = thinking
    return out


def _tool_to_chat(tool: Any, where: str) -> dict[str, Any]:
    if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
        raise _bad(where, "a tool needs a 'name'")
    if tool.get("type") not in (None, "custom"):
        return {"type": "anthropic", "anthropic": dict(tool)}  # server/computer-use tools: Anthropic targets only
    fn: dict[str, Any] = {"name": tool["name"], "parameters": tool.get("input_schema") or {"type": "object"}}
    if tool.get("description"):
        fn["description"] = tool["description"]
    return _with_cache({"type": "function", "function": fn}, tool)


# --- requests: canonical -> Anthropic --------------------------------------------------------------------------
def chat_to_request(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A canonical chat body as an Anthropic Messages request for `model` (conversation already prepared)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(body.get("messages") or []):
        role = message.get("role")
        if role in ("system", "developer"):
            system += [_text_block(p) for p in _parts(message.get("content"), f"messages[{i}]")]
            continue
        if role == "tool":
            block = _with_cache({"type": "tool_result", "tool_use_id": message.get("tool_call_id"),
                                 "content": _tool_content(message.get("content"), f"messages[{i}]")}, message)
            if message.get("is_error"):
                block["is_error"] = True
            _append(turns, "user", [block])
        elif role == "assistant":
            _append(turns, "assistant", _assistant_blocks(message, f"messages[{i}]"))
        else:
            _append(turns, "user", [_block(p, f"messages[{i}]") for p in _parts(message.get("content"),
                                                                                  f"messages[{i}]")])
    for turn in turns:  # a lone plain text block is sent as the string it came from
        blocks = turn["content"]
        if len(blocks) == 1 and blocks[0].get("type") == "text" and set(blocks[0]) == {"type", "text"}:
            turn["content"] = blocks[0]["text"]
    out: dict[str, Any] = {"model": model, "messages": turns,
                           "max_tokens": body.get("max_tokens") or body.get("max_completion_tokens")
                           or DEFAULT_MAX_TOKENS}
    if system:
        out["system"] = system
    for key in ("temperature", "top_p", "stream"):
        if body.get(key) is not None:
            out[key] = min(body[key], 1.0) if key == "temperature" else body[key]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        out["tools"] = [_tool_to_anthropic(t) for t in body["tools"]]
    choice = _tool_choice_to_anthropic(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and body.get("tools"):
        out["tool_choice"] = choice
    extra = dict(body.get("_anthropic") or {})
    if body.get("user") and "metadata" not in extra:
        extra["metadata"] = {"user_id": str(body["user"])}
    out.update(extra)
    return out


def _append(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Anthropic alternates user and assistant turns: consecutive messages of one role are merged."""
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"] += blocks
    else:
        turns.append({"role": role, "content": blocks})


def _parts(content: Any, where: str) -> list[Mapping[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        return [p if isinstance(p, Mapping) else {"type": "text", "text": str(p)} for p in content]
    raise _bad(f"{where}.content", "must be a string or a list of parts")


def _text_block(part: Mapping[str, Any]) -> dict[str, Any]:
    return _with_cache({"type": "text", "text": str(part.get("text", ""))}, part)


def _block(part: Mapping[str, Any], where: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        return _text_block(part)
    if kind == "anthropic":
        return dict(part["anthropic"])
    if kind == "image_url":
        url = str((part.get("image_url") or {}).get("url", ""))
        if url.startswith("data:") and ";base64," in url:
            media, data = url[5:].split(";base64,", 1)
            source: dict[str, Any] = {"type": "base64", "media_type": media, "data": data}
        else:
            source = {"type": "url", "url": url}
        return _with_cache({"type": "image", "source": source}, part)
    raise _bad(f"{where}.content", f"content part type {str(kind)[:40]!r} cannot be sent to an Anthropic model")


def _tool_content(content: Any, where: str) -> Any:
    if isinstance(content, str) or content is None:
        return content or ""
    return [_block(p, where) for p in _parts(content, where)]


def _assistant_blocks(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    blocks = [dict(b) for b in message.get("thinking_blocks") or []]
    blocks += [_block(p, where) for p in _parts(message.get("content"), where)]
    for j, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        blocks.append(_with_cache({"type": "tool_use", "id": call.get("id"), "name": fn.get("name"),
                                   "input": _arguments(fn.get("arguments"), f"{where}.tool_calls[{j}]")}, call))
    return blocks


def _arguments(raw: Any, where: str) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        raise _bad(f"{where}.function.arguments", "is not valid JSON") from None
    if not isinstance(value, dict):
        raise _bad(f"{where}.function.arguments", "must be a JSON object")
    return value


def _tool_to_anthropic(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") == "anthropic":
        return dict(tool["anthropic"])
    fn = tool.get("function") or {}
    out: dict[str, Any] = {"name": fn.get("name"), "input_schema": fn.get("parameters") or {"type": "object"}}
    if fn.get("description"):
        out["description"] = fn["description"]
    return _with_cache(out, tool)


def _tool_choice_to_anthropic(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None = None
    if isinstance(choice, str):
        out = {"type": {"auto": "auto", "required": "any", "none": "none"}.get(choice, "auto")}
    elif isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        out = {"type": "tool", "name": choice["function"].get("name")}
    if parallel is False:
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out


# --- responses -------------------------------------------------------------------------------------------------
def message_to_payload(message: Mapping[str, Any]) -> dict[str, Any]:
    """An Anthropic Messages response as a canonical chat completion (ValueError when it is not one)."""
    if message.get("type") != "message" or not isinstance(message.get("content"), list):
        raise ValueError("not an Anthropic message: needs type 'message' and a 'content' list")
    assistant = _assistant_to_chat([b for b in message["content"] if isinstance(b, Mapping) and "type" in b],
                                   "content")
    if assistant.get("thinking_blocks"):
        assistant["reasoning_content"] = "".join(str(b.get("thinking", "")) for b in assistant["thinking_blocks"])
    stop = message.get("stop_reason")
    choice: dict[str, Any] = {"index": 0, "message": assistant,
                              "finish_reason": FINISH_OF_STOP.get(str(stop), "stop"), "_stop_reason": stop}
    if message.get("stop_sequence") is not None:
        choice["_stop_sequence"] = message["stop_sequence"]
    usage = from_anthropic(message.get("usage"))
    out: dict[str, Any] = {"id": str(message.get("id") or new_id("msg_")), "object": "chat.completion",
                           "created": 0, "model": str(message.get("model", "")), "choices": [choice]}
    if usage is not None:
        out["usage"] = to_chat(usage)
    return out


def payload_to_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical chat completion as an Anthropic Messages response."""
    choice = (payload.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    blocks = _assistant_blocks({**message, "tool_calls": [_lenient_call(c) for c in message.get("tool_calls") or []]},
                               "choices[0].message")
    if not blocks:
        blocks = [{"type": "text", "text": ""}]
    usage = from_chat(payload.get("usage"))
    return {"id": _message_id(payload.get("id")), "type": "message", "role": "assistant",
            "model": str(payload.get("model", "")), "content": blocks, "stop_reason": stop_reason(choice, message),
            "stop_sequence": choice.get("_stop_sequence"),
            "usage": to_anthropic(usage) if usage is not None else {"input_tokens": 0, "output_tokens": 0}}


def _lenient_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """A model's tool call with arguments that are not a JSON object keeps them under `_raw_arguments`."""
    fn = dict(call.get("function") or {})
    try:
        value = json.loads(fn.get("arguments") or "{}")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        fn["arguments"] = json.dumps({"_raw_arguments": fn.get("arguments")})
    return {**call, "function": fn}


def stop_reason(choice: Mapping[str, Any], message: Mapping[str, Any] | None = None) -> str:
    """Anthropic's stop_reason of a canonical choice (its exact one when it came from Anthropic)."""
    if choice.get("_stop_reason"):
        return str(choice["_stop_reason"])
    finish = str(choice.get("finish_reason") or "stop")
    if finish == "stop" and message is not None and message.get("tool_calls"):
        return "tool_use"
    return STOP_OF_FINISH.get(finish, "end_turn")


def _message_id(raw: Any) -> str:
    text = str(raw or "")
    return text if text.startswith("msg_") else new_id("msg_")


def error_body(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error shape."""
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}
