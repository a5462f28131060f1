"""One self-contained HTML page for a bench result: header, full table, the interactive cost-vs-success chart
and inline SVG plots.

No external assets: CSS and the chart script are inline, the chart's data is embedded as escaped JSON and static
plots are inline SVG. Every piece of text is escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from aco.catalog import format_usd
from aco.evaluation.bench import BenchResult
from aco.report.charts import chart_block, page_assets
from aco.report.formats import format_cell
from aco.report.plots import cost_quality_spec, model_share_svg, reliability_svg

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
            cells.append(f"<td{klass}>{escape(format_cell(c, value))}</td>")
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
        "<h2>Cost vs success</h2>", chart_block("cost-quality", cost_quality_spec(result)),
        "<h2>Model share</h2>", f'<div class="plot">{model_share_svg(result)}</div>',
    ]
    calibration = reliability_svg(result)
    if calibration is not None:
        sections += ["<h2>Calibration</h2>", f'<div class="plot">{calibration}</div>']
    title = escape(f"aco bench: {result.dataset}")
    chart_css, chart_script = page_assets()
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_CSS}{chart_css}</style></head><body>{''.join(sections)}{chart_script}</body></html>\n")


def write_report(result: BenchResult, path: Path) -> None:
    """Write the HTML report to `path` (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
