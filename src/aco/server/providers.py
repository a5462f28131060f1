"""Provider adapters: the canonical form (OpenAI chat completions) to an upstream's API and back.

`OpenAIProvider` speaks chat completions (OpenAI, DeepSeek, Gemini's OpenAI endpoint, OpenRouter, vLLM, Ollama,
a LiteLLM proxy); `AnthropicProvider` speaks Anthropic's Messages API. Each reads the upstream's replies and
streams into canonical payloads and chunks, and turns anything malformed into a 502 naming the upstream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import httpx

from aco.config import UpstreamConfig
from aco.server.protocols.anthropic import chat_to_request, message_to_payload
from aco.server.protocols.anthropic_stream import AnthropicReader, StreamError
from aco.server.sse import SSEEvent, iter_events
from aco.server.upstream import UpstreamError

_CHAT_MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id", "function_call", "refusal")


class OpenAIProvider:
    """An OpenAI-compatible upstream (chat completions)."""

    api = "openai"
    path = "chat/completions"
    count_path = ""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self.name = config.name

    def malformed(self, what: str) -> UpstreamError:
        return UpstreamError(f"upstream {self.name!r} sent a malformed {what}", status=502)

    def request(self, body: Mapping[str, Any], model: str) -> dict[str, Any]:
        """The upstream's request body (the canonical body without aco's extensions)."""
        out = {k: v for k, v in body.items() if not k.startswith("_")}
        out["model"] = model
        out["messages"] = [{k: v for k, v in m.items() if k in _CHAT_MESSAGE_KEYS} for m in body["messages"]]
        if body.get("stream"):
            out["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        return out

    def headers(self, body: Mapping[str, Any]) -> dict[str, str]:
        """Per-call headers beyond the upstream's own (none for OpenAI-compatible upstreams)."""
        return {}

    def payload(self, raw: bytes) -> dict[str, Any]:
        """The canonical payload of a reply body."""
        try:
            data = json.loads(raw)
        except ValueError:
            raise self.malformed(f"body (not JSON: {raw[:80]!r})") from None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0].get("message"), dict):
            raise self.malformed("body (no choices[0].message)")
        return dict(data)

    async def chunks(self, raw: AsyncIterator[bytes]) -> AsyncGenerator[dict[str, Any], None]:
        """The canonical chunks of a streamed reply (read to its end, so the connection can be reused)."""
        done = False
        async for event in self._events(raw):
            if done or event.data.strip() == "[DONE]":
                done = True
                continue
            try:
                data = json.loads(event.data)
            except ValueError:
                raise self.malformed(f"stream (event data is not JSON: {event.data[:80]!r})") from None
            if not isinstance(data, dict):
                raise self.malformed("stream (event data is not an object)")
            if data.get("error"):
                message = data["error"].get("message") if isinstance(data["error"], dict) else data["error"]
                raise UpstreamError(f"upstream {self.name!r} stream error: {message}", status=502)
            yield data

    async def _events(self, raw: AsyncIterator[bytes]) -> AsyncIterator[SSEEvent]:
        try:
            async for event in iter_events(raw):
                yield event
        except httpx.TimeoutException as exc:
            raise UpstreamError(f"upstream {self.name!r} stream timed out ({type(exc).__name__})", status=504) from None
        except httpx.TransportError as exc:
            raise UpstreamError(f"upstream {self.name!r} stream broke ({type(exc).__name__})", status=502) from None


class AnthropicProvider(OpenAIProvider):
    """Anthropic's native Messages API."""

    api = "anthropic"
    path = "messages"
    count_path = "messages/count_tokens"

    def request(self, body: Mapping[str, Any], model: str) -> dict[str, Any]:
        return chat_to_request(body, model)

    def headers(self, body: Mapping[str, Any]) -> dict[str, str]:
        """The client's `anthropic-beta` features, when it sent any."""
        beta = body.get("_anthropic_beta")
        return {"anthropic-beta": str(beta)} if beta else {}

    def payload(self, raw: bytes) -> dict[str, Any]:
        try:
            return message_to_payload(json.loads(raw))
        except (ValueError, TypeError, AttributeError) as exc:
            raise self.malformed(f"body ({exc})") from None

    async def chunks(self, raw: AsyncIterator[bytes]) -> AsyncGenerator[dict[str, Any], None]:
        reader = AnthropicReader()
        async for event in self._events(raw):
            if reader.stopped:
                continue  # read to the end, so the connection can be reused
            try:
                for chunk in reader.feed(event.event, event.data):
                    yield chunk
            except StreamError as exc:
                raise self.malformed(f"stream ({exc})") from None


Provider = OpenAIProvider


def provider_for(config: UpstreamConfig) -> Provider:
    return AnthropicProvider(config) if config.api == "anthropic" else OpenAIProvider(config)
