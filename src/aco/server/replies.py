"""The HTTP reply in the client's API (chat completions, Anthropic Messages, Responses) from a call's canonical
result: a payload, or a `CanonicalStream` rendered as that API's SSE events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response

from aco.server import sse
from aco.server.protocols.anthropic import payload_to_message
from aco.server.protocols.anthropic_stream import AnthropicWriter
from aco.server.protocols.responses import echo_request, payload_to_response
from aco.server.protocols.responses_stream import ResponsesWriter
from aco.server.streaming import CanonicalStream, SettlingStreamingResponse
from aco.server.upstream import UpstreamError


@dataclass
class Routed:
    """The canonical result of one call (routed or passed through) and the headers that go with it."""

    headers: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] | None = None
    stream: CanonicalStream | None = None
    decision: dict[str, Any] | None = None  # the routing decision, added to payloads as `aco`


def public_chat(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical payload or chunk without aco's internal keys (those starting with `_`)."""
    out = {k: v for k, v in payload.items() if not k.startswith("_")}
    if isinstance(out.get("choices"), list):
        out["choices"] = [{k: v for k, v in c.items() if not k.startswith("_")} if isinstance(c, Mapping) else c
                          for c in out["choices"]]
    return out


async def _render(stream: CanonicalStream, write: Callable[[Mapping[str, Any]], Iterable[bytes]],
                  end: Callable[[], Iterable[bytes]], fail: Callable[[int, str], Iterable[bytes]]
                  ) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream:
            for piece in write(chunk):
                yield piece
    except (UpstreamError, ValueError) as exc:
        status = exc.status if isinstance(exc, UpstreamError) else 502
        for piece in fail(status, str(exc)):
            yield piece
        return
    for piece in end():
        yield piece


def chat_reply(routed: Routed, request: Mapping[str, Any]) -> Response:
    """Chat completions: the payload as JSON, or `data:` chunks ending with `[DONE]`."""
    if routed.stream is None:
        assert routed.payload is not None
        payload = public_chat(routed.payload)
        if routed.decision is not None:
            payload["aco"] = routed.decision
        return JSONResponse(payload, headers=routed.headers)
    options = request.get("stream_options")
    wants_usage = isinstance(options, Mapping) and options.get("include_usage") is True

    def write(chunk: Mapping[str, Any]) -> Iterable[bytes]:
        if chunk.get("choices") or wants_usage:
            return [sse.encode(public_chat(chunk))]
        return []

    def fail(status: int, message: str) -> Iterable[bytes]:
        return [sse.encode({"error": {"message": message, "type": "upstream_error", "code": status}})]

    body = _render(routed.stream, write, lambda: [sse.encode("[DONE]")], fail)
    return SettlingStreamingResponse(body, routed.stream, routed.headers)


def messages_reply(routed: Routed) -> Response:
    """Anthropic Messages: a Message, or its named SSE events."""
    if routed.stream is None:
        assert routed.payload is not None
        message = payload_to_message(routed.payload)
        if routed.decision is not None:
            message["aco"] = routed.decision
        return JSONResponse(message, headers=routed.headers)
    writer = AnthropicWriter(routed.stream.model)

    def events(pairs: Iterable[tuple[str, dict[str, Any]]]) -> Iterable[bytes]:
        return [sse.encode(data, name) for name, data in pairs]

    body = _render(routed.stream, lambda c: events(writer.feed(c)), lambda: events(writer.end()),
                   lambda status, message: events(writer.error(status, message)))
    return SettlingStreamingResponse(body, routed.stream, routed.headers)


def responses_reply(routed: Routed, request: Mapping[str, Any]) -> Response:
    """OpenAI Responses: a Response, or its stream events."""
    echo = echo_request(request)
    if routed.stream is None:
        assert routed.payload is not None
        response = payload_to_response(routed.payload, echo)
        if routed.decision is not None:
            response["aco"] = routed.decision
        return JSONResponse(response, headers=routed.headers)
    writer = ResponsesWriter(echo, routed.stream.model)

    def events(items: Iterable[dict[str, Any]]) -> Iterable[bytes]:
        return [sse.encode(item, item["type"]) for item in items]

    body = _render(routed.stream, lambda c: events(writer.feed(c)), lambda: events(writer.end()),
                   lambda _status, message: events(writer.error(message)))
    return SettlingStreamingResponse(body, routed.stream, routed.headers)
