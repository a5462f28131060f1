"""The SSE decoder against every way a byte stream can be split, and the encoder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aco.server.sse import SSEDecoder, SSEEvent, encode, iter_events

STREAM = (b"event: message_start\r\ndata: {\"a\": 1}\r\n\r\n: a comment\n\nid: 7\ndata: line one\ndata: line two\n\n"
          b"event: ping\ndata: {}\n\ndata: [DONE]\n\n") + "data: é\n\n".encode()
EXPECTED = [SSEEvent("message_start", '{"a": 1}'), SSEEvent("", "line one\nline two"), SSEEvent("ping", "{}"),
            SSEEvent("", "[DONE]"), SSEEvent("", "é")]


def test_every_split_gives_the_same_events() -> None:
    for cut in range(len(STREAM) + 1):
        decoder = SSEDecoder()
        events = decoder.feed(STREAM[:cut]) + decoder.feed(STREAM[cut:]) + decoder.close()
        assert events == EXPECTED, cut


def test_byte_by_byte_and_unterminated_last_event() -> None:
    decoder = SSEDecoder()
    events = [e for i in range(len(STREAM)) for e in decoder.feed(STREAM[i:i + 1])]
    assert events == EXPECTED
    decoder = SSEDecoder()
    assert decoder.feed(b"data: tail") == [] and decoder.close() == [SSEEvent("", "tail")]


def test_lone_cr_line_ends() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == [] and decoder.feed(b"\rdata: y\r\r") == [SSEEvent("", "x"),
                                                                                 SSEEvent("", "y")]


def test_iter_events_and_encode_round_trip() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in (encode({"k": "v"}, "named"), encode("[DONE]")):
            yield piece[:3]
            yield piece[3:]

    async def collect() -> list[SSEEvent]:
        return [e async for e in iter_events(chunks())]

    assert asyncio.run(collect()) == [SSEEvent("named", '{"k":"v"}'), SSEEvent("", "[DONE]")]
    assert encode({"k": "é"}) == 'data: {"k":"é"}\n\n'.encode()
