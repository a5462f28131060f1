"""The proxy in-process: routing, headers, fallback, escalation, budgets, floors, security, metrics."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from aco.server.app import create_app
from aco.store import Store
from tests.server.fakes import FakeUpstream, make_config, make_router

KEY = "test-admin-key"
MESSAGES = [{"role": "user", "content": "hello"}]


def _client(store: Store, fake: FakeUpstream, **profile: Any) -> TestClient:
    app = create_app(make_config(**profile), transport=fake.transport(), store=store, admin_key=KEY,
                     routers={"p": make_router()})
    return TestClient(app)


def _chat(client: TestClient, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    return client.post("/v1/chat/completions", json={"model": "aco/p", "messages": MESSAGES, **body},
                       headers=headers or {})


def test_routes_cheapest_likely_model_and_logs_decision(store: Store) -> None:
    fake = FakeUpstream()
    with _client(store, fake) as client:
        easy = _chat(client, {"x-aco-category": "easy", "x-aco-task-id": "t-easy", "x-aco-step": "edit"})
        hard = _chat(client, {"x-aco-category": "hard", "x-aco-task-id": "t-hard"})
    assert easy.status_code == 200 and hard.status_code == 200
    assert easy.headers["x-aco-model"] == "m-small" and hard.headers["x-aco-model"] == "m-big"
    assert easy.json()["aco"]["decision_id"] == easy.headers["x-aco-decision-id"]
    assert 0.85 < float(easy.headers["x-aco-p-success"]) < 0.95
    rec = store.get_decision(easy.headers["x-aco-decision-id"])
    assert rec is not None and rec.chosen_model == "m-small" and rec.step_kind == "edit" and rec.category == "easy"
    assert fake.calls == ["m-small", "m-big"]


@pytest.mark.parametrize("failure", ["500", "429", "timeout"])
def test_fallback_to_next_model_logs_both_decisions(store: Store, failure: str) -> None:
    fake = FakeUpstream({"m-small": failure})
    with _client(store, fake) as client:
        reply = _chat(client, {"x-aco-category": "easy", "x-aco-task-id": "t1", "x-aco-budget-usd": "1"})
        metrics = client.get("/metrics").text
    assert reply.status_code == 200
    assert reply.headers["x-aco-model"] == "m-mid" and reply.headers["x-aco-fallbacks"] == "m-small"
    assert fake.calls == ["m-small", "m-small", "m-mid"]  # one retry, then fall back
    decisions = store.decisions("t1")
    assert [d.chosen_model for d in decisions] == ["m-small", "m-mid"]
    assert "fallback from m-small" in decisions[1].reason
    assert [(d.status, d.cost_usd, d.fallback_from) for d in decisions] == [
        ("failed", 0.0, ""), ("settled", 0.0005, "m-small")]
    budget = store.budget("t1")
    assert budget is not None and budget[1] == pytest.approx(0.0) and budget[2] == pytest.approx(0.0005)
    assert 'aco_fallbacks_total{from_model="m-small"' in metrics


def test_stalled_stream_falls_back_before_first_byte(store: Store) -> None:
    fake = FakeUpstream({"m-small": "stall"})
    with _client(store, fake) as client:
        reply = _chat(client, {"x-aco-category": "easy", "x-aco-task-id": "s1"}, stream=True)
    assert reply.status_code == 200 and reply.headers["x-aco-model"] == "m-mid"
    assert "hi from m-mid" in reply.text and "[DONE]" in reply.text
    assert [d.chosen_model for d in store.decisions("s1")] == ["m-small", "m-mid"]


def test_every_model_failing_is_a_502_with_every_decision_logged(store: Store) -> None:
    fake = FakeUpstream({m: "500" for m in ("m-small", "m-mid", "m-big")})
    with _client(store, fake) as client:
        reply = _chat(client, {"x-aco-category": "easy", "x-aco-task-id": "dead"})
    assert reply.status_code >= 500 and "every candidate failed" in reply.json()["error"]["message"]
    assert len(store.decisions("dead")) == 3


def test_client_error_is_not_retried(store: Store) -> None:
    fake = FakeUpstream({"m-small": "400"})
    with _client(store, fake) as client:
        reply = _chat(client, {"x-aco-category": "easy"})
    assert reply.status_code == 400 and fake.calls == ["m-small"]


def test_verifier_rejection_escalates(store: Store) -> None:
    fake = FakeUpstream({"m-small": "short"})
    with _client(store, fake, verify_min_chars=5) as client:
        reply = _chat(client, {"x-aco-category": "easy", "x-aco-task-id": "v1"})
    assert reply.status_code == 200 and reply.headers["x-aco-model"] == "m-mid"
    assert "escalated from m-small" in store.decisions("v1")[1].reason


def test_sticky_within_a_task_and_floor(store: Store) -> None:
    with _client(store, FakeUpstream()) as client:
        models = [_chat(client, {"x-aco-category": "easy", "x-aco-task-id": "loop"}).headers["x-aco-model"]
                  for _ in range(3)]
        secure = _chat(client, {"x-aco-category": "secure"}).headers["x-aco-model"]
    assert models == ["m-small"] * 3
    assert "sticky" in store.decisions("loop")[-1].reason
    assert secure == "m-big"  # the floor of 'secure' is tier 3


def test_budget_downgrade_and_402(store: Store) -> None:
    with _client(store, FakeUpstream()) as client:
        hard = _chat(client, {"x-aco-category": "hard", "x-aco-task-id": "b1", "x-aco-budget-usd": "0.0015"})
        refused = _chat(client, {"x-aco-category": "hard", "x-aco-task-id": "b2", "x-aco-budget-usd": "0.0001"})
        metrics = client.get("/metrics").text
    assert hard.status_code == 200 and hard.headers["x-aco-model"] == "m-small"
    assert "budget: downgraded" in hard.headers["x-aco-reason"]
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "budget_exceeded"
    assert 'aco_budget_rejections_total{profile="p"} 1.0' in metrics
    [refusal] = store.refusals()
    assert (refusal.task_id, refusal.model, refusal.category) == ("b2", "m-small", "hard")
    assert refusal.needed_usd == pytest.approx(0.001) and refusal.remaining_usd == pytest.approx(0.0001)
    assert store.decisions("b2") == []


def test_settled_decision_carries_cost_usage_and_counterfactual(store: Store) -> None:
    with _client(store, FakeUpstream()) as client:
        reply = _chat(client, {"x-aco-category": "easy", "x-aco-task-id": "c1", "x-aco-budget-usd": "1"})
    rec = store.get_decision(reply.headers["x-aco-decision-id"])
    assert rec is not None and rec.chosen_model == "m-small"
    assert (rec.status, rec.cost_usd) == ("settled", 0.0005)  # the upstream's reported cost
    assert rec.usage is not None and (rec.usage.input_tokens, rec.usage.output_tokens) == (3, 5)
    assert rec.counterfactual_usd == pytest.approx(0.01)  # m-big's price per call for the same tokens
    assert store.budget("c1") == pytest.approx((1.0, 0.0, 0.0005))


def test_concurrent_requests_never_overspend_one_budget(any_store: Store) -> None:
    store = any_store
    app = create_app(make_config(), transport=FakeUpstream().transport(), store=store, admin_key=KEY,
                     routers={"p": make_router()})

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://aco") as client:
            headers = {"x-aco-task-id": "shared", "x-aco-category": "easy", "x-aco-budget-usd": "0.02"}
            replies = await asyncio.gather(*[
                client.post("/v1/chat/completions", json={"model": "aco/p", "messages": MESSAGES}, headers=headers)
                for _ in range(100)])
        return [r.status_code for r in replies]

    statuses = asyncio.run(run())
    budget_usd, reserved_usd, spent_usd = store.budget("shared") or (0.0, 0.0, 0.0)
    assert set(statuses) <= {200, 402} and statuses.count(200) >= 20
    assert spent_usd + reserved_usd <= budget_usd + 1e-9
    assert statuses.count(200) == len([d for d in store.decisions("shared") if d.reserved_usd > 0])


def test_route_outcomes_decisions_and_auth(store: Store) -> None:
    with _client(store, FakeUpstream()) as client:
        d = client.post("/v1/route", json={"profile": "aco/p", "task_id": "r1", "category": "hard"}).json()
        no_key = client.post("/v1/outcomes", json={"task_id": "r1", "success": True})
        wrong = client.post("/v1/outcomes", json={"task_id": "r1", "success": True},
                            headers={"authorization": "Bearer nope"})
        ok = client.post("/v1/outcomes", json={"task_id": "r1", "success": True, "verifier": "tests"},
                         headers={"authorization": f"Bearer {KEY}"})
        got = client.get(f"/v1/decisions/{d['decision_id']}", headers={"x-aco-api-key": KEY})
        missing = client.get("/v1/decisions/nope", headers={"x-aco-api-key": KEY})
        metrics = client.get("/metrics").text
        assert client.get("/healthz").json()["status"] == "ok"
    assert d["model"] == "m-big" and d["reserved_usd"] == 0.0
    assert no_key.status_code == 401 and wrong.status_code == 401 and ok.status_code == 201
    assert got.status_code == 200 and got.json()["chosen_model"] == "m-big"
    assert got.json()["status"] == "advisory"  # a decision only: no reservation held, never expired
    assert store.expire_reservations(older_than_s=-1.0) == []
    assert missing.status_code == 404
    [outcome] = store.outcomes("r1")
    assert outcome.model == "m-big" and outcome.success and outcome.category == "hard" and outcome.verifier == "tests"
    assert 'aco_outcomes_total{model="m-big",success="true"} 1.0' in metrics


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"content": b"{not json"}, 400),
    ({"content": b"[1, 2]"}, 400),
    ({"json": {"model": "aco/nope", "messages": MESSAGES}}, 404),
    ({"json": {"model": 3, "messages": MESSAGES}}, 422),
    ({"json": {"model": "aco/p", "messages": "hi"}}, 422),
    ({"json": {"model": "aco/p", "messages": MESSAGES}, "headers": {"x-aco-budget-usd": "lots"}}, 400),
    ({"json": {"model": "aco/p", "messages": MESSAGES}, "headers": {"x-aco-budget-usd": "-1"}}, 400),
    ({"json": {"model": "aco/p", "messages": MESSAGES}, "headers": {"x-aco-step": "dance"}}, 400),
    ({"json": {"model": "aco/p", "messages": [{"role": "user", "content": "x" * 30_000}]}}, 413),
])
def test_bad_requests_get_4xx_with_a_message(store: Store, kwargs: dict[str, Any], status: int) -> None:
    with _client(store, FakeUpstream()) as client:
        reply = client.post("/v1/chat/completions", **kwargs)
    assert reply.status_code == status and reply.json()["error"]["message"]


def test_other_model_names_pass_through(store: Store) -> None:
    fake = FakeUpstream()
    with _client(store, fake) as client:
        reply = client.post("/v1/chat/completions", json={"model": "m-big", "messages": MESSAGES})
    assert reply.status_code == 200 and "x-aco-decision-id" not in reply.headers
    assert fake.calls == ["m-big"] and store.decisions() == []


# --- agent-facing endpoints: Anthropic Messages, Responses, models, count_tokens, reservation expiry ------------
def test_anthropic_messages_endpoint_routes_and_answers_in_anthropic_shape(store: Store) -> None:
    import anthropic

    fake = FakeUpstream()
    with _client(store, fake) as client:
        sdk = anthropic.Anthropic(base_url="http://testserver", api_key="unused", http_client=client, max_retries=0)
        raw = sdk.messages.with_raw_response.create(
            model="aco/p", max_tokens=64, messages=[{"role": "user", "content": "hello"}],
            extra_headers={"x-aco-category": "easy", "x-aco-task-id": "m1"})
        with sdk.messages.stream(model="aco/p", max_tokens=64, messages=[{"role": "user", "content": "hello"}],
                                 extra_headers={"x-aco-category": "easy", "x-aco-task-id": "m1"}) as stream:
            streamed = stream.get_final_message()
        refused = client.post("/v1/messages", json={"model": "aco/p", "max_tokens": 5, "messages": MESSAGES},
                              headers={"x-aco-category": "hard", "x-aco-budget-usd": "0.0001"})
        unknown = client.post("/v1/messages", json={"model": "aco/nope", "max_tokens": 5, "messages": MESSAGES})
        bad = client.post("/v1/messages", json={"model": "aco/p", "messages": MESSAGES})
    message = raw.parse()
    assert message.content[0].text == "a long enough answer from m-small" and message.stop_reason == "end_turn"
    assert raw.headers["x-aco-model"] == "m-small" and message.usage.input_tokens == 3
    assert streamed.content[0].text == "hi from m-small"
    assert refused.status_code == 402 and refused.json()["error"]["type"] == "billing_error"
    assert unknown.status_code == 404 and unknown.json()["type"] == "error"
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("max_tokens")
    decisions = store.decisions("m1")
    assert [(d.endpoint, d.status, d.cost_usd) for d in decisions] == [("messages", "settled", 0.0005)] * 2


def test_models_count_tokens_and_responses_errors(store: Store) -> None:
    with _client(store, FakeUpstream()) as client:
        models = client.get("/v1/models").json()
        counted = client.post("/v1/messages/count_tokens", json={"model": "aco/p", "messages": [
            {"role": "user", "content": "x" * 40}]})
        stateful = client.post("/v1/responses", json={"model": "aco/p", "input": "hi", "previous_response_id": "r"})
        answered = client.post("/v1/responses", json={"model": "aco/p", "input": "hello"},
                               headers={"x-aco-category": "easy"})
    assert [m["id"] for m in models["data"]] == ["aco/p", "m-small", "m-mid", "m-big"]
    assert models["has_more"] is False and models["data"][0]["type"] == "model"
    assert counted.json() == {"input_tokens": 10} and counted.headers["x-aco-token-count"] == "estimated"
    assert stateful.status_code == 400 and "previous_response_id" in stateful.json()["error"]["message"]
    output = answered.json()["output"]
    assert answered.status_code == 200 and output[0]["content"][0]["text"] == "a long enough answer from m-small"


def test_streamed_call_is_settled_when_the_stream_ends(store: Store) -> None:
    with _client(store, FakeUpstream()) as client:
        reply = _chat(client, {"x-aco-category": "easy", "x-aco-task-id": "s2", "x-aco-budget-usd": "1"},
                      stream=True)
    assert reply.status_code == 200 and reply.text.endswith("data: [DONE]\n\n")
    [decision] = store.decisions("s2")
    assert decision.status == "settled" and decision.cost_usd == 0.0005  # the upstream's recorded cost
    assert store.budget("s2") == pytest.approx((1.0, 0.0, 0.0005))


def test_stale_open_reservations_are_expired_at_startup(store: Store) -> None:
    from aco.store import DecisionRecord

    store.open_budget("dead-task", 1.0)
    stale = DecisionRecord(decision_id="d-stale", task_id="dead-task", profile="p", chosen_model="m-big",
                           reserved_usd=0.01, created_at=time.time() - 10_000)
    fresh = DecisionRecord(decision_id="d-fresh", task_id="dead-task", profile="p", chosen_model="m-big",
                           reserved_usd=0.01)
    assert store.reserve_and_record(stale) and store.reserve_and_record(fresh)
    with _client(store, FakeUpstream()) as client:
        assert client.get("/healthz").status_code == 200
    stale_rec, fresh_rec = store.get_decision("d-stale"), store.get_decision("d-fresh")
    assert stale_rec is not None and stale_rec.status == "expired" and stale_rec.cost_usd == 0.01
    assert fresh_rec is not None and fresh_rec.status == "open"  # younger than the longest call: maybe alive
    assert store.budget("dead-task") == pytest.approx((1.0, 0.01, 0.01))


def test_anthropic_upstream_gets_its_key_header_and_a_messages_request(store: Store,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """An OpenAI client routed to an Anthropic upstream: the upstream is called at /v1/messages with the key from
    the environment variable its config names, and the reply comes back as a chat completion."""
    from aco.config import AcoConfig

    monkeypatch.setenv("TEST_CLAUDE_KEY", "sk-ant-from-env")
    seen: list[httpx.Request] = []

    async def claude(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "stop_reason": "tool_use",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "ls"}}],
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 90}})

    config = AcoConfig.model_validate({
        "upstreams": [{"name": "claude", "api": "anthropic", "base_url": "http://claude.test/v1",
                       "api_key_env": "TEST_CLAUDE_KEY", "max_retries": 0}],
        "models": [{"name": "c", "upstream": "claude", "upstream_model": "claude-x", "usd_per_mtok_input": 3,
                    "usd_per_mtok_output": 15, "usd_per_mtok_cached_input": 0.3}],
        "profiles": {"p": {"candidates": ["c"]}}})
    app = create_app(config, transport=httpx.MockTransport(claude), store=store, admin_key=KEY)
    with TestClient(app) as client:
        reply = client.post("/v1/chat/completions", headers={"x-aco-task-id": "a1"}, json={
            "model": "aco/p", "messages": MESSAGES,
            "tools": [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]})
    [request] = seen
    assert request.url.path == "/v1/messages" and request.headers["x-api-key"] == "sk-ant-from-env"
    assert request.headers["anthropic-version"] == "2023-06-01" and "authorization" not in request.headers
    sent = json.loads(request.content)
    assert sent["model"] == "claude-x" and sent["tools"][0]["name"] == "bash" and sent["max_tokens"] > 0
    choice = reply.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and "_stop_reason" not in choice
    assert choice["message"]["tool_calls"][0]["function"]["arguments"] == json.dumps({"command": "ls"})
    assert reply.json()["usage"]["prompt_tokens_details"]["cached_tokens"] == 90
    [decision] = store.decisions("a1")
    assert decision.cost_usd == pytest.approx((10 * 3 + 90 * 0.3 + 5 * 15) / 1e6)


def test_messages_endpoint_falls_back_like_chat(store: Store) -> None:
    fake = FakeUpstream({"m-small": "500"})
    with _client(store, fake) as client:
        reply = client.post("/v1/messages", json={"model": "aco/p", "max_tokens": 16, "messages": MESSAGES},
                            headers={"x-aco-category": "easy", "x-aco-task-id": "fb"})
    assert reply.status_code == 200 and reply.headers["x-aco-fallbacks"] == "m-small"
    assert reply.json()["content"][0]["text"] == "a long enough answer from m-mid"
    assert [(d.chosen_model, d.status) for d in store.decisions("fb")] == [("m-small", "failed"), ("m-mid", "settled")]
