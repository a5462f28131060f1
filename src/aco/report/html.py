"""One self-contained HTML page for a bench result: header, full table and inline SVG plots.

No external assets: CSS is inline and plots are inline SVG. Every piece of text is escaped.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

from aco.catalog import format_usd
from aco.evaluation.bench import BenchResult
from aco.report.plots import cost_quality_svg, model_share_svg, reliability_svg

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
.meta { color: #555; margin: 2px 0; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; white-space: nowrap; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
.scroll { overflow-x: auto; max-width: 100%; }
.plot svg { max-width: 100%; height: auto; }
"""

_PERCENT_FIELDS = ("cost_reduction", "oracle_gap", "unsafe_rate")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _format(key: str, value: Any) -> str:
    """A cell value as text: USD with significant digits (`format_usd`), shares as percentages, other floats
    with 3 decimals."""
    if _is_missing(value):
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
            return f"[{_format(key, value[0])}, {_format(key, value[1])}]"
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


def _is_cell(value: Any) -> bool:
    """Scalars, and two-number intervals (the confidence intervals)."""
    if isinstance(value, list | tuple):
        return len(value) == 2 and all(v is None or isinstance(v, int | float) for v in value)
    return not isinstance(value, dict)


def table_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every field that is a scalar (or an interval) in some row, in first-seen order."""
    columns: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key not in columns and _is_cell(value) and key != "curve":
                columns.append(key)
    return columns


def _rows_html(rows: list[dict[str, Any]]) -> str:
    columns = table_columns(rows)
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            klass = ' class="num"' if isinstance(value, int | float | list) and not isinstance(value, bool) else ""
            cells.append(f"<td{klass}>{escape(_format(c, value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _header_html(result: BenchResult) -> str:
    t, refs = result.table, result.refs
    protocol = "whole table, no cross-validation (in-sample)" if result.folds == 1 \
        else f"{result.folds}-fold cross-validation over tasks"
    if result.trained_on:
        protocol = f"trained on {result.trained_on}, tested on every task here"
    lines = [
        f"{t.n_tasks:,} tasks x {t.n_models} models; {protocol}; seed {result.seed}",
        f"best single model: {refs.best_single} — success {refs.best_single_success:.3f} "
        f"at ${format_usd(refs.best_single_cost_usd)}",
        f"most expensive model: {refs.most_expensive} — ${format_usd(refs.most_expensive_cost_usd)}",
        f"cheapest model: {refs.cheapest} — success {refs.cheapest_success:.3f} at "
        f"${format_usd(refs.cheapest_cost_usd)}",
        f"oracle (cheapest model with the best recorded score per task): success {refs.oracle_success:.3f} "
        f"at ${format_usd(refs.oracle_cost_usd)}",
        f"objective: {result.objective.describe()}; regret = best reward over the models minus the router's, "
        "summed",
        *(str(note) for note in result.notes),
    ]
    meta = "".join(f'<p class="meta">{escape(line)}</p>' for line in lines)
    return f"<h1>aco bench: {escape(result.dataset)}</h1>{meta}"


def render_html(result: BenchResult) -> str:
    """The whole report as one self-contained HTML document."""
    sections = [
        _header_html(result),
        "<h2>Routers</h2>", _rows_html(result.rows),
        "<h2>Cost vs success</h2>", f'<div class="plot">{cost_quality_svg(result)}</div>',
        "<h2>Model share</h2>", f'<div class="plot">{model_share_svg(result)}</div>',
    ]
    calibration = reliability_svg(result)
    if calibration is not None:
        sections += ["<h2>Calibration</h2>", f'<div class="plot">{calibration}</div>']
    title = escape(f"aco bench: {result.dataset}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(sections)}</body></html>\n")


def write_report(result: BenchResult, path: Path) -> None:
    """Write the HTML report to `path` (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
