"""`judge`: a configured (usually cheap) model grades the answer against the task with a fixed, versioned prompt.

The prompt (`PROMPT_VERSION`) asks for one line `SCORE: <0-10>`; `parse_score` reads it robustly (`SCORE: 7`,
`score = 7/10`, `{"score": 7}`, `7/10`, a bare `7`) and refuses what is ambiguous or out of range. P(correct) is
the score / 10. The judge call is paid like any call (its cost is on the verdict and the environment books it on
the task's budget); a failed call or malformed output is an abstention with the reason, never an error, so the
decision stands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from aco.routers.decision import Run, TaskContext
from aco.verifiers.base import Call, Reply, Verdict, Verifier, answer_of
from aco.verifiers.registry import register_verifier

PROMPT_VERSION = "aco-judge-v1"
MAX_SCORE = 10.0
SYSTEM = ("You are a strict grader. You are shown a task and an answer to it. Judge only whether the answer is "
          "correct and complete for the task; ignore style. Reply with exactly one line: SCORE: <an integer from "
          "0 (certainly wrong) to 10 (certainly right)>.")
USER = "Task:\n{task}\n\nAnswer to grade:\n{answer}\n\nReply with one line: SCORE: <0-10>"

_NUMBER = r"(-?\d+(?:\.\d+)?)"
_PATTERNS = (re.compile(rf"\bscore\b\s*[:=]?\s*\**\s*{_NUMBER}\s*(?:/\s*10)?", re.I),
             re.compile(rf"{_NUMBER}\s*/\s*10\b"),
             re.compile(rf"^\s*{_NUMBER}\s*\.?\s*$"))


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars // 2] + "\n[...]\n" + text[-max_chars // 2:]


def judge_messages(task: str, answer: str, max_chars: int = 8000) -> tuple[dict[str, str], ...]:
    """The judge's prompt (version `PROMPT_VERSION`) for one task and answer, each clipped to `max_chars`."""
    return ({"role": "system", "content": SYSTEM},
            {"role": "user", "content": USER.format(task=_clip(task, max_chars), answer=_clip(answer, max_chars))})


def parse_score(text: str) -> float:
    """The judge's score in [0, 10]; a ValueError says why the output cannot be read."""
    found: set[float] = set()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("score"), int | float) and not isinstance(data["score"], bool):
        found.add(float(data["score"]))
    for pattern in _PATTERNS:
        if found:
            break
        found.update(float(m) for m in pattern.findall(text))
    if not found:
        raise ValueError(f"no score in the judge's output {text[:80]!r}")
    if len(found) > 1:
        raise ValueError(f"several scores {sorted(found)} in the judge's output {text[:80]!r}")
    score = found.pop()
    if not 0.0 <= score <= MAX_SCORE:
        raise ValueError(f"score {score:g} outside 0-10 in the judge's output {text[:80]!r}")
    return score


@register_verifier
class JudgeVerifier(Verifier):
    """P(correct) = the judge model's score / 10 for the answer (prompt `PROMPT_VERSION`)."""

    name = "judge"

    def __init__(self, model: str = "", threshold: float = 0.5, max_chars: int = 8000, max_tokens: int = 16) -> None:
        if not model:
            raise ValueError("the judge needs a `model` to ask")
        self.model = model
        self.threshold = threshold
        self.max_chars = max_chars
        self.max_tokens = max_tokens

    def calls(self, context: TaskContext, run: Run) -> tuple[Call, ...]:
        return (Call(self.model, judge_messages(context.text, answer_of(run), self.max_chars), purpose="judge",
                     options={"max_tokens": self.max_tokens, "temperature": 0}),)

    def verdict(self, context: TaskContext, run: Run, replies: Sequence[Reply] = ()) -> Verdict:
        cost_usd = float(sum(r.cost_usd for r in replies))
        signals: dict[str, float] = {}
        if not replies:
            return Verdict(self.name, None, signals, reason="the judge was not asked", cost_usd=cost_usd)
        reply = replies[0]
        if reply.error or not reply.texts:
            why = reply.error or "an empty reply"
            return Verdict(self.name, None, signals, reason=f"judge {reply.model} failed: {why}", cost_usd=cost_usd)
        try:
            score = parse_score(reply.texts[0])
        except ValueError as exc:
            return Verdict(self.name, None, signals, reason=f"malformed judge output: {exc}", cost_usd=cost_usd)
        return Verdict(self.name, score / MAX_SCORE, {**signals, "judge_score": score}, cost_usd=cost_usd,
                       reason=f"judge {reply.model} ({PROMPT_VERSION}): SCORE {score:g}/10")
