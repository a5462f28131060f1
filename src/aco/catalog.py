"""Models and prices as data (from the TOML config), and the cost maths from token counts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aco.errors import ConfigError
from aco.records import ModelSpec


@dataclass(frozen=True, slots=True)
class PricedModel:
    """A catalog entry: the model spec, a flat per-call price and the upstream that serves it."""

    spec: ModelSpec
    usd_per_call: float = 0.0
    upstream: str = ""
    typical_input_tokens: int = 0
    typical_output_tokens: int = 0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def tier(self) -> int:
        return self.spec.tier

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """Price of one call: per-token prices times the tokens, plus the flat per-call price."""
        if input_tokens < 0 or output_tokens < 0:
            raise ValueError(f"token counts must be >= 0, got {input_tokens}, {output_tokens}")
        return self.spec.cost_usd(input_tokens, output_tokens) + self.usd_per_call

    def expected_cost_usd(self, input_tokens: int | None = None, output_tokens: int | None = None) -> float:
        """Cost estimate before a call (the amount reserved): typical token counts where unknown."""
        return self.cost_usd(self.typical_input_tokens if input_tokens is None else input_tokens,
                             self.typical_output_tokens if output_tokens is None else output_tokens)


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

    def cost_usd(self, name: str, input_tokens: int, output_tokens: int) -> float:
        return self.get(name).cost_usd(input_tokens, output_tokens)


def format_usd(value: float, digits: int = 3) -> str:
    """A USD amount for people: cents from $1 up (360.62, 1,234.50), else `digits` significant digits
    (0.00943, 0.000123), so a real cost never prints as 0.0000."""
    if not math.isfinite(value) or value == 0:
        return "0" if value == 0 else str(value)
    if abs(value) >= 1:
        return f"{value:,.2f}"
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{value:.{decimals}f}"
