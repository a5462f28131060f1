"""A cheap -> strong pair's recorded runs served for parity checks (`aco replay-live` on `swebench-lm32b-sonnet`).

Unlike the turn-by-turn agent replay (`aco.server.replay_trajectories`), this serves the pair table's recording
with its exact numbers, so a live run can be priced to the cent against the replay: the cheap model's recorded
turns one by one (thought as content, action as a `bash` tool call, the turn's recorded tokens as usage and its
cost), the rest of the cheap run (`metadata.aco_replay = "rest"`, or after its last recorded turn: the whole run's
cost minus the turns already served) and the strong model's independent full run (its recorded cost). The task is
named in `metadata.aco_replay_task` (else found by its statement, the first user message).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping
from typing import Any

from aco.datasets.table import OutcomeTable

TOOL = "bash"


class PairBook:
    """The recorded runs of a pair table (`aco.trajectories.pairs.pair_table`), by task."""

    def __init__(self, table: OutcomeTable) -> None:
        cost = table.cost_usd.mean(axis=0)
        self.cheap, self.strong = (0, 1) if cost[0] <= cost[1] else (1, 0)
        self.table = table
        self.models = [table.model_names[self.cheap], table.model_names[self.strong]]
        self._row = {t: i for i, t in enumerate(table.task_ids)}
        self._by_text = {str(x).strip(): i for i, x in reversed(list(enumerate(table.tasks["text"].tolist())))}

    def __len__(self) -> int:
        return self.table.n_tasks

    def reply(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]] | str:
        """(chat completion payload, replay headers) for a request of one of the pair's models, or why not."""
        messages = [m for m in body.get("messages") or [] if isinstance(m, Mapping)]
        raw = body.get("metadata")
        meta: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        statement = next((m.get("content") for m in messages if m.get("role") == "user"), "")
        task = str(meta.get("aco_replay_task") or "")
        row = self._row.get(task) if task else self._by_text.get(str(statement).strip())
        if row is None:
            return "this task is not in the recorded pair"
        model = str(body.get("model"))
        n_turns = sum(1 for m in messages if m.get("role") == "assistant")
        message, usage, cost_usd = self._answer(row, model, n_turns, meta.get("aco_replay") == "rest")
        column = self.table.model_index(model)
        payload = {"id": f"chatcmpl-replay-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
                   "created": int(time.time()), "model": model, "usage": usage,
                   "choices": [{"index": 0, "message": message,
                                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}]}
        headers = {"x-replay-cost-usd": repr(float(cost_usd)), "x-replay-sample-id": self.table.task_ids[row],
                   "x-replay-correct": repr(float(self.table.score[row, column]))}
        return payload, headers

    def _answer(self, row: int, model: str, n_turns: int, rest: bool) -> tuple[dict[str, Any], dict[str, Any], float]:
        turns = self.table.tasks["turns"].iloc[row]
        column = self.table.model_index(model)
        whole_usd = float(self.table.cost_usd[row, column])
        done = bool(self.table.score[row, column])
        if column == self.strong:
            return _message(f"[the recorded {model} run on this task, resolved={done}]"), {}, whole_usd
        if rest or n_turns >= len(turns):
            so_far = sum(t.cost_usd for t in turns[:n_turns] if not math.isnan(t.cost_usd))
            return (_message(f"[the recorded {model} run continues after turn {n_turns} to its end, resolved={done}]"),
                    {}, max(whole_usd - so_far, 0.0))
        turn = turns[n_turns]
        usage = {"prompt_tokens": _number(turn.prompt_tokens), "completion_tokens": _number(turn.completion_tokens)}
        return _message(turn.thought, turn.action), usage, 0.0 if math.isnan(turn.cost_usd) else float(turn.cost_usd)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _message(content: str, command: str = "") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if command:
        message["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                                  "function": {"name": TOOL, "arguments": json.dumps({"command": command})}}]
    return message
