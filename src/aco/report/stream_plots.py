"""Cumulative-regret curves of a streaming replay as interactive charts, in one self-contained HTML page."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aco.evaluation.stream import StreamResult
from aco.report.charts import chart_block, hex_colour, page_assets

END_SHARE = 0.2  # the "end of the stream" zoom region: the last 20% of the tasks


def _colours(n: int) -> list[str]:
    import matplotlib

    first, second = matplotlib.colormaps["tab10"], matplotlib.colormaps["Dark2"]
    return [hex_colour(first(i) if i < first.N else second((i - first.N) % second.N)) for i in range(n)]


def regret_spec(result: StreamResult, max_points: int = 400) -> dict[str, Any]:
    """Cumulative regret vs tasks seen, one line per router (online solid, offline dashed), labelled at its end;
    a zoom region on the end of the stream, where the final order is decided."""
    series = []
    ends: list[np.ndarray] = []
    for i, (run, colour) in enumerate(zip(result.runs, _colours(len(result.runs)), strict=True)):
        curve = run.cumulative_regret
        step = max(1, len(curve) // max_points)
        x = np.arange(1, len(curve) + 1)[::step]
        y = curve[::step]
        if len(curve) and x[-1] != len(curve):  # always end on the last task
            x, y = np.append(x, len(curve)), np.append(y, curve[-1])
        name = f"{run.label} ({run.kind})"
        series.append({"id": f"run-{i}", "name": name, "kind": "line", "color": colour, "endLabel": True,
                       "width": 2.0 if run.kind == "online" else 1.3, "dash": None if run.kind == "online" else "6 4",
                       "points": [[int(a), round(float(b), 4)] for a, b in zip(x, y, strict=True)]})
        ends.append(curve[int(len(curve) * (1 - END_SHARE)):])
    regions = []
    n = max((len(r.cumulative_regret) for r in result.runs), default=0)
    tails = [t for t in ends if len(t)]
    if n > 1 and tails:
        lo, hi = min(float(t.min()) for t in tails), max(float(t.max()) for t in tails)
        pad = 0.05 * (hi - lo or 1.0)
        regions.append({"name": "End of the stream", "x": [n * (1 - END_SHARE), n * 1.001], "y": [lo - pad, hi + pad]})
    return {"title": f"{result.dataset}: stream order {result.order_name} (seed {result.seed})",
            "width": 900, "height": 480,
            "x": {"label": "tasks seen", "format": "int"},
            "y": {"label": "cumulative regret (reward = score - 0.1 x USD)", "format": "num"},
            "series": series, "regions": regions}


def _table(result: StreamResult, reference: str | None) -> str:
    rows = result.rows(reference)
    keys = ["router", "kind", "verifier", "avg_perf", "cost_usd", "regret"]
    cross = f"crosses_{reference}" if reference else None
    head = "".join(f"<th>{html.escape(k)}</th>" for k in [*keys, *([cross] if cross else [])])
    body = []
    for row in rows:
        cells = [row[k] if not isinstance(row[k], float) else f"{row[k]:.2f}" for k in keys]
        if cross:
            cells.append(row.get(cross, ""))
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_stream_html(results: Sequence[StreamResult], reference: str | None = None) -> str:
    """One page: per stream order, the interactive regret chart and the summary table."""
    sections = [f"<h2>order {html.escape(r.order_name)}, seed {r.seed}</h2>"
                f"{chart_block(f'regret-{i}', regret_spec(r))}{_table(r, reference)}" for i, r in enumerate(results)]
    title = f"aco streaming replay: {html.escape(results[0].dataset)}" if results else "aco streaming replay"
    chart_css, chart_script = page_assets()
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            f"td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}{chart_css}</style></head><body>"
            f"<h1>{title}</h1><p>Regret is computed from the recorded outcomes; online routers learn from "
            "the verifier named in the table.</p>" + "".join(sections) + chart_script + "</body></html>")


def write_stream_report(results: Sequence[StreamResult], path: Path, reference: str | None = None) -> None:
    """Write the stream report to `path` (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_stream_html(results, reference), encoding="utf-8")
