"""Plots of a bench result (no metric maths here): the interactive cost-vs-success chart as a spec for the chart
script, and static plots as inline SVG strings (matplotlib, Agg backend, selected inside the functions, never at
import time; each returns the `<svg>` element only).
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
from aco.report.charts import hex_colour
from aco.report.formats import format_cell, is_missing

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


FRONTIER_BAND = 0.1  # the frontier region: points within this much success of the best single model


def _router_tip(row: dict[str, Any]) -> dict[str, Any]:
    share = row.get("model_share") or {}
    main = max(share.items(), key=lambda kv: kv[1]) if share else None
    rows = [["success", format_cell("success", row.get("success"))],
            ["success 95% CI", format_cell("success_ci", row.get("success_ci"))],
            ["cost", format_cell("cost_usd", row.get("cost_usd"))],
            ["cost 95% CI", format_cell("cost_usd", row.get("cost_ci"))],
            ["saved vs best single", format_cell("cost_reduction", row.get("cost_reduction_vs_best_single"))],
            ["regret", format_cell("regret", row.get("regret"))]]
    rows += [[key.upper() if key != "brier" else "Brier", format_cell(key, row[key])]
             for key in ("aiq", "apgr", "brier", "ece") if not is_missing(row.get(key))]
    verifier = row.get("verifier") or {}
    if not is_missing(verifier.get("auc")):
        rows.append([f"verifier AUC ({verifier['name']})", f"{verifier['auc']:.3f}"])
    if main is not None:
        rows.append(["main model", f"{main[0]} ({100 * main[1]:.0f}%)"])
    return {"title": str(row["router"]), "rows": rows}


def frontier_region(result: BenchResult) -> dict[str, Any] | None:
    """The zoom box where routers compete with the best single model: the single-model frontier points and the
    routers within `FRONTIER_BAND` success of the best single model, padded (None when nothing is there)."""
    band = result.refs.best_single_success - FRONTIER_BAND
    points = [(cost, success) for _, success, cost in frontier(result.table) if success >= band]
    points += [(float(r["cost_usd"]), float(r["success"])) for r in result.rows
               if not _is_single_model(str(r["router"])) and r["router"] != "oracle" and float(r["success"]) >= band]
    points = [(c, s) for c, s in points if c > 0]
    if not points:
        return None
    costs, successes = [c for c, _ in points], [s for _, s in points]
    return {"name": "Frontier region", "x": [min(costs) / 1.15, max(costs) * 1.15],
            "y": [band - 0.02, max(successes) + 0.02]}


def cost_quality_spec(result: BenchResult) -> dict[str, Any]:
    """The interactive cost-vs-success chart: single models, their frontier, each router (point and swept
    curve, with its figures on hover) and the oracle."""
    table, refs = result.table, result.refs
    model_cost, model_success = table.total_cost_usd(), table.mean_score()
    routers = [r for r in result.rows if not _is_single_model(str(r["router"])) and r["router"] != "oracle"]
    series: list[dict[str, Any]] = [{
        "id": "single-models", "name": "single models", "kind": "points", "color": "#9a9a9a", "size": 3.5,
        "points": [[float(c), float(s)] for c, s in zip(model_cost, model_success, strict=True)],
        "labels": list(table.model_names), "labelColor": "#555", "labelPriority": 1,
        "tips": [{"title": m.name, "rows": [["success", format_cell("success", float(s))],
                                             ["cost", format_cell("cost_usd", float(c))], ["tier", str(m.tier)]]}
                 for m, s, c in zip(table.models, model_success, model_cost, strict=True)],
    }, {
        "id": "frontier", "name": "single-model frontier", "kind": "step", "color": "#666", "dash": "5 4",
        "width": 1.2, "points": [[c, s] for _, s, c in frontier(table)],
        "tips": [{"title": f"frontier: {name}", "rows": [["success", format_cell("success", s)],
                                                           ["cost", format_cell("cost_usd", c)]]}
                 for name, s, c in frontier(table)],
    }]
    for i, (row, colour) in enumerate(zip(routers, _router_colours(len(routers)), strict=True)):
        curve = sorted((p["cost_usd"], p["success"], p.get("knob")) for p in row.get("curve") or [])
        entry: dict[str, Any] = {
            "id": f"router-{i}", "name": str(row["router"]), "kind": "points", "color": hex_colour(colour),
            "size": 5, "points": [[float(row["cost_usd"]), float(row["success"])]], "labels": [str(row["router"])],
            "labelPriority": 3, "labelColor": hex_colour(colour), "tips": [_router_tip(row)]}
        if len(curve) > 1:
            entry["line"] = [[c, s] for c, s, _ in curve]
            entry["lineTips"] = [{"title": f"{row['router']} (swept)", "rows": [
                [str(row.get("knob") or "knob"), format_cell("knob", k)], ["success", format_cell("success", s)],
                ["cost", format_cell("cost_usd", c)]]} for c, s, k in curve]
        series.append(entry)
    series.append({
        "id": "oracle", "name": "oracle", "kind": "points", "marker": "star", "size": 9, "color": "#f5c000",
        "points": [[refs.oracle_cost_usd, refs.oracle_success]], "labels": ["oracle"], "labelPriority": 4,
        "tips": [{"title": "oracle (cheapest model with the best recorded score per task)", "rows": [
            ["success", format_cell("success", refs.oracle_success)],
            ["cost", format_cell("cost_usd", refs.oracle_cost_usd)]]}]})
    costs = np.concatenate([model_cost, [refs.oracle_cost_usd], [float(r["cost_usd"]) for r in routers]])
    positive = costs[costs > 0]
    log = bool(len(positive) and positive.max() / positive.min() > WIDE_RANGE_RATIO)
    region = frontier_region(result)
    return {"title": f"{result.dataset}: cost vs success", "width": 900, "height": 540,
            "x": {"label": "total cost (USD, every paid attempt)", "log": log, "format": "usd"},
            "y": {"label": "success (mean score)", "format": "num"},
            "series": series, "regions": [region] if region else []}


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
