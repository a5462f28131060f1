"""The HTML report: one self-contained page with the table, the plots and escaped text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from aco.datasets.table import OutcomeTable
from aco.evaluation.bench import BenchResult, References, run_bench
from aco.evaluation.replay import Decisions, RouterRun
from aco.records import ModelSpec
from aco.report.html import render_html, table_columns, write_report


class _Page(HTMLParser):
    """Collects tags, attributes and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _table(name: str = "tiny<&>") -> OutcomeTable:
    score = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0], [0, 0, 0]], dtype=float)
    cost = np.tile([0.1, 1.0, 3.0], (6, 1))
    tasks = {"text": ["fix a typo", "security crash", "x" * 2500, "", "rename", "hard"],
             "category": ["a", "b", "a", "b", "a", "<script>"]}
    frame = pd.DataFrame(tasks, index=[f"t{i}" for i in range(6)])
    models = (ModelSpec("small", tier=1), ModelSpec("mid", tier=2), ModelSpec("big<b>", tier=3))
    return OutcomeTable(name=name, tasks=frame, models=models, score=score, cost_usd=cost)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def test_report_is_self_contained_and_escaped(tmp_path: Path) -> None:
    table = _table()
    result = run_bench(table, ["always:small", "best-single", "random", "heuristic", "oracle"], folds=1)
    path = tmp_path / "sub" / "report.html"
    write_report(result, path)
    html = path.read_text(encoding="utf-8")
    page = _parse(html)
    assert "table" in page.tags and page.tags.count("svg") >= 1  # model share (the cost chart is drawn by script)
    assert page.tags.count("script") == 2  # the chart's JSON spec and the inlined chart script
    assert not [v for k, v in page.attrs if k in ("src", "href") and v and not v.startswith("#")]
    assert "<script>" not in html.replace("<script>/* aco charts", "") and "<b>" not in html  # names are escaped
    assert "tiny&lt;&amp;&gt;" in html and "big\\u003cb\\u003e" in html  # in text, and in the chart's JSON
    text = " ".join(page.text)
    for label in ("best-single", "random", "heuristic", "oracle"):
        assert label in text
    assert "$6.00" in text  # best-single = mid (4/6 solved): 6 tasks x $1.00
    assert "$0.600" in text  # always:small: 6 x $0.10, three significant digits


def test_table_columns_keep_scalars_and_intervals_only() -> None:
    rows = [{"router": "a", "success": 0.5, "success_ci": [0.4, 0.6], "model_share": {"m": 1.0},
             "curve": [], "aiq": None}]
    assert table_columns(rows) == ["router", "success", "success_ci", "aiq"]


def test_reliability_plot_appears_only_with_predictions() -> None:
    table = _table("plain")
    refs = References.of(table)
    n = table.n_tasks
    idx = np.zeros(n, dtype=int)
    paid = np.zeros((n, 3), dtype=bool)
    paid[:, 0] = True
    plain = RouterRun("plain-router", Decisions(idx, paid), fold=np.zeros(n, dtype=int))
    row = {"router": "plain-router", "success": 0.3, "cost_usd": 0.6, "model_share": {"small": 1.0}}
    result = BenchResult("plain", table, refs, folds=1, seed=0, runs=[plain], rows=[row])
    assert "Calibration" not in render_html(result)
    p = np.full((n, 3), 0.7)
    predicted = RouterRun("predictor", Decisions(idx, paid), fold=np.zeros(n, dtype=int), p_success=p)
    result = BenchResult("plain", table, refs, folds=1, seed=0, runs=[predicted], rows=[row])
    html = render_html(result)
    assert "Calibration" in html and html.count("<svg") == 2  # model share and reliability (cost chart: script)
