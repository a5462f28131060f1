"""A stream's call is settled exactly once however it ends, and cut when it outlives server.max_call_s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from aco.server.streaming import CanonicalStream
from aco.server.upstream import UpstreamError
from aco.server.usage import StreamMeter


async def _chunks(n: int, delay_s: float = 0.0) -> AsyncIterator[dict[str, Any]]:
    for _ in range(n):
        await asyncio.sleep(delay_s)
        yield {"choices": [{"delta": {"content": "abcd"}}]}


def test_finish_closes_and_settles_once_with_what_was_streamed() -> None:
    events: list[str] = []

    async def close() -> None:
        events.append("closed")

    async def on_end(meter: StreamMeter) -> None:
        events.append(f"settled {meter.usage().output_tokens}")

    async def run() -> None:
        stream = CanonicalStream({"model": "m", "choices": []}, _chunks(5), StreamMeter(10), close, on_end)
        seen = 0
        async for _ in stream:
            seen += 1
            if seen == 3:
                break  # the client went away
        await stream.finish()
        await stream.finish()

    asyncio.run(run())
    assert events == ["closed", "settled 2"]  # two chunks of 4 characters after the first


def test_a_stream_longer_than_the_deadline_is_cut() -> None:
    async def close() -> None:
        return None

    async def run() -> None:
        stream = CanonicalStream({"choices": []}, _chunks(50, 0.01), StreamMeter(0), close, deadline_s=0.05)
        async for _ in stream:
            pass

    with pytest.raises(UpstreamError, match="max_call_s") as err:
        asyncio.run(run())
    assert err.value.status == 504
