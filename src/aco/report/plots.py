"""Plots of a bench result as inline SVG strings (matplotlib, Agg backend; no metric maths here).

Each function returns the `<svg>` element only (no XML prolog), ready to inline in an HTML page.
The backend is selected inside the functions, never at import time.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from aco.evaluation.bench import BenchResult, frontier
from aco.evaluation.metrics import reliability

WIDE_RANGE_RATIO = 20.0  # use a log cost axis when max/min cost exceeds this
_SVG_START = re.compile(r"<svg\b")


@contextmanager
def _figure(width_in: float, height_in: float, salt: str) -> Iterator[Any]:
    """A fresh Agg figure with text kept as SVG text and ids salted (several SVGs share one page)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 9}):
        yield Figure(figsize=(width_in, height_in), layout="constrained")


def _to_svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    match = _SVG_START.search(text)
    return text[match.start():] if match else text


def _colours(n: int, palette: str = "tab20", extra: str = "tab20b") -> list[Any]:
    """n distinct colours: models use tab20(+tab20b), routers tab10(+Dark2) so the two never look alike."""
    import matplotlib

    first, second = matplotlib.colormaps[palette], matplotlib.colormaps[extra]
    size = first.N
    return [first(i) if i < size else second((i - size) % second.N) for i in range(n)]


def _router_colours(n: int) -> list[Any]:
    return _colours(n, "tab10", "Dark2")


def _is_single_model(label: str) -> bool:
    return label.startswith("always:")


def cost_quality_svg(result: BenchResult) -> str:
    """Success vs total cost: single models (grey), their frontier, routers, swept curves and the oracle."""
    table, refs = result.table, result.refs
    model_cost, model_success = table.total_cost_usd(), table.mean_score()
    routers = [r for r in result.rows if not _is_single_model(str(r["router"])) and r["router"] != "oracle"]
    with _figure(11.0, 6.5, "cost-quality") as fig:
        ax = fig.add_subplot()
        ax.scatter(model_cost, model_success, color="0.6", s=22, zorder=2, label="single models")
        for name, x, y in zip(table.model_names, model_cost, model_success, strict=True):
            ax.annotate(name, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=7, color="0.35")
        front = frontier(table)
        ax.step([f[2] for f in front], [f[1] for f in front], where="post", color="0.4", linestyle="--",
                 linewidth=1, zorder=1, label="single-model frontier")
        colours = _router_colours(len(routers))
        for row, colour in zip(routers, colours, strict=True):
            curve = row.get("curve") or []
            if len(curve) > 1:
                pts = sorted((p["cost_usd"], p["success"]) for p in curve)
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour, linewidth=1, alpha=0.8)
            ax.scatter([row["cost_usd"]], [row["success"]], color=colour, s=48, marker="o",
                       edgecolor="black", linewidth=0.5, zorder=3, label=str(row["router"]))
        ax.scatter([refs.oracle_cost_usd], [refs.oracle_success], marker="*", s=220, color="gold",
                   edgecolor="black", linewidth=0.6, zorder=4, label="oracle")
        costs = np.concatenate([model_cost, [refs.oracle_cost_usd], [float(r["cost_usd"]) for r in routers]])
        if costs.min() > 0 and costs.max() / costs.min() > WIDE_RANGE_RATIO:
            ax.set_xscale("log")
        ax.set_xlabel("total cost (USD, every paid attempt)")
        ax.set_ylabel("success (mean score)")
        ax.set_title(f"{result.dataset}: cost vs success")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        return _to_svg(fig)


def model_share_svg(result: BenchResult) -> str:
    """Stacked horizontal bars: the share of tasks each router sent to each model (single models left out)."""
    names = result.table.model_names
    rows = [r for r in result.rows if not _is_single_model(str(r["router"]))] or result.rows
    shares = np.array([[float(r.get("model_share", {}).get(m, 0.0)) for m in names] for r in rows])
    used = shares.sum(axis=0) > 0
    colours = _colours(len(names))
    height = max(1.2 + 0.28 * max(len(rows), 1), 0.6 + 0.16 * int(used.sum()))  # room for the legend
    with _figure(9.0, height, "model-share") as fig:
        ax = fig.add_subplot()
        y = np.arange(len(rows))
        left = np.zeros(len(rows))
        for j in np.flatnonzero(used):
            ax.barh(y, shares[:, j], left=left, color=colours[j], label=names[j], height=0.75)
            left += shares[:, j]
        ax.set_yticks(y, [str(r["router"]) for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of tasks")
        ax.set_title("share of tasks sent to each model")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        return _to_svg(fig)


def reliability_svg(result: BenchResult, bins: int = 10) -> str | None:
    """Predicted P(success) vs observed success rate for routers that predict it; None when none do."""
    table = result.table
    curves = []
    for run in result.runs:
        if run.p_success is None:
            continue
        known = ~np.isnan(run.p_success)
        if known.any():
            mean_p, rate, count = reliability(run.p_success[known], table.success[known], bins)
            curves.append((run.label, mean_p[count > 0], rate[count > 0]))
    if not curves:
        return None
    with _figure(6.0, 5.0, "reliability") as fig:
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
        for (label, mean_p, rate), colour in zip(curves, _router_colours(len(curves)), strict=True):
            ax.plot(mean_p, rate, marker="o", color=colour, linewidth=1, label=label)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("predicted P(success)")
        ax.set_ylabel("observed success rate")
        ax.set_title("reliability")
        ax.legend(fontsize=7)
        return _to_svg(fig)
