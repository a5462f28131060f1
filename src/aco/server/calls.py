"""Calls to upstreams in the canonical form: the conversation made valid for the target model, sent in the
upstream's API, the reply read back (a payload, or a stream once its first chunk has arrived); the pass-through of
models that are not routed; Anthropic's count_tokens; the model list."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.responses import JSONResponse, Response, StreamingResponse

from aco.config import AcoConfig
from aco.server import conversation
from aco.server import usage as usage_of
from aco.server.http import ApiError
from aco.server.providers import Provider, provider_for
from aco.server.streaming import CanonicalStream
from aco.server.upstream import UpstreamError, Upstreams


@dataclass
class Upstreamed:
    """What one upstream call gave: a canonical payload or stream, the upstream's reply headers, its latency."""

    headers: httpx.Headers
    payload: dict[str, Any] | None = None
    stream: CanonicalStream | None = None
    latency_ms: float = 0.0


class Caller:
    """The configured upstreams, each behind its provider adapter."""

    def __init__(self, config: AcoConfig, upstreams: Upstreams) -> None:
        self.config = config
        self.upstreams = upstreams
        self.providers: dict[str, Provider] = {u.name: provider_for(u) for u in config.upstreams}
        self._models = {m.name: m for m in config.models}

    async def call(self, upstream: str, upstream_model: str, model: str, body: dict[str, Any], stream: bool,
                   previous_model: str) -> Upstreamed:
        """Send a canonical request for catalog `model` to `upstream` (as `upstream_model`) and read the reply back
        into the canonical form; `previous_model` answered the task's previous call ("" when unknown)."""
        provider = self.providers[upstream]
        target = conversation.Target(provider.api, model, self.config.upstream(upstream).takes_cache_control)
        prepared, _notes = conversation.prepare(body, target, previous_model)
        upstream_body, headers = provider.request(prepared, upstream_model), provider.headers(prepared)
        max_call_s = self.config.server.max_call_s
        if not stream:
            try:
                reply = await asyncio.wait_for(self.upstreams.post(upstream, provider.path, upstream_body, headers),
                                               max_call_s)
            except TimeoutError:
                raise UpstreamError(f"upstream {upstream!r} took longer than server.max_call_s", status=504) from None
            return Upstreamed(reply.headers, payload=provider.payload(reply.body), latency_ms=reply.latency_ms)
        opened = await self.upstreams.stream(upstream, provider.path, upstream_body, headers)
        chunks = provider.chunks(opened.iter_bytes())

        async def close() -> None:
            await chunks.aclose()
            await opened.response.aclose()

        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            await close()
            raise provider.malformed("stream (it ended before its first event)") from None
        except BaseException:
            await close()
            raise
        meter = usage_of.StreamMeter(usage_of.estimate_tokens(usage_of.prompt_chars(body)))
        return Upstreamed(opened.response.headers, stream=CanonicalStream(first, chunks, meter, close,
                                                                          deadline_s=max_call_s))

    def target(self, model: str, api: str) -> tuple[str, str]:
        """(upstream, upstream model) of a model that is not routed: a catalog model's own upstream, else the
        first upstream speaking the client's API (else the first upstream)."""
        cfg = self._models.get(model)
        if cfg is not None:
            return cfg.upstream, cfg.upstream_model or model
        same = [u.name for u in self.config.upstreams if u.api == api]
        return (same or [self.config.upstreams[0].name])[0], model

    async def forward(self, upstream: str, body: dict[str, Any], canonical: dict[str, Any]) -> Response:
        """A request in the upstream's own API, forwarded untouched (errors answered as the upstream sent them)."""
        provider = self.providers[upstream]
        headers = provider.headers(canonical)
        try:
            if body.get("stream") is True:
                opened = await self.upstreams.stream(upstream, provider.path, body, headers)
                return StreamingResponse(opened.iter_bytes(), media_type="text/event-stream")
            reply = await self.upstreams.post(upstream, provider.path, body, headers)
        except UpstreamError as exc:
            return Response(exc.body or json.dumps({"error": {"message": str(exc)}}).encode(),
                            status_code=exc.status, media_type="application/json")
        return Response(reply.body, status_code=reply.status, media_type="application/json")

    async def count_tokens(self, model: str, canonical: dict[str, Any]) -> Response:
        """Anthropic's count_tokens for `model`: asked of its Anthropic upstream when it has one, else estimated
        from the characters (header `x-aco-token-count: estimated`)."""
        upstream, upstream_model = self.target(model, "anthropic")
        provider = self.providers[upstream]
        if provider.api != "anthropic":
            tokens = usage_of.estimate_tokens(usage_of.prompt_chars(canonical))
            return JSONResponse({"input_tokens": tokens}, headers={"x-aco-token-count": "estimated"})
        prepared, _ = conversation.prepare(canonical, conversation.Target("anthropic", model, True), "")
        request = {k: v for k, v in provider.request(prepared, upstream_model).items()
                   if k not in ("max_tokens", "stream", "temperature", "top_p", "stop_sequences", "metadata")}
        try:
            reply = await self.upstreams.post(upstream, provider.count_path, request, provider.headers(prepared))
        except UpstreamError as exc:
            raise ApiError(exc.status, str(exc), "upstream_error") from None
        return Response(reply.body, status_code=reply.status, media_type="application/json")

    def model_list(self) -> dict[str, Any]:
        """The profiles as `aco/<profile>` and every catalog model, in a shape both the OpenAI and the Anthropic
        SDKs read."""
        def entry(model_id: str, owner: str, name: str) -> dict[str, Any]:
            return {"id": model_id, "object": "model", "type": "model", "created": 0, "lifecycle": "active",
                    "created_at": "1970-01-01T00:00:00Z", "owned_by": owner, "display_name": name}

        data = [entry(f"aco/{name}", "aco", f"aco/{name}: routed over {', '.join(p.candidates)}")
                for name, p in self.config.profiles.items()]
        data += [entry(m.name, m.provider or m.upstream, m.name) for m in self.config.models]
        return {"object": "list", "data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None}
