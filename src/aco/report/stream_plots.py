"""Cumulative-regret curves of a streaming replay, as inline SVG, and a small self-contained HTML page."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aco.evaluation.stream import StreamResult


def regret_curve_svg(result: StreamResult, max_points: int = 400) -> str:
    """Cumulative regret vs tasks seen, one line per router (online solid, offline dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    for run in result.runs:
        curve = run.cumulative_regret
        step = max(1, len(curve) // max_points)
        x = np.arange(1, len(curve) + 1)[::step]
        ax.plot(x, curve[::step], linestyle="-" if run.kind == "online" else "--",
                linewidth=2.0 if run.kind == "online" else 1.2, label=f"{run.label} ({run.kind})")
    ax.set_xlabel("tasks seen")
    ax.set_ylabel("cumulative regret (reward = score - 0.1 x USD)")
    ax.set_title(f"{result.dataset}: stream order {result.order_name} (seed {result.seed})")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _table(result: StreamResult, reference: str | None) -> str:
    rows = result.rows(reference)
    keys = ["router", "kind", "verifier", "avg_perf", "cost_usd", "regret"]
    cross = f"crosses_{reference}" if reference else None
    head = "".join(f"<th>{k}</th>" for k in [*keys, *([cross] if cross else [])])
    body = []
    for row in rows:
        cells = [row[k] if not isinstance(row[k], float) else f"{row[k]:.2f}" for k in keys]
        if cross:
            cells.append(row.get(cross, ""))
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def write_stream_report(results: Sequence[StreamResult], path: Path, reference: str | None = None) -> None:
    """One HTML page: per stream order, the regret curves and the summary table."""
    sections = [f"<h2>order {html.escape(r.order_name)}, seed {r.seed}</h2>{regret_curve_svg(r)}"
                f"{_table(r, reference)}" for r in results]
    title = f"aco streaming replay: {html.escape(results[0].dataset)}" if results else "aco streaming replay"
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>"
            f"<h1>{title}</h1><p>Regret is computed from the recorded outcomes; online routers learn from "
            "the verifier named in the table.</p>" + "".join(sections) + "</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
