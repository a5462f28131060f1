"""Upstream calls through httpx (any API: the path and body come from the provider adapter): timeouts, retries
with backoff, retryable-error detection.

5xx, 429, 529 and timeouts/connection errors are retryable (and make the proxy fall back to the next model);
other 4xx are the caller's fault and are returned with the upstream's message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from aco.config import AcoConfig, UpstreamConfig

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})


class UpstreamError(Exception):
    """An upstream call failed; `retryable` says whether another model may be tried."""

    def __init__(self, message: str, *, status: int = 502, retryable: bool = True, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.body = body


@dataclass
class UpstreamReply:
    """A finished non-streaming reply."""

    status: int
    headers: httpx.Headers
    body: bytes
    latency_ms: float


@dataclass
class UpstreamStream:
    """An open streaming reply whose first chunk has already arrived (so fallback is no longer possible)."""

    response: httpx.Response
    first_chunk: bytes
    chunks: AsyncIterator[bytes]

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        if self.first_chunk:
            yield self.first_chunk
        try:
            async for chunk in self.chunks:
                yield chunk
        finally:
            await self.response.aclose()


class Upstreams:
    """One pooled httpx client per configured upstream (keys from the environment, sent, never logged)."""

    def __init__(self, config: AcoConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.configs = {u.name: u for u in config.upstreams}
        self.clients = {u.name: self._client(u, transport) for u in config.upstreams}

    @staticmethod
    def _client(u: UpstreamConfig, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        headers = u.auth_headers()
        timeout = httpx.Timeout(u.timeout_s, connect=u.connect_timeout_s)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        return httpx.AsyncClient(base_url=u.base_url.rstrip("/") + "/", headers=headers, timeout=timeout,
                                 transport=transport, limits=limits)

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def _attempts(self, upstream: str) -> AsyncIterator[int]:
        cfg = self.configs[upstream]
        for attempt in range(cfg.max_retries + 1):
            if attempt:
                await asyncio.sleep(cfg.backoff_s * (2 ** (attempt - 1)))
            yield attempt

    async def post(self, upstream: str, path: str, body: Mapping[str, Any],
                   headers: Mapping[str, str] | None = None) -> UpstreamReply:
        """POST `path` (non-streaming) with retries; raises UpstreamError when it cannot succeed."""
        client = self.clients[upstream]
        error = UpstreamError(f"upstream {upstream!r} was not called")
        async for _ in self._attempts(upstream):
            loop = asyncio.get_running_loop()
            start = loop.time()
            try:
                response = await client.post(path, json=body, headers=headers)
            except httpx.TimeoutException as exc:
                error = UpstreamError(f"upstream {upstream!r} timed out ({type(exc).__name__})", status=504)
                continue
            except httpx.TransportError as exc:
                error = UpstreamError(f"upstream {upstream!r} unreachable ({type(exc).__name__})", status=502)
                continue
            latency_ms = (loop.time() - start) * 1000.0
            if response.status_code < 400:
                return UpstreamReply(response.status_code, response.headers, response.content, latency_ms)
            error = _http_error(upstream, response.status_code, response.content)
            if not error.retryable:
                break
        raise error

    async def stream(self, upstream: str, path: str, body: Mapping[str, Any],
                     headers: Mapping[str, str] | None = None) -> UpstreamStream:
        """Open a streaming call to `path` and wait for its first chunk (retrying until then)."""
        client = self.clients[upstream]
        error = UpstreamError(f"upstream {upstream!r} was not called")
        async for _ in self._attempts(upstream):
            request = client.build_request("POST", path, json=body, headers=headers)
            response: httpx.Response | None = None
            try:
                response = await client.send(request, stream=True)
                if response.status_code >= 400:
                    content = await response.aread()
                    await response.aclose()
                    error = _http_error(upstream, response.status_code, content)
                    if not error.retryable:
                        break
                    continue
                chunks = response.aiter_bytes()
                first = await anext(chunks, b"")
                return UpstreamStream(response, first, chunks)
            except httpx.TimeoutException as exc:
                error = UpstreamError(f"upstream {upstream!r} stream timed out ({type(exc).__name__})", status=504)
            except httpx.TransportError as exc:
                error = UpstreamError(f"upstream {upstream!r} unreachable ({type(exc).__name__})", status=502)
            if response is not None:
                await response.aclose()
        raise error


def error_message(body: bytes) -> str:
    """The message of an error body in OpenAI's or Anthropic's shape (both nest it under `error.message`)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip()
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:500]
    return str(data)[:200]


def _http_error(upstream: str, status: int, body: bytes) -> UpstreamError:
    message = error_message(body)
    return UpstreamError(f"upstream {upstream!r} answered HTTP {status}" + (f": {message}" if message else ""),
                         status=status, retryable=status in RETRYABLE_STATUS, body=body)
