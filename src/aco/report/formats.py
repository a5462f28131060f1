"""How a bench figure is written as text (tables, tooltips): one rule per kind of field."""

from __future__ import annotations

import math
from typing import Any

from aco.catalog import format_usd

_PERCENT_FIELDS = ("cost_reduction", "oracle_gap", "unsafe_rate")


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_cell(key: str, value: Any) -> str:
    """A value as text: USD with significant digits (`format_usd`), shares as percentages, other floats with 3
    decimals."""
    if is_missing(value):
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
            return f"[{format_cell(key, value[0])}, {format_cell(key, value[1])}]"
        return str(value)
    if "usd" in key and "per_usd" not in key:
        return f"${format_usd(value)}"
    if key.startswith(_PERCENT_FIELDS):
        percent = 100 * value
        return f"{0.0 if abs(percent) < 0.05 else percent:.1f}%"  # no "-0.0%"
    if key.endswith("_seconds"):
        return f"{value:.3f}s"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.1f}"
