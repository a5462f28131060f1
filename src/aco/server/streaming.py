"""A routed call's stream, metered and settled exactly once however it ends (finished, cut off by the client,
broken upstream, over `server.max_call_s`), and the HTTP response that guarantees the settlement runs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from aco.server.upstream import UpstreamError
from aco.server.usage import StreamMeter

OnEnd = Callable[[StreamMeter], Awaitable[None]]


async def _nothing(_: StreamMeter) -> None:
    return None


class CanonicalStream:
    """Canonical chunks of an upstream stream whose first chunk already arrived (so fallback is over).

    Iterate it once; `finish()` closes the upstream response and calls `on_end` with the meter (the bill)
    exactly once. `deadline_s` cuts a stream that runs longer than the server allows.
    """

    def __init__(self, first: dict[str, Any], rest: AsyncIterator[dict[str, Any]], meter: StreamMeter,
                 close: Callable[[], Awaitable[None]], on_end: OnEnd = _nothing, deadline_s: float = 0.0) -> None:
        self.first = first
        self.rest = rest
        self.meter = meter
        self._close = close
        self.on_end = on_end
        self.deadline = time.monotonic() + deadline_s if deadline_s else 0.0
        self.model = str(first.get("model") or "")
        self._finished = False

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        self.meter.add(self.first)
        yield self.first
        async for chunk in self.rest:
            if self.deadline and time.monotonic() > self.deadline:
                raise UpstreamError("the call ran longer than server.max_call_s and was cut", status=504)
            self.meter.add(chunk)
            yield chunk

    @classmethod
    def of_chunks(cls, chunks: list[dict[str, Any]]) -> CanonicalStream:
        """A stream of chunks already at hand (an answer that was verified before it was sent); nothing to close
        and nothing to settle (its call was booked when it was made)."""

        async def rest() -> AsyncIterator[dict[str, Any]]:
            for item in chunks[1:]:
                yield item

        async def close() -> None:
            return None

        return cls(chunks[0], rest(), StreamMeter(0), close)

    async def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        with anyio.CancelScope(shield=True):
            try:
                await self._close()
            finally:
                await self.on_end(self.meter)


class SettlingStreamingResponse(StreamingResponse):
    """An SSE response that finishes its `CanonicalStream` (closing the upstream and settling the call) when
    the response ends for any reason, including the client disconnecting mid-stream."""

    def __init__(self, content: AsyncIterator[bytes], stream: CanonicalStream, headers: dict[str, str]) -> None:
        super().__init__(content, media_type="text/event-stream", headers={"cache-control": "no-cache", **headers})
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
                await self.stream.finish()
