"""Anthropic Messages streams <-> canonical chunk streams: `AnthropicWriter` turns canonical chunks into
Anthropic's named SSE events (message_start, content_block_start/delta/stop, message_delta, message_stop) for a
client; `AnthropicReader` turns an Anthropic upstream's events into canonical chunks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aco.server.protocols.anthropic import FINISH_OF_STOP, STOP_OF_FINISH, error_body
from aco.server.protocols.chat import chunk, new_id
from aco.server.usage import from_anthropic, from_chat, to_anthropic, to_chat

Event = tuple[str, dict[str, Any]]  # (event name, data)


class StreamError(ValueError):
    """A stream that breaks its protocol (bad JSON, events out of order, an error event)."""


class AnthropicWriter:
    """Canonical chunks -> Anthropic stream events, one content block open at a time."""

    def __init__(self, model: str, start_usage: Mapping[str, Any] | None = None) -> None:
        self.model = model
        self.start_usage = dict(start_usage or {"input_tokens": 0, "output_tokens": 0})
        self.message_id = new_id("msg_")
        self.started = False
        self.blocks = 0  # content blocks opened so far
        self.open: tuple[str, int] | None = None  # (kind, key) of the block being streamed
        self.tool_blocks: dict[int, int] = {}
        self.thinking_blocks: dict[int, int] = {}
        self.finish: dict[str, Any] = {}
        self.usage: Any = None
        self.tool_calls_seen = False

    def _start(self, model: str) -> list[Event]:
        self.started = True
        message: dict[str, Any] = {
            "id": self.message_id, "type": "message", "role": "assistant", "model": model or self.model,
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": self.start_usage}
        return [("message_start", {"type": "message_start", "message": message})]

    def _close(self) -> list[Event]:
        if self.open is None:
            return []
        self.open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self.blocks - 1})]

    def _open(self, kind: str, key: int, block: dict[str, Any]) -> list[Event]:
        events = self._close()
        self.open = (kind, key)
        self.blocks += 1
        start = {"type": "content_block_start", "index": self.blocks - 1, "content_block": block}
        return [*events, ("content_block_start", start)]

    def _delta(self, delta: dict[str, Any]) -> Event:
        return ("content_block_delta", {"type": "content_block_delta", "index": self.blocks - 1, "delta": delta})

    def feed(self, data: Mapping[str, Any]) -> list[Event]:
        events = [] if self.started else self._start(str(data.get("model") or ""))
        if data.get("usage"):
            self.usage = data["usage"]
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            for block in delta.get("thinking_blocks") or []:
                events += self._thinking(block)
            if delta.get("content"):
                if self.open != ("text", 0):
                    events += self._open("text", 0, {"type": "text", "text": ""})
                events.append(self._delta({"type": "text_delta", "text": delta["content"]}))
            for call in delta.get("tool_calls") or []:
                events += self._tool(call)
            if choice.get("finish_reason"):
                self.finish = dict(choice)
        return events

    def _thinking(self, block: Mapping[str, Any]) -> list[Event]:
        key = int(block.get("index", 0))
        events: list[Event] = []
        if key not in self.thinking_blocks:
            if block.get("type") == "redacted_thinking":
                events += self._open("redacted", key, {"type": "redacted_thinking", "data": block.get("data", "")})
                self.thinking_blocks[key] = self.blocks - 1
                return events + self._close()
            events += self._open("thinking", key, {"type": "thinking", "thinking": "", "signature": ""})
            self.thinking_blocks[key] = self.blocks - 1
        elif self.open != ("thinking", key):
            raise StreamError("thinking deltas interleaved with other content")
        if block.get("thinking"):
            events.append(self._delta({"type": "thinking_delta", "thinking": block["thinking"]}))
        if block.get("signature"):
            events.append(self._delta({"type": "signature_delta", "signature": block["signature"]}))
        return events

    def _tool(self, call: Mapping[str, Any]) -> list[Event]:
        key = int(call.get("index", 0))
        fn = call.get("function") or {}
        events: list[Event] = []
        if key not in self.tool_blocks:
            self.tool_calls_seen = True
            events += self._open("tool", key, {"type": "tool_use", "id": call.get("id") or new_id("toolu_"),
                                               "name": fn.get("name") or "", "input": {}})
            self.tool_blocks[key] = self.blocks - 1
        elif self.open != ("tool", key):
            raise StreamError(f"tool call {key}'s arguments arrived after another block started")
        if fn.get("arguments"):
            events.append(self._delta({"type": "input_json_delta", "partial_json": fn["arguments"]}))
        return events

    def end(self) -> list[Event]:
        """The closing events (after the last chunk)."""
        events = ([] if self.started else self._start("")) + self._close()
        stop = self.finish.get("_stop_reason")
        if not stop:
            finish = str(self.finish.get("finish_reason") or "stop")
            stop = "tool_use" if finish == "stop" and self.tool_calls_seen else STOP_OF_FINISH.get(finish, "end_turn")
        usage = from_chat(self.usage)
        out_usage = to_anthropic(usage) if usage is not None else {"output_tokens": 0}
        events.append(("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": stop,
                                                   "stop_sequence": self.finish.get("_stop_sequence")},
                                         "usage": out_usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    @staticmethod
    def error(status: int, message: str) -> list[Event]:
        return [("error", error_body(status, message))]


class AnthropicReader:
    """An Anthropic upstream's stream events -> canonical chunks (usage in a last chunk, as OpenAI sends it)."""

    def __init__(self) -> None:
        self.id = new_id("chatcmpl-")
        self.model = ""
        self.usage: dict[str, Any] = {}
        self.kinds: dict[int, tuple[str, int]] = {}  # block index -> (kind, tool or thinking index)
        self.tools = 0
        self.thinking = 0
        self.stopped = False

    def _chunk(self, delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return chunk(self.id, self.model, delta, finish, **extra)

    def feed(self, name: str, data: str) -> list[dict[str, Any]]:
        try:
            event = json.loads(data)
        except ValueError:
            raise StreamError(f"event {name or '?'} is not JSON: {data[:80]!r}") from None
        if not isinstance(event, dict):
            raise StreamError(f"event {name or '?'} is not a JSON object")
        kind = event.get("type") or name
        if kind == "error":
            error = event.get("error") or {}
            raise StreamError(f"upstream stream error: {error.get('type', '')}: {error.get('message', '')}")
        handler = getattr(self, f"_on_{kind}", None)
        return handler(event) if handler is not None else []

    def _on_message_start(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        message = event.get("message") or {}
        self.id = str(message.get("id") or self.id)
        self.model = str(message.get("model") or "")
        self.usage.update(message.get("usage") or {})
        first = self._chunk({"role": "assistant", "content": ""})
        start = from_anthropic({"output_tokens": 0, **self.usage})
        if start is not None and start.total_tokens:
            first["_input_usage"] = to_chat(start)  # known before any output: the bill of a stream cut early
        return [first]

    def _on_content_block_start(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        block = event.get("content_block") or {}
        index = int(event.get("index", len(self.kinds)))
        kind = block.get("type")
        if kind in ("tool_use", "server_tool_use"):
            self.kinds[index] = ("tool", self.tools)
            self.tools += 1
            args = json.dumps(block["input"]) if block.get("input") else ""
            return [self._chunk({"tool_calls": [{"index": self.tools - 1, "id": block.get("id"), "type": "function",
                                                 "function": {"name": block.get("name"), "arguments": args}}]})]
        if kind in ("thinking", "redacted_thinking"):
            self.kinds[index] = ("thinking", self.thinking)
            self.thinking += 1
            start = {k: block[k] for k in ("thinking", "signature", "data") if block.get(k)}
            return [self._chunk({"thinking_blocks": [{"index": self.thinking - 1, "type": kind, **start}]})]
        self.kinds[index] = ("text", 0)
        return [self._chunk({"content": block["text"]})] if block.get("text") else []

    def _on_content_block_delta(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta") or {}
        kind, key = self.kinds.get(int(event.get("index", -1)), ("", 0))
        if not kind:
            raise StreamError("content_block_delta before its content_block_start")
        dtype = delta.get("type")
        if dtype == "text_delta":
            return [self._chunk({"content": str(delta.get("text", ""))})]
        if dtype == "input_json_delta":
            return [self._chunk({"tool_calls": [{"index": key,
                                                 "function": {"arguments": str(delta.get("partial_json", ""))}}]})]
        if dtype == "thinking_delta":
            text = str(delta.get("thinking", ""))
            return [self._chunk({"reasoning_content": text, "thinking_blocks": [{"index": key, "thinking": text}]})]
        if dtype == "signature_delta":
            return [self._chunk({"thinking_blocks": [{"index": key, "signature": str(delta.get("signature", ""))}]})]
        return []

    def _on_message_delta(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta") or {}
        self.usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        stop = delta.get("stop_reason")
        if not stop:
            return []
        extra: dict[str, Any] = {"_stop_reason": stop}
        if delta.get("stop_sequence") is not None:
            extra["_stop_sequence"] = delta["stop_sequence"]
        return [self._chunk({}, FINISH_OF_STOP.get(str(stop), "stop"), **extra)]

    def _on_message_stop(self, _: Mapping[str, Any]) -> list[dict[str, Any]]:
        self.stopped = True
        usage = from_anthropic(self.usage)
        return [{**self._chunk(), "usage": to_chat(usage)}] if usage is not None else []
