"""Prices as invoiced: fresh input, cached input, cache writes, output (reasoning included), per call; the
expected cost of a task's next call and of switching it to another model (the cache it throws away); cost
formatting for people (significant digits, never 0.0000 for a real cost)."""

from __future__ import annotations

import pytest

from aco.catalog import Catalog, PricedModel, format_usd
from aco.config import AcoConfig
from aco.records import ModelSpec, Usage

# Gemini 3 Pro list prices (<= 200k context): USD 2 / 1M input, 0.20 / 1M cached input, 12 / 1M output
GEMINI = PricedModel(ModelSpec("gemini", usd_per_mtok_input=2.0, usd_per_mtok_output=12.0),
                     usd_per_mtok_cached_input=0.2, typical_output_tokens=100)
# Claude Sonnet list prices: 3 in, 0.30 cache read, 3.75 cache write (5 min), 15 out
SONNET = PricedModel(ModelSpec("sonnet", usd_per_mtok_input=3.0, usd_per_mtok_output=15.0),
                     usd_per_mtok_cached_input=0.3, usd_per_mtok_cache_write=3.75, typical_output_tokens=100)


def test_cost_prices_each_kind_of_token() -> None:
    # a recorded Gemini 3 Pro call (mini_gemini3pro_first6.jsonl, astropy__astropy-12907 turn 4): 6,388 prompt
    # tokens of which 6,081 cached, 102 completion tokens; its recorded cost is USD 0.0030542
    usage = Usage(input_tokens=6388 - 6081, cached_input_tokens=6081, output_tokens=102)
    assert GEMINI.cost_usd(usage) == pytest.approx(0.0030542, abs=1e-12)
    write = Usage(input_tokens=10, cache_write_tokens=1000, cached_input_tokens=2000, output_tokens=50,
                  reasoning_tokens=20)
    assert SONNET.cost_usd(write) == pytest.approx((10 * 3 + 1000 * 3.75 + 2000 * 0.3 + 50 * 15) / 1e6)


def test_unset_cache_prices_cost_the_input_price() -> None:
    plain = PricedModel(ModelSpec("m", usd_per_mtok_input=1.0, usd_per_mtok_output=2.0), usd_per_call=0.5)
    usage = Usage(input_tokens=100, cached_input_tokens=200, cache_write_tokens=300, output_tokens=10)
    assert plain.cost_usd(usage) == pytest.approx((600 * 1.0 + 10 * 2.0) / 1e6 + 0.5)
    assert not plain.caches_prompts and GEMINI.caches_prompts


def test_next_call_cost_reads_the_warm_prefix_at_the_cached_price() -> None:
    cold = GEMINI.next_call_cost_usd(10_000)
    warm = GEMINI.next_call_cost_usd(10_000, warm_tokens=9_000)
    assert cold == pytest.approx((10_000 * 2 + 100 * 12) / 1e6)
    assert warm == pytest.approx((1_000 * 2 + 9_000 * 0.2 + 100 * 12) / 1e6)
    assert GEMINI.next_call_cost_usd(100, warm_tokens=500) == pytest.approx((100 * 0.2 + 100 * 12) / 1e6)


def test_switch_cost_counts_the_cache_thrown_away() -> None:
    cheap = PricedModel(ModelSpec("cheap", usd_per_mtok_input=1.0, usd_per_mtok_output=5.0),
                        typical_output_tokens=100)
    catalog = Catalog([GEMINI, cheap])
    # 50k tokens of conversation warm on Gemini: staying costs less than moving to a model half Gemini's price
    stay = catalog.switch_cost_usd("gemini", "gemini", 50_000, warm_tokens=48_000)
    move = catalog.switch_cost_usd("gemini", "cheap", 50_000, warm_tokens=48_000)
    assert stay == pytest.approx((2_000 * 2 + 48_000 * 0.2 + 100 * 12) / 1e6)  # 0.0148
    assert move == pytest.approx((50_000 * 1 + 100 * 5) / 1e6)  # 0.0505
    assert move > stay
    # a cold task: the cheaper model is cheaper
    assert catalog.switch_cost_usd("", "cheap", 50_000) < catalog.switch_cost_usd("", "gemini", 50_000)


def test_config_prices_cached_tokens_and_expected_cost() -> None:
    config = AcoConfig.model_validate({
        "upstreams": [{"name": "u", "base_url": "http://x/v1"}],
        "models": [{"name": "g", "upstream": "u", "usd_per_mtok_input": 2, "usd_per_mtok_output": 12,
                    "usd_per_mtok_cached_input": 0.2, "usd_per_mtok_cache_write": 2.5,
                    "typical_input_tokens": 1000, "typical_output_tokens": 100}],
        "profiles": {"p": {"candidates": ["g"]}}})
    model = config.catalog().get("g")
    assert model.expected_cost_usd() == pytest.approx((1000 * 2 + 100 * 12) / 1e6)
    assert model.cost_usd(Usage(cache_write_tokens=1000)) == pytest.approx(0.0025)


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (0.000123456, "0.000123"), (0.00943, "0.00943"), (0.5, "0.500"), (4.8123, "4.81"),
    (360.624, "360.62"), (1234.5, "1,234.50"), (-0.0021, "-0.00210"),
])
def test_format_usd(value: float, text: str) -> None:
    assert format_usd(value) == text
