"""The replay upstream speaks both APIs: the official anthropic SDK straight against it (RouterBench and agent
turns, streaming and not), OpenAI-style streams with usage only when asked, the fault models, and the few
RouterBench recordings that have an answer but no verdict."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest
from starlette.testclient import TestClient

from aco.server.replay_trajectories import TrajectoryBook
from aco.server.replay_upstream import ReplayBook, create_replay_app

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def client(data_dir: Path) -> Iterator[TestClient]:
    app = create_replay_app(ReplayBook.from_data_dir(data_dir), trajectories=TrajectoryBook.from_data_dir(data_dir))
    with TestClient(app) as c:
        yield c


def test_anthropic_sdk_against_the_replay(client: TestClient) -> None:
    sdk = anthropic.Anthropic(base_url="http://testserver", api_key="unused", http_client=client, max_retries=0)
    task = "astropy__astropy-12907"
    reply = sdk.messages.create(model="mini-gemini-3-pro", max_tokens=64,
                                messages=[{"role": "user", "content": f"Resolve {task}"}])
    use = next(b for b in reply.content if b.type == "tool_use")
    assert reply.stop_reason == "tool_use" and use.name == "bash" and use.input["command"]
    with sdk.messages.stream(model="mini-gemini-3-pro", max_tokens=64,
                             messages=[{"role": "user", "content": f"Resolve {task}"}]) as stream:
        streamed = stream.get_final_message()
    assert [b.to_dict() for b in streamed.content] == [b.to_dict() for b in reply.content]
    assert streamed.usage.input_tokens == reply.usage.input_tokens
    with pytest.raises(anthropic.NotFoundError, match="not in the RouterBench recordings"):
        sdk.messages.create(model="gpt-4-1106-preview", max_tokens=5, messages=[{"role": "user", "content": "?"}])
    assert sdk.messages.count_tokens(model="x", messages=[{"role": "user", "content": "abcdefgh"}]).input_tokens == 2


def test_openai_streams_carry_usage_only_when_asked(client: TestClient) -> None:
    body = {"model": "sweagent-lm-32b", "stream": True,
            "messages": [{"role": "user", "content": "Resolve astropy__astropy-12907"}]}
    plain = client.post("/v1/chat/completions", json=body).text
    with_usage = client.post("/v1/chat/completions", json={**body, "stream_options": {"include_usage": True}}).text
    assert '"usage"' not in plain and plain.endswith("data: [DONE]\n\n")
    last = json.loads(with_usage.split("data: ")[-2])
    assert last["choices"] == [] and last["usage"]["prompt_tokens"] > 0


def test_fault_models_misbehave_on_purpose(client: TestClient) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "max_tokens": 5}
    assert client.post("/v1/chat/completions", json={**body, "model": "fault/malformed-json"}).text.startswith("{this")
    start = client.post("/v1/messages", json={**body, "model": "fault/malformed-stream", "stream": True}).text
    assert start.startswith("data: {this is not json")
    broken = client.post("/v1/messages", json={**body, "model": "fault/broken-stream", "stream": True}).text
    assert broken.startswith("event: message_start") and broken.endswith("data: {this is not json\n\n")


@pytest.fixture(scope="module")
def book(data_dir: Path) -> ReplayBook:
    return ReplayBook.from_data_dir(data_dir)


def _ask(client: TestClient, text: str, model: str) -> dict[str, object]:
    reply = client.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": text}]})
    assert reply.status_code == 200, reply.text
    return {"headers": reply.headers, "body": reply.json()}


def test_recordings_with_and_without_a_verdict(book: ReplayBook) -> None:
    graded = ungraded = None
    for text in book.prompts():
        for model in book.models:
            rec = book.lookup(text, model)
            if rec is None:
                continue
            if math.isfinite(rec.correct) and graded is None:
                graded = (text, model, rec)
            if not math.isfinite(rec.correct) and ungraded is None:
                ungraded = (text, model, rec)
        if graded and ungraded:
            break
    assert graded is not None and ungraded is not None
    with TestClient(create_replay_app(book)) as client:
        text, model, rec = graded
        got = _ask(client, text, model)
        assert got["headers"]["x-replay-correct"] == repr(rec.correct)  # type: ignore[index]
        assert float(got["headers"]["x-replay-cost-usd"]) == rec.cost_usd  # type: ignore[index]
        text, model, rec = ungraded
        got = _ask(client, text, model)  # an answer without a verdict is still served, as valid JSON
        assert "x-replay-correct" not in got["headers"]  # type: ignore[operator]
        assert got["body"]["x_replay"]["correct"] is None  # type: ignore[index]
        assert got["body"]["choices"][0]["message"]["content"] == rec.response  # type: ignore[index]
