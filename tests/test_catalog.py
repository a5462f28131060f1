"""Cost formatting for people: significant digits, never 0.0000 for a real cost."""

from __future__ import annotations

import pytest

from aco.catalog import format_usd


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (0.000123456, "0.000123"), (0.00943, "0.00943"), (0.5, "0.500"), (4.8123, "4.81"),
    (360.624, "360.62"), (1234.5, "1,234.50"), (-0.0021, "-0.00210"),
])
def test_format_usd(value: float, text: str) -> None:
    assert format_usd(value) == text
