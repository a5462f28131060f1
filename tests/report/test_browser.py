"""The bench and stream reports in headless Chromium, on real data: legend toggles, tooltips with a router's
figures, zoom to the frontier region, and labels that never overlap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aco.datasets import load_dataset
from aco.evaluation.bench import BenchResult, default_router_specs, run_bench
from aco.evaluation.stream import run_stream
from aco.report.formats import format_cell
from aco.report.html import write_report
from aco.report.stream_plots import write_stream_report
from aco.server.browser import headless_chromium

# every visible label's box against every other one and the plot frame (SVG user units)
LABEL_CHECK = """(host) => {
  const boxes = [...host.querySelectorAll('text.aco-label')].map((t) => t.getBBox());
  const frame = host.querySelector('rect.aco-frame').getBBox();
  const overlaps = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => {
    if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) overlaps.push(i);
  }));
  const out = (b) => b.x < frame.x || b.y < frame.y || b.y + b.height > frame.y + frame.height;
  return {n: boxes.length, overlaps: overlaps.length, outside: boxes.filter(out).length};
}"""
POINT_XY = """([host, name]) => {
  const c = host.acoChart, p = c.shown.find((q) => q.s.name === name && !q.line), r = c.svg.getBoundingClientRect();
  return p ? {x: r.left + p.px * r.width / c.width, y: r.top + p.py * r.height / c.height} : null;
}"""


@pytest.fixture(scope="module")
def swebench(data_dir: Path) -> BenchResult:
    table = load_dataset("swebench-verified", data_dir)
    specs = [s for s in default_router_specs(table) if s not in ("cascade", "gbdt", "mf")]
    return run_bench(table, specs, folds=5, seed=0)


@pytest.fixture
def page(browser_artifacts: Path) -> Iterator[Any]:
    with headless_chromium(1400, 950) as ctx:
        tab = ctx.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        yield tab
        assert errors == []


def test_bench_report_toggles_tooltips_zoom_and_labels(swebench: BenchResult, page: Any, tmp_path: Path,
                                                        browser_artifacts: Path) -> None:
    report = tmp_path / "swebench-verified.html"
    write_report(swebench, report)
    page.goto(report.as_uri())
    host = page.wait_for_selector("#cost-quality svg[data-chart]") and page.query_selector("#cost-quality")
    whole = page.evaluate(LABEL_CHECK, host)
    assert whole["n"] >= 10 and whole["overlaps"] == 0 and whole["outside"] == 0, whole
    ticks_before = page.eval_on_selector_all("#cost-quality text.aco-tick-x", "(ts) => ts.map((t) => t.textContent)")

    # zoom to the frontier region (0.55-0.80 success, $100-$400 on this table): labels re-placed, none overlap
    page.click("#cost-quality button[data-region='Frontier region']")
    ticks = page.eval_on_selector_all("#cost-quality text.aco-tick-x", "(ts) => ts.map((t) => t.textContent)")
    assert ticks != ticks_before
    zoomed = page.evaluate(LABEL_CHECK, host)
    assert zoomed["overlaps"] == 0 and zoomed["outside"] == 0 and zoomed["n"] >= 8, zoomed
    domain = page.evaluate("(h) => h.acoChart.currentDomain()", host)
    assert 100 <= domain["x"][0] <= 160 and 360 <= domain["x"][1] <= 450, domain
    page.locator("#cost-quality").screenshot(path=str(browser_artifacts / "report-frontier-region.png"))

    # hover: the router's own figures, formatted as in the table
    best = next(r for r in swebench.rows if r["router"] == "best-single")
    xy = page.evaluate(POINT_XY, [host, "best-single"])
    page.mouse.move(xy["x"], xy["y"])
    tip = page.wait_for_selector("#cost-quality .aco-tooltip:not([hidden])")
    text = tip.inner_text()
    assert "best-single" in text and format_cell("success", best["success"]) in text
    assert format_cell("cost_usd", best["cost_usd"]) in text and "regret" in text
    page.locator("#cost-quality").screenshot(path=str(browser_artifacts / "report-tooltip.png"))

    # toggles: one router off and on again; then every router off
    series = page.evaluate("(h) => h.acoChart.spec.series.find((s) => s.name === 'best-single').id", host)
    button = f"#cost-quality button[data-series='{series}']"
    group = f"#cost-quality g[data-series='{series}']"
    page.click(button)
    assert page.get_attribute(button, "aria-pressed") == "false"
    assert page.eval_on_selector(group, "(g) => g.style.display") == "none"
    assert page.evaluate(POINT_XY, [host, "best-single"]) is None  # no tooltip for a hidden router
    page.click(button)
    assert page.eval_on_selector(group, "(g) => g.style.display") == ""
    page.click("#cost-quality button[data-action='hide-all']")
    assert page.eval_on_selector_all("#cost-quality g.aco-series", "(gs) => gs.filter((g) => g.style.display "
                                     "!== 'none').length") == 0
    page.dblclick("#cost-quality rect.aco-hit")  # double-click: back to the whole chart
    assert page.evaluate("(h) => h.acoChart.domain", host) is None


def test_stream_report_toggles_tooltips_and_end_labels(data_dir: Path, page: Any, tmp_path: Path,
                                                       browser_artifacts: Path) -> None:
    table = load_dataset("routerbench-mbpp", data_dir)
    result = run_stream(table, ["thompson", "linucb"], ["dimension-best", "best-single", "cheapest"], folds=3)
    report = tmp_path / "stream.html"
    write_stream_report([result], report, "dimension-best")
    page.goto(report.as_uri())
    host = page.wait_for_selector("#regret-0 svg[data-chart]") and page.query_selector("#regret-0")
    labels = page.eval_on_selector_all("#regret-0 text.aco-end-label", "(ts) => ts.map((t) => t.textContent)")
    assert sorted(labels) == sorted(f"{r.label} ({r.kind})" for r in result.runs)
    check = page.evaluate(LABEL_CHECK, host)  # end labels sit right of the frame: only overlaps count here
    assert check["overlaps"] == 0, check
    xy = page.evaluate(POINT_XY.replace("&& !q.line", "&& q.i === 200"), [host, "thompson (online)"])
    page.mouse.move(xy["x"], xy["y"])
    tip = page.wait_for_selector("#regret-0 .aco-tooltip:not([hidden])").inner_text()
    assert "(online)" in tip and "tasks seen" in tip
    page.click("#regret-0 button[data-region='End of the stream']")
    domain = page.evaluate("(h) => h.acoChart.currentDomain()", host)
    assert domain["x"][0] == pytest.approx(0.8 * table.n_tasks)
    page.click("#regret-0 button[data-series='run-0']")
    assert page.eval_on_selector("#regret-0 g[data-series='run-0']", "(g) => g.style.display") == "none"
    assert len(page.query_selector_all("#regret-0 text.aco-end-label")) == len(result.runs) - 1
    page.locator("#regret-0").screenshot(path=str(browser_artifacts / "stream-report.png"))
