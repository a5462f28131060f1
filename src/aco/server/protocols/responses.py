"""OpenAI Responses <-> the canonical form (OpenAI chat completions): requests and responses.

aco is stateless: a request must carry the whole conversation in `input` (as Codex does with `store: false`);
`previous_response_id` is refused with a clear 400. Reasoning items in the input are dropped (their encrypted
content is only valid for the model that wrote them).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aco.server.http import ApiError
from aco.server.protocols.chat import new_id
from aco.server.usage import from_chat, from_responses, to_chat, to_responses

_TEXT_PARTS = ("input_text", "output_text", "text", "refusal")


def _bad(where: str, message: str) -> ApiError:
    return ApiError(400, f"{where}: {message}", "bad_field")


def request_to_chat(body: Mapping[str, Any]) -> dict[str, Any]:
    """A Responses request as a canonical chat completions body (400 naming the field when malformed)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model", "missing or not a string")
    if body.get("previous_response_id"):
        raise _bad("previous_response_id", "aco keeps no response state: send the whole conversation in 'input' "
                   "(store: false) instead")
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": str(body["instructions"])})
    raw = body.get("input")
    if isinstance(raw, str):
        messages.append({"role": "user", "content": raw})
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            _add_item(messages, item, f"input[{i}]")
    else:
        raise _bad("input", "must be a string or a list of input items")
    out: dict[str, Any] = {"model": model, "messages": messages}
    if body.get("max_output_tokens") is not None:
        out["max_tokens"] = body["max_output_tokens"]
    for key in ("temperature", "top_p", "parallel_tool_calls", "stream", "user"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stream"):
        out["stream_options"] = {"include_usage": True}
    if body.get("tools"):
        out["tools"] = [_tool_to_chat(t, f"tools[{i}]") for i, t in enumerate(body["tools"])]
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        out["tool_choice"] = choice
    elif isinstance(choice, Mapping) and choice.get("type") == "function":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    effort = (body.get("reasoning") or {}).get("effort") if isinstance(body.get("reasoning"), Mapping) else None
    if effort:
        out["reasoning_effort"] = effort
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), Mapping) else None
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        out["response_format"] = {"type": "json_schema", "json_schema": {
            k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}}
    elif isinstance(fmt, Mapping) and fmt.get("type") == "json_object":
        out["response_format"] = {"type": "json_object"}
    return out


def _content(content: Any, where: str) -> Any:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(f"{where}.content", "must be a string or a list of content parts")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind in _TEXT_PARTS:
            parts.append({"type": "text", "text": str(part.get("text") or part.get("refusal") or "")})
        elif kind == "input_image" and part.get("image_url"):
            parts.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
        else:
            raise _bad(f"{where}.content[{j}]", f"content type {str(kind)[:40]!r} is not supported by aco")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _add_item(messages: list[dict[str, Any]], item: Any, where: str) -> None:
    if not isinstance(item, Mapping):
        raise _bad(where, "must be an input item object")
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise _bad(f"{where}.role", "must be user, assistant, system or developer")
        messages.append({"role": role, "content": _content(item.get("content"), where)})
    elif kind == "function_call":
        if not isinstance(item.get("call_id"), str) or not isinstance(item.get("name"), str):
            raise _bad(where, "a function_call needs 'call_id' and 'name'")
        call = {"id": item["call_id"], "type": "function",
                "function": {"name": item["name"], "arguments": str(item.get("arguments") or "")}}
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        if not isinstance(item.get("call_id"), str):
            raise _bad(f"{where}.call_id", "a function_call_output needs the call_id it answers")
        output = item.get("output")
        messages.append({"role": "tool", "tool_call_id": item["call_id"],
                         "content": output if isinstance(output, str) else _content(output or "", where)})
    elif kind != "reasoning":
        raise _bad(f"{where}.type", f"input item type {str(kind)[:40]!r} is not supported by aco")


def _tool_to_chat(tool: Any, where: str) -> dict[str, Any]:
    if not isinstance(tool, Mapping) or tool.get("type") != "function" or not isinstance(tool.get("name"), str):
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        raise _bad(f"{where}.type", f"only function tools can be routed by aco, got {str(kind)[:40]!r}")
    fn: dict[str, Any] = {"name": tool["name"], "parameters": tool.get("parameters") or {"type": "object"}}
    for key in ("description", "strict"):
        if tool.get(key) is not None:
            fn[key] = tool[key]
    return {"type": "function", "function": fn}


# --- responses -------------------------------------------------------------------------------------------------
def status_of(finish_reason: str) -> tuple[str, dict[str, Any] | None]:
    """(status, incomplete_details) of a canonical finish reason."""
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def message_item(text: str, item_id: str = "", status: str = "completed") -> dict[str, Any]:
    return {"id": item_id or new_id("msg_"), "type": "message", "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def call_item(call: Mapping[str, Any], item_id: str = "", status: str = "completed") -> dict[str, Any]:
    fn = call.get("function") or {}
    return {"id": item_id or new_id("fc_"), "type": "function_call", "status": status,
            "call_id": call.get("id") or new_id("call_"), "name": fn.get("name") or "",
            "arguments": fn.get("arguments") or ""}


def envelope(request: Mapping[str, Any], model: str, response_id: str, status: str, output: list[dict[str, Any]],
             usage: Any = None, incomplete: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Response object around `output`, echoing the request's settings."""
    chat_tools = request.get("tools") or []
    out: dict[str, Any] = {
        "id": response_id, "object": "response", "created_at": int(time.time()), "model": model, "status": status,
        "output": output, "error": None, "incomplete_details": incomplete, "instructions": request.get("instructions"),
        "metadata": request.get("metadata") or {}, "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "tool_choice": request.get("tool_choice", "auto"), "tools": list(chat_tools),
        "temperature": request.get("temperature"), "top_p": request.get("top_p"),
        "max_output_tokens": request.get("max_output_tokens"), "previous_response_id": None, "store": False,
        "text": request.get("text") or {"format": {"type": "text"}}}
    parsed = from_chat(usage)
    if parsed is not None:
        out["usage"] = to_responses(parsed)
    return out


def payload_to_response(payload: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical chat completion as a Response (for the Responses `request` it answers)."""
    choice = (payload.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    text = message.get("content")
    if isinstance(text, list):
        text = "".join(str(p.get("text", "")) for p in text if isinstance(p, Mapping))
    if text:
        output.append(message_item(text))
    output += [call_item(c) for c in message.get("tool_calls") or []]
    status, incomplete = status_of(str(choice.get("finish_reason") or "stop"))
    return envelope(request, str(payload.get("model", "")), new_id("resp_"), status, output,
                    payload.get("usage"), incomplete)


def response_to_payload(response: Mapping[str, Any]) -> dict[str, Any]:
    """A Response as a canonical chat completion (the inverse of `payload_to_response`)."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in response.get("output") or []:
        if item.get("type") == "message":
            texts += [str(p.get("text", "")) for p in item.get("content") or [] if p.get("type") == "output_text"]
        elif item.get("type") == "function_call":
            calls.append({"id": item.get("call_id"), "type": "function",
                          "function": {"name": item.get("name"), "arguments": item.get("arguments") or ""}})
    reason = (response.get("incomplete_details") or {}).get("reason")
    finish = "length" if reason == "max_output_tokens" else "content_filter" if reason == "content_filter" else \
        "tool_calls" if calls else "stop"
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    out: dict[str, Any] = {"id": str(response.get("id", "")), "object": "chat.completion",
                           "created": int(response.get("created_at") or 0), "model": str(response.get("model", "")),
                           "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    usage = from_responses(response.get("usage"))
    if usage is not None:
        out["usage"] = to_chat(usage)
    return out


def echo_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request fields a Response echoes (tools in Responses form)."""
    out = {k: body.get(k) for k in ("instructions", "metadata", "temperature", "top_p", "max_output_tokens", "text")}
    out["parallel_tool_calls"] = body.get("parallel_tool_calls", True)
    out["tool_choice"] = body.get("tool_choice", "auto")
    out["tools"] = [t for t in body.get("tools") or [] if isinstance(t, Mapping)]
    return out

