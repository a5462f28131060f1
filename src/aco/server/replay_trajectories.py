"""Recorded SWE-bench agent turns replayed as an upstream: the recorded thought as the assistant's text, the
recorded action as a tool call, with the recorded token usage.

Interface (used by the replay upstream, the agent-loop tests and parity harnesses):

- models (the `model` a request names) -> files in `swebench-verified/trajectories/`:
  `sweagent-lm-32b` (SWE-agent-LM-32B, SWE-agent 1.0.1, 332 tasks), `sweagent-claude-4-sonnet` (Claude 4
  Sonnet, same agent, 64 tasks), `mini-gemini-3-pro` (Gemini 3 Pro, mini-SWE-agent, 500 tasks);
- the task: the first SWE-bench instance id (`owner__repo-NNNN`) found in the request's system or user text;
- the turn: 1 + the number of assistant messages in the conversation (so a loop that appends each reply and
  its tool result walks the recorded turns 1, 2, ...);
- the reply: text = the recorded thought; one tool call of the request's first tool (default `bash`) whose
  first parameter (default `command`) holds the recorded action; `TrajectoryBook.observation(...)` is the
  recorded result an agent loop sends back;
- usage: Gemini's per-call tokens as recorded (prompt, cached, completion incl. reasoning; header
  `x-replay-usage: recorded`, recorded cost in `x-replay-recorded-cost-usd`); SWE-agent's are its recorded
  characters x 0.25 tokens per character (`x-replay-usage: estimated`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aco.records import Usage
from aco.server.usage import to_chat
from aco.trajectories.loader import Trajectory, Turn, load_trajectory_file
from aco.trajectories.pricing import TokenPrice

TRAJECTORY_MODELS = {"sweagent-lm-32b": "sweagent_lm32b_first6.jsonl",
                     "sweagent-claude-4-sonnet": "sweagent_claude4sonnet_first6.jsonl",
                     "mini-gemini-3-pro": "mini_gemini3pro_first6.jsonl"}
_CHARS = TokenPrice("chars", 0.0, 0.0, tokens_per_char=0.25)  # tokens from characters where only those exist
_INSTANCE = re.compile(r"\b[A-Za-z0-9_.-]+__[A-Za-z0-9_.-]+-\d+\b")


def _tokens(value: float) -> int:
    return 0 if math.isnan(value) else round(value)


@dataclass(frozen=True)
class ReplayTurn:
    """One recorded turn as an upstream reply."""

    instance_id: str
    turn: Turn
    usage: Usage
    recorded: bool  # usage recorded per call (else estimated from characters)

    @property
    def cost_usd(self) -> float | None:
        return None if math.isnan(self.turn.cost_usd) or not self.recorded else self.turn.cost_usd


class TrajectoryBook:
    """The recorded turns of each replayable model, by task."""

    def __init__(self, runs: Mapping[str, Mapping[str, Trajectory]]) -> None:
        self.runs = runs

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> TrajectoryBook:
        """Every trajectory file present under `data_dir/swebench-verified/trajectories` (missing ones skipped)."""
        folder = Path(data_dir) / "swebench-verified" / "trajectories"
        runs = {model: load_trajectory_file(folder / name, _CHARS).trajectories
                for model, name in TRAJECTORY_MODELS.items() if (folder / name).is_file()}
        return cls(runs)

    @property
    def models(self) -> list[str]:
        return sorted(self.runs)

    def __len__(self) -> int:
        return sum(len(v) for v in self.runs.values())

    def instances(self, model: str) -> list[str]:
        return sorted(self.runs.get(model, {}))

    def instance_in(self, texts: list[str], model: str) -> str | None:
        """The first recorded instance id of `model` named in `texts`."""
        known = self.runs.get(model, {})
        for text in texts:
            for found in _INSTANCE.findall(text):
                if found in known:
                    return str(found)
        return None

    def turn(self, model: str, instance_id: str, index: int) -> ReplayTurn | None:
        run = self.runs.get(model, {}).get(instance_id)
        turn = next((t for t in run.turns if t.index == index), None) if run else None
        if turn is None:
            return None
        recorded = not math.isnan(turn.cached_prompt_tokens)
        cached = _tokens(turn.cached_prompt_tokens)
        usage = Usage(input_tokens=max(_tokens(turn.prompt_tokens) - cached, 0), cached_input_tokens=cached,
                      output_tokens=_tokens(turn.completion_tokens), reasoning_tokens=_tokens(turn.reasoning_tokens))
        return ReplayTurn(instance_id, turn, usage, recorded)

    def observation(self, model: str, instance_id: str, index: int) -> str:
        """The recorded result of turn `index`'s action (what the agent loop sends back as the tool result)."""
        found = self.turn(model, instance_id, index)
        return found.turn.observation if found else ""


def _texts(body: Mapping[str, Any], roles: tuple[str, ...]) -> list[str]:
    out = []
    for message in body.get("messages") or []:
        if message.get("role") not in roles:
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        out.append(str(content or ""))
    return out


def _tool(body: Mapping[str, Any]) -> tuple[str, str]:
    """(tool name, parameter) the recorded action is sent as: the request's first tool and its first parameter."""
    for tool in body.get("tools") or []:
        fn = tool.get("function") or {}
        props = list((fn.get("parameters") or {}).get("properties") or {})
        if fn.get("name"):
            return str(fn["name"]), str(props[0]) if props else "command"
    return "bash", "command"


def replay_payload(book: TrajectoryBook, model: str, body: Mapping[str, Any]) -> tuple[dict[str, Any],
                                                                                       dict[str, str]] | str:
    """The canonical reply to a canonical request, with its headers; or why there is none."""
    instance = book.instance_in(_texts(body, ("system", "developer", "user")), model)
    if instance is None:
        return f"no recorded {model} run names a SWE-bench instance id found in the request"
    index = 1 + sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")
    found = book.turn(model, instance, index)
    if found is None:
        return f"{model} has no recorded turn {index} for {instance}"
    name, param = _tool(body)
    call_id = "call_" + hashlib.sha256(f"{model}/{instance}/{index}".encode()).hexdigest()[:24]
    message = {"role": "assistant", "content": found.turn.thought or None,
               "tool_calls": [{"id": call_id, "type": "function",
                               "function": {"name": name, "arguments": json.dumps({param: found.turn.action})}}]}
    payload = {"id": f"chatcmpl-replay-{call_id[5:17]}", "object": "chat.completion", "created": 0, "model": model,
               "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
               "usage": to_chat(found.usage)}
    headers = {"x-replay-instance-id": instance, "x-replay-turn": str(index),
               "x-replay-usage": "recorded" if found.recorded else "estimated"}
    if found.cost_usd is not None:
        headers["x-replay-recorded-cost-usd"] = repr(found.cost_usd)
    return payload, headers
