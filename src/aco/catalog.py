"""Models and prices as data (from the TOML config), and the cost maths from token usage (incl. prompt caching)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aco.errors import ConfigError
from aco.records import ModelSpec, Usage


@dataclass(frozen=True, slots=True)
class PricedModel:
    """A catalog entry: the model spec, a flat per-call price, prompt-cache prices and the upstream serving it.

    `usd_per_mtok_cached_input` prices input tokens read from the prompt cache and `usd_per_mtok_cache_write`
    input tokens written to it; unset (None), they cost the full input price (no discount assumed).
    """

    spec: ModelSpec
    usd_per_call: float = 0.0
    upstream: str = ""
    typical_input_tokens: int = 0
    typical_output_tokens: int = 0
    usd_per_mtok_cached_input: float | None = None
    usd_per_mtok_cache_write: float | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def tier(self) -> int:
        return self.spec.tier

    @property
    def caches_prompts(self) -> bool:
        """Whether a cached prompt prefix is cheaper on this model than fresh input."""
        cached = self.usd_per_mtok_cached_input
        return cached is not None and cached < self.spec.usd_per_mtok_input

    def cost_usd(self, usage: Usage) -> float:
        """Price of one call as invoiced: fresh input, cached input, cache writes and output (reasoning
        tokens are part of the output), plus the flat per-call price."""
        spec = self.spec
        cached = spec.usd_per_mtok_input if self.usd_per_mtok_cached_input is None else self.usd_per_mtok_cached_input
        write = spec.usd_per_mtok_input if self.usd_per_mtok_cache_write is None else self.usd_per_mtok_cache_write
        return (usage.input_tokens * spec.usd_per_mtok_input + usage.cached_input_tokens * cached
                + usage.cache_write_tokens * write + usage.output_tokens * spec.usd_per_mtok_output) / 1e6 \
            + self.usd_per_call

    def expected_cost_usd(self, input_tokens: int | None = None, output_tokens: int | None = None) -> float:
        """Cost estimate before a call (the amount reserved): typical token counts where unknown."""
        return self.cost_usd(Usage(
            input_tokens=self.typical_input_tokens if input_tokens is None else input_tokens,
            output_tokens=self.typical_output_tokens if output_tokens is None else output_tokens))

    def next_call_cost_usd(self, prompt_tokens: int, output_tokens: int | None = None, *,
                           warm_tokens: int = 0) -> float:
        """Expected cost of a task's next call on this model: the first `warm_tokens` of its `prompt_tokens`
        are in this model's prompt cache (read at the cached price), the rest is fresh input; output tokens
        are the typical count when not given."""
        warm = min(max(warm_tokens, 0), prompt_tokens) if self.caches_prompts else 0
        return self.cost_usd(Usage(
            input_tokens=prompt_tokens - warm, cached_input_tokens=warm,
            output_tokens=self.typical_output_tokens if output_tokens is None else output_tokens))


class Catalog:
    """The priced models, looked up by name."""

    def __init__(self, models: Iterable[PricedModel]) -> None:
        self.models: tuple[PricedModel, ...] = tuple(models)
        self._by_name = {m.name: m for m in self.models}
        if len(self._by_name) != len(self.models):
            raise ConfigError("the model catalog lists a model name twice")

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self.models)

    def get(self, name: str) -> PricedModel:
        try:
            return self._by_name[name]
        except KeyError:
            raise ConfigError(f"model {name!r} is not in the catalog; known: {sorted(self._by_name)}") from None

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def specs(self, names: Sequence[str] | None = None) -> tuple[ModelSpec, ...]:
        return tuple(self.get(n).spec for n in (names if names is not None else self.names()))

    def cost_usd(self, name: str, usage: Usage) -> float:
        return self.get(name).cost_usd(usage)

    def switch_cost_usd(self, current: str, target: str, prompt_tokens: int, output_tokens: int | None = None, *,
                        warm_tokens: int = 0) -> float:
        """Expected cost of the task's next call on `target` when its conversation is warm (`warm_tokens`
        cached) on `current`: staying keeps the cache, switching pays the whole prompt at `target`'s fresh
        input price. Compare it with `switch_cost_usd(current, current, ...)` to see the cache a switch throws
        away."""
        return self.get(target).next_call_cost_usd(prompt_tokens, output_tokens,
                                                   warm_tokens=warm_tokens if target == current else 0)


def format_usd(value: float, digits: int = 3) -> str:
    """A USD amount for people: cents from $1 up (360.62, 1,234.50), else `digits` significant digits
    (0.00943, 0.000123), so a real cost never prints as 0.0000."""
    if not math.isfinite(value) or value == 0:
        return "0" if value == 0 else str(value)
    if abs(value) >= 1:
        return f"{value:,.2f}"
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{value:.{decimals}f}"
