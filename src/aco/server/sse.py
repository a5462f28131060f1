"""Server-sent events: an incremental decoder for upstream streams and the encoder for client streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One event: its name (`event:` line, empty when absent) and its data (the `data:` lines joined)."""

    event: str
    data: str


class SSEDecoder:
    """Bytes in any chunking -> complete events (per the WHATWG event-stream rules: `\\n`, `\\r\\n` or `\\r`
    line ends, multi-line data, comments and unknown fields ignored)."""

    def __init__(self) -> None:
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._pending_cr = False
        self._decoder = _utf8_decoder()

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        text = self._decoder.decode(chunk)
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = text.endswith("\r")
        self._buffer += text.replace("\r\n", "\n").replace("\r", "\n")
        events = []
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SSEEvent]:
        """Events still buffered when the stream ends (a final event without its blank line counts)."""
        self._buffer += self._decoder.decode(b"", final=True)
        events = self.feed(b"\n") if self._buffer else []
        event = self._line("")
        return events + ([event] if event is not None else [])

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data and not self._event:
                return None
            event = SSEEvent(self._event, "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        return None


def _utf8_decoder() -> Any:
    import codecs

    return codecs.getincrementaldecoder("utf-8")(errors="replace")


async def iter_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[SSEEvent]:
    """The events of a byte stream."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event


def encode(data: Any, event: str = "") -> bytes:
    """One event: `data` as compact JSON (a str is sent as it is), with an `event:` line when named."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()
