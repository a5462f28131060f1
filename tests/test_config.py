"""The config: upstream APIs and auth, cache prices, reservation expiry age; the shipped agent example loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from aco.config import AcoConfig, load_config
from aco.errors import ConfigError
from aco.records import Usage

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_agent_example_loads_with_both_apis_and_cache_prices() -> None:
    config = load_config(EXAMPLES / "agents.toml")
    assert {u.name: u.api for u in config.upstreams} == {"anthropic": "anthropic", "openai": "openai",
                                                         "deepseek": "openai"}
    assert config.upstream("anthropic").takes_cache_control and not config.upstream("openai").takes_cache_control
    sonnet = config.catalog().get("claude-sonnet-4-5")
    assert sonnet.cost_usd(Usage(cached_input_tokens=1_000_000)) == pytest.approx(0.30)
    assert sonnet.cost_usd(Usage(cache_write_tokens=1_000_000)) == pytest.approx(3.75)
    assert config.reservation_ttl_s() == 900 + 300
    assert set(config.profiles) == {"claude-code", "openai-agent", "swe"}


def test_unknown_api_is_rejected_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[upstreams]]\nname = "u"\nbase_url = "http://x/v1"\napi = "grpc"\n'
                    '[[models]]\nname = "m"\nupstream = "u"\n[profiles.p]\ncandidates = ["m"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"upstreams.0.api"):
        load_config(path)


def test_reservation_ttl_covers_the_longest_call() -> None:
    config = AcoConfig.model_validate({
        "server": {"max_call_s": 30},
        "upstreams": [{"name": "a", "base_url": "http://a/v1", "timeout_s": 5},
                      {"name": "b", "base_url": "http://b/v1", "timeout_s": 90}],
        "models": [{"name": "m", "upstream": "a"}], "profiles": {"p": {"candidates": ["m"]}}})
    assert config.reservation_ttl_s() == 120
