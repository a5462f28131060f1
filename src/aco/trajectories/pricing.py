"""Stated token prices (src/aco/data/prices.toml): data, not code."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from aco.errors import ConfigError


@dataclass(frozen=True, slots=True)
class TokenPrice:
    """USD per million tokens, and the tokens-per-character ratio used where only characters are recorded."""

    model: str
    usd_per_mtok_input: float
    usd_per_mtok_output: float
    tokens_per_char: float = 0.25
    source: str = ""

    def cost_usd(self, input_tokens: float, output_tokens: float) -> float:
        """Price of `input_tokens` in and `output_tokens` out."""
        return (input_tokens * self.usd_per_mtok_input + output_tokens * self.usd_per_mtok_output) / 1e6


def load_prices(path: Path | None = None) -> dict[str, TokenPrice]:
    """Every stated price in `path` (default: the packaged prices.toml), by model name."""
    if path is None:
        text = resources.files("aco").joinpath("data", "prices.toml").read_text(encoding="utf-8")
        where = "aco/data/prices.toml"
    else:
        text, where = path.read_text(encoding="utf-8"), str(path)
    try:
        models = tomllib.loads(text).get("models", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    out: dict[str, TokenPrice] = {}
    for name, entry in models.items():
        try:
            out[name] = TokenPrice(
                model=name, usd_per_mtok_input=float(entry["usd_per_mtok_input"]),
                usd_per_mtok_output=float(entry["usd_per_mtok_output"]),
                tokens_per_char=float(entry.get("tokens_per_char", 0.25)), source=str(entry.get("source", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: models.{name!r}: bad or missing field ({exc})") from None
    return out


def stated_price(model: str, path: Path | None = None) -> TokenPrice:
    """The stated price of `model`; a ConfigError names the known models when it is absent."""
    prices = load_prices(path)
    if model not in prices:
        raise ConfigError(f"no stated price for {model!r} in prices.toml; have {sorted(prices)}")
    return prices[model]
