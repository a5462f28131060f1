"""The dashboard in headless Chromium against a live `aco serve` (uvicorn on loopback) fed by the replay upstream
with real RouterBench traffic: the shown spend, savings and decision counts equal the store's, the decisions table
filters and pages, a task id with HTML in it stays text, and the page refreshes itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aco.server.browser import headless_chromium
from aco.server.launch import replay_stack
from aco.server.traffic import TrafficLog, routerbench_prompts, send_traffic
from aco.store import Store
from aco.store.aggregates import task_results

KEY = "browser-test-key"
EXAMPLE = Path(__file__).parents[3] / "examples" / "aco.toml"
EVIL = '<img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def live(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, TrafficLog, str]]:
    tmp = tmp_path_factory.mktemp("dashboard")
    env = {"ACO_DATA_DIR": str(data_dir), "ACO_API_KEY": KEY}
    with replay_stack(EXAMPLE, tmp, env) as stack:
        base = stack.proxy_url
        prompts = routerbench_prompts(data_dir, 10)
        log = send_traffic(base, KEY, prompts, profiles=("default", "cheap"), tight_budget_share=0.2)
        evil = send_traffic(base, KEY, prompts[:1], task_prefix=EVIL, tight_budget_share=0.0, seed=1)
        assert evil.outcomes == 1
        log.recorded_cost_usd += evil.recorded_cost_usd
        yield base, stack.store_url, log, prompts[1][0]


def _wait(page: Any, selector: str, attribute: str | None, expected: str, timeout_s: float = 15.0) -> None:
    """Poll until the element's attribute (its text when None) equals / starts with `expected` (the page's CSP
    forbids eval, so Playwright's wait_for_function cannot run there)."""
    deadline = time.monotonic() + timeout_s
    got = None
    while time.monotonic() < deadline:
        got = page.get_attribute(selector, attribute) if attribute else page.inner_text(selector)
        if got is not None and got.startswith(expected) and (attribute is None or got == expected):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{selector} {attribute or 'text'}: waited for {expected!r}, last saw {got!r}")


def _value(page: Any, selector: str) -> float:
    return float(page.get_attribute(selector, "data-value"))


def _rows(page: Any, column: int) -> list[str]:
    return [str(t) for t in page.eval_on_selector_all(
        f"#decisions-table tbody tr td:nth-child({column})", "(tds) => tds.map((t) => t.textContent)")]


def test_dashboard_needs_the_key(live: tuple[str, str, TrafficLog, str]) -> None:
    base = live[0]
    assert httpx.get(f"{base}/dashboard").status_code == 401
    assert httpx.get(f"{base}/dashboard/api/summary", auth=("x", "wrong")).status_code == 401
    assert httpx.get(f"{base}/dashboard/api/summary", auth=("x", KEY)).status_code == 200


def test_dashboard_shows_the_store_filters_and_refreshes(live: tuple[str, str, TrafficLog, str],
                                                         browser_artifacts: Path) -> None:
    base, store_url, log, spare_prompt = live
    assert log.calls > 30 and log.outcomes > 20 and log.refused > 0 and log.escalations > 0
    errors: list[str] = []
    with headless_chromium(1440, 1000, http_credentials={"username": "aco", "password": KEY}) as ctx:
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(f"{base}/dashboard?refresh=1")
        page.wait_for_selector("body[data-ready='1']")
        page.screenshot(path=str(browser_artifacts / "dashboard.png"), full_page=True)

        with Store.open(store_url) as store:
            decisions = store.decisions()
            results = task_results(store)
        spent = sum(d.cost_usd or 0.0 for d in decisions)
        counterfactual = sum(d.cost_usd or 0.0 if d.counterfactual_usd is None else d.counterfactual_usd
                             for d in decisions)
        assert spent == pytest.approx(log.recorded_cost_usd, rel=1e-9)  # what the replay upstream billed
        assert _value(page, "#kpi-decisions") == len(decisions)
        assert page.inner_text("#kpi-decisions") == f"{len(decisions):,}"
        assert _value(page, "#kpi-spend") == pytest.approx(spent, rel=1e-9)
        assert _value(page, "#kpi-counterfactual") == pytest.approx(counterfactual, rel=1e-9)
        assert _value(page, "#kpi-savings") == pytest.approx(counterfactual - spent, rel=1e-9)
        reported = 1 - results.spent_usd.sum() / results.counterfactual_usd.sum()
        assert _value(page, "#kpi-savings-reported") == pytest.approx(reported, rel=1e-9)
        assert _value(page, "#decisions-count") == len(decisions)
        assert page.inner_text("#kpi-savings-ci").startswith("95% CI [")
        assert page.inner_text("#escalations-table") and page.inner_text("#calibration-table")

        # the task id with HTML in it is shown as text and never runs
        assert page.evaluate("window.__xss") is None
        assert page.query_selector("img[src='x']") is None
        page.fill("#f-task", "<img")
        _wait(page, "#decisions-count", "data-value", str(sum(d.task_id.startswith("<img") for d in decisions)))
        assert set(_rows(page, 2)) == {f"{EVIL}00000"}
        page.fill("#f-task", "")

        # filter by model, then by step: the count and every row follow the store
        model = max({d.chosen_model for d in decisions}, key=lambda m: sum(d.chosen_model == m for d in decisions))
        page.select_option("#f-model", model)
        expected = sum(d.chosen_model == model for d in decisions)
        _wait(page, "#decisions-count", "data-value", str(expected))
        assert set(_rows(page, 6)) == {model} and len(_rows(page, 6)) == min(expected, 50)
        page.select_option("#f-step", "read")
        expected = sum(d.chosen_model == model and d.step_kind == "read" for d in decisions)
        _wait(page, "#decisions-count", "data-value", str(expected))
        assert set(_rows(page, 4)) <= {"read"}
        page.screenshot(path=str(browser_artifacts / "dashboard-filtered.png"), full_page=True)
        page.select_option("#f-step", "")
        page.select_option("#f-model", "")
        _wait(page, "#decisions-count", "data-value", str(len(decisions)))
        page.click("#next")
        _wait(page, "#page-info", None, "page 2 of")

        # one more call through the proxy: the page shows it by itself
        refreshes = int(page.get_attribute("body", "data-refreshes"))
        reply = httpx.post(f"{base}/v1/chat/completions", headers={"x-aco-task-id": "late", "x-aco-category": "mbpp"},
                           json={"model": "aco/default", "messages": [{"role": "user", "content": spare_prompt}]})
        assert reply.status_code == 200, reply.text
        _wait(page, "#kpi-decisions", "data-value", str(len(decisions) + 1))
        assert int(page.get_attribute("body", "data-refreshes")) > refreshes
    assert errors == []
