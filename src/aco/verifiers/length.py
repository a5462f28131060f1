"""`length`: an answer shorter than `min_chars` characters (stripped) is wrong (the profile key `verify_min_chars`
configures it; the proxy gives a reply with tool calls its calls as text, so it passes)."""

from __future__ import annotations

from collections.abc import Sequence

from aco.routers.decision import Run, TaskContext
from aco.verifiers.base import Reply, Verdict, Verifier, answer_of
from aco.verifiers.registry import register_verifier


@register_verifier
class LengthVerifier(Verifier):
    """P(correct) 0 for an answer under `min_chars` characters, else 1."""

    name = "length"

    def __init__(self, min_chars: int = 1, threshold: float = 0.5) -> None:
        if min_chars < 0:
            raise ValueError(f"min_chars must be >= 0, got {min_chars}")
        self.min_chars = min_chars
        self.threshold = threshold

    def verdict(self, context: TaskContext, run: Run, replies: Sequence[Reply] = ()) -> Verdict:
        chars = len(answer_of(run).strip())
        ok = chars >= self.min_chars
        return Verdict(self.name, 1.0 if ok else 0.0, {"answer_chars": float(chars)},
                       reason=f"answer of {chars} characters ({'>=' if ok else '<'} {self.min_chars})")
