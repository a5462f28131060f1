"""Canonical chunk streams -> OpenAI Responses stream events (response.created ... response.completed), with
text and function-call output items, for a Responses client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aco.server.protocols.chat import new_id
from aco.server.protocols.responses import call_item, envelope, message_item, status_of


class ResponsesWriter:
    """Canonical chunks -> Responses events; one output item (a message or a function call) open at a time."""

    def __init__(self, request: Mapping[str, Any], model: str) -> None:
        self.request = request
        self.model = model
        self.response_id = new_id("resp_")
        self.sequence = 0
        self.output: list[dict[str, Any]] = []  # finished items
        self.open: dict[str, Any] | None = None  # the item being streamed
        self.open_key: tuple[str, int] | None = None
        self.calls: dict[int, int] = {}  # canonical tool-call index -> output index
        self.finish_reason = "stop"
        self.usage: Any = None
        self.started = False

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.sequence += 1
        return {"type": kind, "sequence_number": self.sequence - 1, **fields}

    def _envelope(self, status: str, output: list[dict[str, Any]], incomplete: dict[str, Any] | None = None,
                  usage: Any = None) -> dict[str, Any]:
        return envelope(self.request, self.model, self.response_id, status, output, usage, incomplete)

    def _start(self) -> list[dict[str, Any]]:
        self.started = True
        response = self._envelope("in_progress", [])
        return [self._event("response.created", response=response),
                self._event("response.in_progress", response=response)]

    def _index(self) -> int:
        return len(self.output)

    def _close(self) -> list[dict[str, Any]]:
        item, self.open, self.open_key = self.open, None, None
        if item is None:
            return []
        index = self._index()
        events = []
        if item["type"] == "message":
            part = item["content"][0]
            events += [self._event("response.output_text.done", item_id=item["id"], output_index=index,
                                   content_index=0, text=part["text"], logprobs=[]),
                       self._event("response.content_part.done", item_id=item["id"], output_index=index,
                                   content_index=0, part=part)]
        else:
            events.append(self._event("response.function_call_arguments.done", item_id=item["id"],
                                      output_index=index, arguments=item["arguments"], name=item["name"]))
        item["status"] = "completed"
        events.append(self._event("response.output_item.done", output_index=index, item=item))
        self.output.append(item)
        return events

    def _open_item(self, key: tuple[str, int], item: dict[str, Any]) -> list[dict[str, Any]]:
        events = self._close()
        self.open, self.open_key = item, key
        added = {**item, "content": []} if item["type"] == "message" else dict(item)
        events.append(self._event("response.output_item.added", output_index=self._index(), item=added))
        if item["type"] == "message":
            events.append(self._event("response.content_part.added", item_id=item["id"], output_index=self._index(),
                                      content_index=0, part={"type": "output_text", "text": "", "annotations": [],
                                                             "logprobs": []}))
        return events

    def feed(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        events = [] if self.started else self._start()
        if chunk.get("model") and not self.model:
            self.model = str(chunk["model"])
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if self.open_key != ("message", 0):
                    events += self._open_item(("message", 0), message_item("", status="in_progress"))
                assert self.open is not None
                self.open["content"][0]["text"] += delta["content"]
                events.append(self._event("response.output_text.delta", item_id=self.open["id"],
                                          output_index=self._index(), content_index=0, delta=delta["content"],
                                          logprobs=[]))
            for call in delta.get("tool_calls") or []:
                events += self._call(call)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return events

    def _call(self, call: Mapping[str, Any]) -> list[dict[str, Any]]:
        key = int(call.get("index", 0))
        args = str((call.get("function") or {}).get("arguments") or "")
        events: list[dict[str, Any]] = []
        if key not in self.calls:
            item = call_item({**call, "function": {**(call.get("function") or {}), "arguments": ""}},
                             status="in_progress")
            events += self._open_item(("call", key), item)
            self.calls[key] = self._index()
        elif self.open_key != ("call", key):
            raise ValueError(f"tool call {key}'s arguments arrived after another output item started")
        if args:
            assert self.open is not None
            self.open["arguments"] += args
            events.append(self._event("response.function_call_arguments.delta", item_id=self.open["id"],
                                      output_index=self._index(), delta=args))
        return events

    def end(self) -> list[dict[str, Any]]:
        """The closing events: every item done, then response.completed (or response.incomplete)."""
        events = ([] if self.started else self._start()) + self._close()
        status, incomplete = status_of(self.finish_reason)
        response = self._envelope(status, self.output, incomplete, self.usage)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return [*events, self._event(kind, response=response)]

    def error(self, message: str) -> list[dict[str, Any]]:
        return [self._event("error", code="upstream_error", message=message, param=None)]
