"""How figures are written as text in the report's table and tooltips."""

from __future__ import annotations

from aco.report.formats import format_cell


def test_cell_formats() -> None:
    assert format_cell("cost_usd", 1234.5) == "$1,234.50"
    assert format_cell("cost_per_task_usd", 0.01234) == "$0.0123"
    assert format_cell("cost_reduction_vs_best_single", -1e-17) == "0.0%"
    assert format_cell("cost_reduction_vs_best_single", -0.25) == "-25.0%"
    assert format_cell("perf_per_usd", 2.5) == "2.500"
    assert format_cell("success_ci", [0.5, 0.75]) == "[0.500, 0.750]"
    assert format_cell("aiq", None) == "–" and format_cell("brier", float("nan")) == "–"
    assert format_cell("fit_seconds", 0.5) == "0.500s"
