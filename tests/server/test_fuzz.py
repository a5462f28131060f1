"""Property-based fuzzing of the proxy's endpoints: no input gets a 500."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from aco.server.app import create_app
from aco.store import Store
from tests.server.fakes import FakeUpstream, make_config, make_router

KEY = "fuzz-key"
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
_fields = st.fixed_dictionaries({}, optional={
    "model": st.sampled_from(["aco/p", "aco/x", "m-big", "", "aco/"]) | st.integers(),
    "messages": st.just([{"role": "user", "content": "hi"}]) | _json,
    "stream": st.booleans() | _json,
    "task_id": st.text(max_size=30) | _json, "success": st.booleans() | _json, "score": _json,
    "cost_usd": _json, "profile": st.sampled_from(["p", "aco/p", "nope"]) | _json, "category": _json,
    "escalate": _json, "decision_id": _json, "verifier": st.sampled_from(["tests", "vibes"]) | _json,
    "budget_usd": _json, "step": _json, "max_tokens": st.integers() | _json, "system": _json, "input": _json,
    "tools": _json, "tool_choice": _json, "instructions": _json})
_header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
_headers = st.fixed_dictionaries({}, optional={
    "x-aco-task-id": _header_text, "x-aco-step": st.sampled_from(["edit", "plan", "bogus"]) | _header_text,
    "x-aco-category": st.sampled_from(["easy", "hard", "secure"]) | _header_text,
    "x-aco-budget-usd": st.sampled_from(["0", "1", "nan", "inf", "-1", "1e309"]) | _header_text,
    "authorization": st.sampled_from([f"Bearer {KEY}", "Bearer x", "Basic y"])})
_paths = st.sampled_from(["/v1/chat/completions", "/v1/route", "/v1/outcomes", "/v1/messages",
                          "/v1/messages/count_tokens", "/v1/responses"])


def test_no_input_gets_a_500() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'fuzz.db'}")
        app = create_app(make_config(), transport=FakeUpstream({"m-mid": "500"}).transport(), store=store,
                         admin_key=KEY, routers={"p": make_router()})
        with TestClient(app, raise_server_exceptions=False) as client:

            @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
            @given(path=_paths, body=_fields | _json, headers=_headers, raw=st.booleans())
            def check(path: str, body: Any, headers: dict[str, str], raw: bool) -> None:
                content = json.dumps(body).encode() if not raw else json.dumps(body).encode()[:-1]
                reply = client.post(path, content=content, headers=headers)
                assert reply.status_code < 500 or reply.status_code in (502, 504), (path, body, reply.text)
                assert reply.status_code != 500, (path, body, headers, reply.text)

            check()
            assert client.get("/v1/decisions/" + "x" * 300, headers={"x-aco-api-key": KEY}).status_code == 404
        store.close()
