"""The proxy's verifiers in-process: logprobs asked of OpenAI upstreams for `entropy` (and kept from a client that
did not ask), the entropy calibrator refitted from outcomes reported to /v1/outcomes, best-of-N with n > 1 samples
in one call, a bad `x-aco-tests` header answered 400."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from aco.server.app import create_app
from aco.store import Store
from tests.server.fakes import make_config, make_router
from tests.verifiers.test_entropy import logprobs

KEY = "k"


class Scripted:
    """An OpenAI upstream whose answers carry logprobs when asked; `n` samples answered as `answers`."""

    def __init__(self, confidence: float = 0.95, answers: tuple[str, ...] = ("B",)) -> None:
        self.confidence = confidence
        self.answers = answers
        self.bodies: list[dict[str, Any]] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        n = int(body.get("n", 1))
        choices = [{"index": i, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": self.answers[i % len(self.answers)]},
                    **({"logprobs": {"content": logprobs(self.confidence)}} if body.get("logprobs") else {})}
                   for i in range(n)]
        return httpx.Response(200, headers={"x-replay-cost-usd": str(0.001 * n)}, json={
            "id": "c", "object": "chat.completion", "created": 0, "model": body["model"], "choices": choices,
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})


def _client(store: Store, upstream: Scripted, verifiers: list[dict[str, Any]]) -> TestClient:
    app = create_app(make_config(verifiers=verifiers), transport=upstream.transport(), store=store, admin_key=KEY,
                     routers={"p": make_router(threshold=0.05)})  # the cheapest model first
    return TestClient(app)


def _chat(client: TestClient, task: str, **body: Any) -> httpx.Response:
    return client.post("/v1/chat/completions", headers={"x-aco-task-id": task, "x-aco-category": "easy"},
                       json={"model": "aco/p", "messages": [{"role": "user", "content": "Pick A or B"}], **body})


def test_entropy_asks_for_logprobs_and_calibrates_from_reported_outcomes(store: Store) -> None:
    upstream = Scripted()
    with _client(store, upstream, [{"name": "entropy", "min_outcomes": 6, "refit_every": 2}]) as client:
        for i in range(8):
            upstream.confidence = 0.97 if i % 2 else 0.4
            reply = _chat(client, f"t{i}")
            assert reply.status_code == 200 and "logprobs" not in reply.json()["choices"][0]  # not asked: removed
            if i < 6:  # below min_outcomes labelled answers: abstains, logs its signals
                assert reply.headers["x-aco-verdicts"].startswith("entropy=abstained")
            done = client.post("/v1/outcomes", headers={"authorization": f"Bearer {KEY}"},
                               json={"task_id": f"t{i}", "success": bool(i % 2)})
            assert done.status_code == 201
        asked = _chat(client, "sure", logprobs=True)
        upstream.confidence = 0.4
        unsure = _chat(client, "unsure")
    assert upstream.bodies[0]["logprobs"] is True and upstream.bodies[0]["top_logprobs"] == 5
    assert "logprobs" in asked.json()["choices"][0]  # the client asked: kept
    p_sure = float(asked.headers["x-aco-verdicts"].split("=")[1])
    assert p_sure > 0.5  # calibrated from the 8 reported outcomes
    models = [a["model"] for a in unsure.json()["aco"]["attempts"]]
    assert models == ["m-small", "m-mid", "m-big"]  # each unsure answer escalates until the strongest
    assert "entropy: mean entropy" in unsure.json()["aco"]["reason"]  # P < 0.5: escalated
    logged = store.verdicts(verifier="entropy")
    assert len(logged) >= 10 and all(v.signals["tokens"] == 4.0 for v in logged)


def test_samples_from_the_answering_model_in_one_call(store: Store) -> None:
    upstream = Scripted(answers=("A", "B"))  # the candidate says A, its two extra samples say B and A
    with _client(store, upstream, [{"name": "agreement", "samples": 3, "kind": "choice"}]) as client:
        reply = _chat(client, "n")
    assert reply.status_code == 200
    extra = [b for b in upstream.bodies if b.get("n") == 2]
    assert len(extra) == 1 and extra[0]["model"] == "m-small"  # one call with n = 2
    verify = [d for d in store.decisions(task_id="n") if d.endpoint == "verify"]
    assert len(verify) == 1 and verify[0].cost_usd == pytest.approx(0.002)  # both samples paid


def test_a_bad_test_report_is_a_400(store: Store) -> None:
    with _client(store, Scripted(), []) as client:
        reply = client.post("/v1/chat/completions", headers={"x-aco-tests": "passed=lots"},
                            json={"model": "aco/p", "messages": [{"role": "user", "content": "x"}]})
    assert reply.status_code == 400 and "x-aco-tests: cannot read 'passed=lots'" in reply.json()["error"]["message"]


def test_a_streamed_answer_is_verified_before_it_is_sent(store: Store) -> None:
    """A profile that checks answers reads a streamed request's answer whole (no `stream` to the upstream), escalates
    a rejected one, then streams the answer it keeps: chat chunks that add up to it, or Anthropic's events."""
    upstream = Scripted(answers=("B",))
    with _client(store, upstream, [{"name": "length", "min_chars": 5}]) as client:
        with client.stream("POST", "/v1/chat/completions", headers={"x-aco-task-id": "s1", "x-aco-category": "easy"},
                           json={"model": "aco/p", "stream": True, "stream_options": {"include_usage": True},
                                 "messages": [{"role": "user", "content": "Pick A or B"}]}) as reply:
            events = [line[6:] for line in reply.iter_lines() if line.startswith("data: ")]
            headers = reply.headers
        with client.stream("POST", "/v1/messages", headers={"x-aco-task-id": "s2", "x-aco-category": "easy"},
                           json={"model": "aco/p", "stream": True, "max_tokens": 16,
                                 "messages": [{"role": "user", "content": "Pick A or B"}]}) as claude:
            names = [line[7:] for line in claude.iter_lines() if line.startswith("event: ")]
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["x-aco-model"] == "m-big" and headers["x-aco-escalations"] == "m-small,m-mid"
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "B" and chunks[-1]["usage"]["completion_tokens"] == 1  # the usage chunk the client asked for
    assert all("stream" not in b and "stream_options" not in b for b in upstream.bodies)
    assert names[0] == "message_start" and names[-1] == "message_stop"
    answers = [d for d in store.decisions(task_id="s1") if d.endpoint != "verify"]
    assert [d.chosen_model for d in answers] == ["m-small", "m-mid", "m-big"]
    assert all(d.status == "settled" for d in answers)
