"""Provider adapters: each upstream's request shape, auth header from the config's environment variable, and
malformed replies or streams as a 502 naming the upstream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from aco.config import UpstreamConfig
from aco.server.providers import AnthropicProvider, OpenAIProvider, provider_for
from aco.server.upstream import UpstreamError

CANONICAL: dict[str, Any] = {
    "model": "aco/p", "stream": True, "_anthropic": {"top_k": 5}, "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"},
                 {"role": "assistant", "content": None, "thinking_blocks": [], "tool_calls": [
                     {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
                 {"role": "tool", "tool_call_id": "c1", "content": "out", "is_error": True}]}


def test_auth_headers_come_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-1")
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-1")
    openai = UpstreamConfig(name="o", base_url="http://x/v1", api_key_env="TEST_OPENAI_KEY")
    claude = UpstreamConfig(name="a", base_url="http://x/v1", api="anthropic", api_key_env="TEST_ANTHROPIC_KEY")
    azure = UpstreamConfig(name="z", base_url="http://x/v1", api_key_env="TEST_OPENAI_KEY", auth_header="api-key")
    assert openai.auth_headers() == {"authorization": "Bearer sk-1"}
    assert claude.auth_headers() == {"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-1"}
    assert azure.auth_headers() == {"api-key": "sk-1"}
    assert UpstreamConfig(name="n", base_url="http://x/v1", api_key_env="UNSET_KEY_XYZ").auth_headers() == {}
    assert claude.takes_cache_control and not openai.takes_cache_control
    assert isinstance(provider_for(claude), AnthropicProvider) and type(provider_for(openai)) is OpenAIProvider


def test_openai_request_drops_aco_extensions_and_asks_for_streamed_usage() -> None:
    out = OpenAIProvider(UpstreamConfig(name="o", base_url="http://x/v1")).request(CANONICAL, "gpt-x")
    assert out["model"] == "gpt-x" and "_anthropic" not in out
    assert out["stream_options"] == {"include_usage": True}
    assert "thinking_blocks" not in out["messages"][1] and "is_error" not in out["messages"][2]


def test_anthropic_request_is_a_messages_request() -> None:
    out = AnthropicProvider(UpstreamConfig(name="a", base_url="http://x/v1", api="anthropic")).request(
        CANONICAL, "claude-x")
    assert out["model"] == "claude-x" and out["top_k"] == 5 and out["max_tokens"] == 64
    assert out["messages"][2]["content"][0]["is_error"] is True


async def _bytes(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def _drain(provider: OpenAIProvider, *pieces: bytes) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [c async for c in provider.chunks(_bytes(*pieces))]
    return asyncio.run(run())


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_malformed_bodies_and_streams_are_502_naming_the_upstream(api: str) -> None:
    provider = provider_for(UpstreamConfig(name="up-1", base_url="http://x/v1", api=api))  # type: ignore[arg-type]
    with pytest.raises(UpstreamError, match="upstream 'up-1' sent a malformed body") as err:
        provider.payload(b"{not json")
    assert err.value.status == 502
    with pytest.raises(UpstreamError, match="upstream 'up-1' sent a malformed body"):
        provider.payload(json.dumps({"unexpected": True}).encode())
    with pytest.raises(UpstreamError, match=r"upstream 'up-1'.*stream") as err:
        _drain(provider, b"data: {oops\n\n")
    assert err.value.status == 502


def test_openai_stream_stops_at_done_and_reports_error_events() -> None:
    provider = OpenAIProvider(UpstreamConfig(name="o", base_url="http://x/v1"))
    chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}}]}
    assert _drain(provider, f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\ndata: ignored\n\n".encode()) == [chunk]
    with pytest.raises(UpstreamError, match="stream error: overloaded"):
        _drain(provider, b'data: {"error": {"message": "overloaded"}}\n\n')


def test_anthropic_beta_features_reach_anthropic_upstreams_only() -> None:
    body = {**CANONICAL, "_anthropic_beta": "context-1m-2025-08-07"}
    claude = AnthropicProvider(UpstreamConfig(name="a", base_url="http://x/v1", api="anthropic"))
    assert claude.headers(body) == {"anthropic-beta": "context-1m-2025-08-07"}
    assert "_anthropic_beta" not in claude.request(body, "claude-x")
    openai = OpenAIProvider(UpstreamConfig(name="o", base_url="http://x/v1"))
    assert openai.headers(body) == {} and "_anthropic_beta" not in openai.request(body, "gpt-x")
