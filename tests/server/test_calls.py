"""Upstream calls: where a model that is not routed goes, the model list both SDKs read."""

from __future__ import annotations

import asyncio
import json

from aco.config import AcoConfig
from aco.server.calls import Caller
from aco.server.upstream import Upstreams

CONFIG = AcoConfig.model_validate({
    "upstreams": [{"name": "oa", "base_url": "http://oa.test/v1"},
                  {"name": "an", "api": "anthropic", "base_url": "http://an.test/v1"}],
    "models": [{"name": "gpt", "upstream": "oa"}, {"name": "claude", "upstream": "an", "upstream_model": "claude-x",
                                                    "provider": "anthropic"}],
    "profiles": {"p": {"candidates": ["gpt", "claude"]}}})


def test_unrouted_models_go_to_their_own_upstream_else_one_speaking_the_clients_api() -> None:
    caller = Caller(CONFIG, Upstreams(CONFIG))
    assert caller.target("claude", "openai") == ("an", "claude-x")
    assert caller.target("gpt", "anthropic") == ("oa", "gpt")
    assert caller.target("claude-opus-anything", "anthropic") == ("an", "claude-opus-anything")
    assert caller.target("llama-anything", "openai") == ("oa", "llama-anything")
    assert caller.target("anything", "responses") == ("oa", "anything")  # no Responses upstream: the first one


def test_model_list_and_estimated_token_count() -> None:
    caller = Caller(CONFIG, Upstreams(CONFIG))
    listed = caller.model_list()
    assert [(m["id"], m["owned_by"]) for m in listed["data"]] == [("aco/p", "aco"), ("gpt", "oa"),
                                                                 ("claude", "anthropic")]
    assert listed["first_id"] == "aco/p" and listed["last_id"] == "claude" and not listed["has_more"]
    counted = asyncio.run(caller.count_tokens("gpt", {"messages": [{"role": "user", "content": "x" * 41}]}))
    assert json.loads(bytes(counted.body)) == {"input_tokens": 11}
    assert counted.headers["x-aco-token-count"] == "estimated"
