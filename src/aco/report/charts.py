"""Interactive charts in a self-contained page: the chart script and styles (package data, inlined) and a
chart's spec embedded as JSON that the script renders (hover, toggles, zoom, non-overlapping labels)."""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any


@cache
def chart_assets() -> tuple[str, str]:
    """(CSS, JavaScript) of the chart library shipped in `aco/report/assets`."""
    folder = resources.files("aco.report").joinpath("assets")
    css = folder.joinpath("charts.css").read_text(encoding="utf-8")
    js = folder.joinpath("charts.js").read_text(encoding="utf-8")
    if "</script" in js.lower():
        raise ValueError("charts.js must not contain '</script' (it is inlined in a <script> element)")
    return css, js


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become null (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def script_json(value: Any) -> str:
    """JSON that is safe inside a `<script>` element: `<`, `>` and `&` are escaped as \\u sequences."""
    text = json.dumps(_clean(value), separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def chart_block(chart_id: str, spec: dict[str, Any]) -> str:
    """A host element and the chart's spec, rendered by the inlined chart script."""
    return (f'<div class="aco-chart-host" id="{chart_id}"></div>'
            f'<script type="application/json" data-aco-chart="{chart_id}">{script_json({"id": chart_id, **spec})}'
            "</script>")


def page_assets() -> tuple[str, str]:
    """(`<style>` content, `<script>` element) to put in a report page once."""
    css, js = chart_assets()
    return css, f"<script>{js}</script>"


def hex_colour(rgba: Any) -> str:
    """A matplotlib colour as #rrggbb."""
    from matplotlib.colors import to_hex

    return str(to_hex(rgba))
