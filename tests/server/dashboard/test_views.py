"""The dashboard in-process: the key (401 with a Basic challenge), a static page with no request data in it, JSON
figures equal to the store's, filters, pagination, bad parameters, and two replicas on one store."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aco.server.app import create_app
from aco.store import Store
from tests.server.fakes import FakeUpstream, make_config, make_router

KEY = "dash-key"
AUTH = {"authorization": f"Bearer {KEY}"}
EVIL = '<img src=x onerror="window.__xss=1">&<script>alert(1)</script>'


def _client(store: Store, fake: FakeUpstream | None = None) -> TestClient:
    fake = fake or FakeUpstream({"m-small": "500"})
    return TestClient(create_app(make_config(), transport=fake.transport(), store=store, admin_key=KEY,
                                 routers={"p": make_router()}))


def _traffic(client: TestClient) -> None:
    """Four tasks in 'easy' (m-small fails, so each falls back), one of them with HTML in its id."""
    for i, task in enumerate(["a-1", "a-2", "b-1", EVIL]):
        reply = client.post("/v1/chat/completions", headers={"x-aco-task-id": task, "x-aco-category": "easy",
                                                             "x-aco-step": "read" if i % 2 else "edit"},
                            json={"model": "aco/p", "messages": [{"role": "user", "content": "hello"}]})
        assert reply.status_code == 200, reply.text
        assert client.post("/v1/outcomes", headers=AUTH, json={"task_id": task, "success": i != 1}).status_code == 201


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/api/summary", "/dashboard/api/decisions",
                                  "/dashboard/assets/dashboard.js"])
def test_every_dashboard_route_needs_the_key(store: Store, path: str) -> None:
    with _client(store) as client:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic !!notbase64"}):
            reply = client.get(path, headers=headers)
            assert reply.status_code == 401, (path, headers)
            assert reply.headers["www-authenticate"].startswith("Basic realm=")
        basic = base64.b64encode(f"anyone:{KEY}".encode()).decode()
        for headers in (AUTH, {"x-aco-api-key": KEY}, {"authorization": f"Basic {basic}"}):
            assert client.get(path, headers=headers).status_code == 200, (path, headers)


def test_without_a_configured_key_the_dashboard_stays_closed(store: Store) -> None:
    app = create_app(make_config(), transport=FakeUpstream().transport(), store=store, admin_key="",
                     routers={"p": make_router()})
    with TestClient(app) as client:
        assert client.get("/dashboard", headers={"authorization": "Bearer "}).status_code == 401


def test_page_is_static_and_locked_down(store: Store) -> None:
    with _client(store) as client:
        _traffic(client)
        page = client.get("/dashboard", headers=AUTH)
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert "a-1" not in page.text and "<img" not in page.text  # no request data in the page itself
        assert "<script>" not in page.text  # scripts only from /dashboard/assets (no inline code)
        for src in ("/dashboard/assets/charts.js", "/dashboard/assets/dashboard.js",
                    "/dashboard/assets/charts.css", "/dashboard/assets/dashboard.css"):
            assert src in page.text
            asset = client.get(src, headers=AUTH)
            assert asset.status_code == 200 and asset.headers["x-content-type-options"] == "nosniff"
        assert "innerHTML" not in client.get("/dashboard/assets/dashboard.js", headers=AUTH).text
        assert "innerHTML" not in client.get("/dashboard/assets/charts.js", headers=AUTH).text
        assert client.get("/dashboard/assets/nope.js", headers=AUTH).status_code == 404
        assert client.get("/dashboard/assets/dashboard.html", headers=AUTH).status_code == 404


def test_summary_equals_the_store(store: Store) -> None:
    with _client(store) as client:
        _traffic(client)
        s = client.get("/dashboard/api/summary", headers=AUTH).json()
    decisions = store.decisions()
    spent = sum(d.cost_usd or 0.0 for d in decisions)
    counterfactual = sum(d.counterfactual_usd if d.counterfactual_usd is not None else (d.cost_usd or 0.0)
                         for d in decisions)
    t = s["totals"]
    assert t["decisions"] == len(decisions) == 8  # 4 failed calls on m-small + 4 fallbacks
    assert t["spent_usd"] == pytest.approx(spent) and t["counterfactual_usd"] == pytest.approx(counterfactual)
    assert t["savings_usd"] == pytest.approx(counterfactual - spent)
    assert t["fallbacks"] == 4 and t["by_status"] == {"failed": 4, "settled": 4}
    assert s["fallbacks"] == [{"from": "m-small", "to": "m-mid", "decisions": 4}]
    assert s["failures"] == [{"model": "m-small", "calls": 4}]
    r = s["reported"]
    assert r["tasks"] == 4 and r["success_rate"] == pytest.approx(0.75)
    assert r["savings_share"] == pytest.approx(1 - spent / counterfactual)
    lo, hi = r["success_rate_ci"]
    assert 0.0 <= lo <= 0.75 <= hi <= 1.0
    assert sum(b["count"] for b in s["calibration"]) == 4
    assert sum(p["decisions"] for p in s["spend"]["points"]) == 8
    assert s["success"] == [{"model": "m-mid", "category": "easy", "outcomes": 4, "successes": 3}]


def test_decisions_filter_paginate_and_keep_strings_raw(store: Store) -> None:
    with _client(store) as client:
        _traffic(client)
        first = client.get("/dashboard/api/decisions?per_page=3&options=1", headers=AUTH).json()
        assert (first["total"], first["pages"], len(first["rows"])) == (8, 3, 3)
        assert first["options"] == {"profiles": ["p"], "models": ["m-mid", "m-small"], "steps": ["edit", "read"]}
        last = client.get("/dashboard/api/decisions?per_page=3&page=3", headers=AUTH).json()
        assert len(last["rows"]) == 2 and "options" not in last
        ids = {r["decision_id"] for r in first["rows"]} | {r["decision_id"] for r in last["rows"]}
        assert len(ids) == 5
        evil = client.get("/dashboard/api/decisions", params={"task": "<img"}, headers=AUTH)
        assert evil.headers["content-type"] == "application/json"
        rows = evil.json()["rows"]
        assert {r["task_id"] for r in rows} == {EVIL} and len(rows) == 2
        filtered = client.get("/dashboard/api/decisions", params={"model": "m-mid", "step": "read", "task": "a-"},
                              headers=AUTH).json()
        assert filtered["total"] == 1 and filtered["rows"][0]["task_id"] == "a-2"
        row = filtered["rows"][0]
        assert row["p_success"] == row["p_success_by_model"]["m-mid"] and row["fallback_from"] == "m-small"
        assert row["reason"].startswith("fallback from m-small")


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=201", "per_page=-1", "task=" + "t" * 300])
def test_bad_parameters_get_422_naming_them(store: Store, query: str) -> None:
    with _client(store) as client:
        reply = client.get(f"/dashboard/api/decisions?{query}", headers=AUTH)
    assert reply.status_code == 422
    assert query.split("=")[0] in reply.json()["error"]["message"]


def test_one_replica_shows_every_replica_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with Store.open(url) as one, Store.open(url) as two, _client(one) as replica_a, _client(two) as replica_b:
        _traffic(replica_a)
        seen = replica_b.get("/dashboard/api/summary", headers=AUTH).json()["totals"]
        assert seen["decisions"] == 8 and seen["outcomes"] == 4


def test_summary_is_recomputed_only_when_the_store_changed(store: Store) -> None:
    with _client(store) as client:
        _traffic(client)
        first = client.get("/dashboard/api/summary", headers=AUTH).json()
        again = client.get("/dashboard/api/summary", headers=AUTH).json()
        assert again["generated_at"] == first["generated_at"] and again["checked_at"] > first["checked_at"]
        client.post("/v1/outcomes", headers=AUTH, json={"task_id": "a-1", "success": False})
        changed = client.get("/dashboard/api/summary", headers=AUTH).json()
        assert changed["generated_at"] > first["generated_at"] and changed["totals"]["outcomes"] == 5
