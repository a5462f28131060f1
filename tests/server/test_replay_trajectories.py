"""Recorded SWE-bench agent turns as upstream replies: the task and turn found in the conversation, the recorded
thought and action as a tool call, recorded (Gemini) or estimated (SWE-agent) usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aco.records import Usage
from aco.server.replay_trajectories import TrajectoryBook, replay_payload

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def book(data_dir: Path) -> TrajectoryBook:
    return TrajectoryBook.from_data_dir(data_dir)


def test_books_every_recorded_run(book: TrajectoryBook) -> None:
    assert book.models == ["mini-gemini-3-pro", "sweagent-claude-4-sonnet", "sweagent-lm-32b"]
    assert [len(book.instances(m)) for m in book.models] == [500, 64, 332]


def test_gemini_turns_carry_their_recorded_usage_and_cost(book: TrajectoryBook) -> None:
    turn = book.turn("mini-gemini-3-pro", "astropy__astropy-12907", 4)
    assert turn is not None and turn.recorded and turn.cost_usd == pytest.approx(0.0030542)
    assert turn.usage == Usage(input_tokens=6388 - 6081, cached_input_tokens=6081, output_tokens=102)
    estimated = book.turn("sweagent-lm-32b", "astropy__astropy-12907", 1)
    assert estimated is not None and not estimated.recorded and estimated.cost_usd is None
    assert estimated.usage.input_tokens == round(6325 * 0.25)  # its recorded prompt characters x 0.25


def test_reply_is_the_next_recorded_turn_as_a_tool_call(book: TrajectoryBook) -> None:
    model, task = "sweagent-lm-32b", "astropy__astropy-12907"
    body = {"messages": [{"role": "system", "content": "agent"}, {"role": "user", "content": f"Fix {task} now"},
                         {"role": "assistant", "content": "x"}, {"role": "tool", "tool_call_id": "a", "content": "y"}],
            "tools": [{"type": "function", "function": {"name": "shell", "parameters": {
                "type": "object", "properties": {"cmd": {"type": "string"}}}}}]}
    found = replay_payload(book, model, body)
    assert not isinstance(found, str)
    payload, headers = found
    second = book.turn(model, task, 2)
    assert second is not None
    message = payload["choices"][0]["message"]
    assert message["content"] == second.turn.thought and payload["choices"][0]["finish_reason"] == "tool_calls"
    assert message["tool_calls"][0]["function"]["name"] == "shell"
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"cmd": second.turn.action}
    assert headers == {"x-replay-instance-id": task, "x-replay-turn": "2", "x-replay-usage": "estimated"}
    assert "no recorded" in str(replay_payload(book, model, {"messages": [{"role": "user", "content": "hi"}]}))
    body["messages"] = body["messages"][:2] + [{"role": "assistant", "content": "x"}] * 6
    assert "has no recorded turn 7" in str(replay_payload(book, model, body))
