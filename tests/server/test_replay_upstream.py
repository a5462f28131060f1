"""The replay upstream on the real RouterBench recordings: a recorded answer with its recorded cost and verdict,
and the few recordings that have an answer but no verdict."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aco.server.replay_upstream import ReplayBook, create_replay_app


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
