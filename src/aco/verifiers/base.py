"""The verifier contract: is this answer right? P(correct), the signals used, an abstention and why, and the cost.

A verifier reads the task (`TaskContext`), the candidate run (`Run`: the model, its answer in
`signals["response"]` and what the call returned: cost, logprobs, a reported test run, ...) and, when it needs them,
the replies to calls it asked for (`calls`: a judge's grading call, the other answers of a best-of-N). The
environment makes those calls: replay answers them from recorded outcomes, the SDK and the proxy from the
upstreams; either way every call is paid and its cost is on the verdict. The one rule that acts on a verdict is
`fails`: a verdict fails when it did not abstain and its P(correct) is below the verifier's threshold (the
controller then escalates); an abstention never fails, it leaves the decision standing.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from aco.routers.decision import Run, TaskContext

RESPONSE = "response"  # the run signal holding the answer's text


@dataclass(frozen=True, slots=True)
class Call:
    """A call a verifier needs: `model` answers `messages` (`n` samples in one call), with extra request
    `options` (e.g. max_tokens); `purpose` says why (judge, agreement)."""

    model: str
    messages: tuple[Mapping[str, Any], ...]
    n: int = 1
    purpose: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    """What one `Call` returned: its answers (one per sample) and what it cost, or why it failed (`error`)."""

    model: str
    texts: tuple[str, ...] = ()
    cost_usd: float = 0.0
    error: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verifier's answer about one run. `p_correct` is None when it abstained (`reason` says why)."""

    verifier: str
    p_correct: float | None
    signals: Mapping[str, float] = field(default_factory=dict)
    reason: str = ""
    cost_usd: float = 0.0

    def __post_init__(self) -> None:
        if self.p_correct is not None and not 0.0 <= self.p_correct <= 1.0:
            raise ValueError(f"{self.verifier}: P(correct) must be in [0, 1], got {self.p_correct}")
        if self.cost_usd < 0:
            raise ValueError(f"{self.verifier}: cost_usd must be >= 0, got {self.cost_usd}")

    @property
    def abstained(self) -> bool:
        return self.p_correct is None


def passes(p_correct: Any, threshold: float | Any) -> Any:
    """The acceptance rule, for one value or arrays: P(correct) >= threshold (NaN, an abstention, never fails
    here: callers decide what an abstention means, see `fails`)."""
    return np.greater_equal(p_correct, threshold)


def fails(verdict: Verdict, threshold: float) -> bool:
    """Whether a verdict rejects its answer: it did not abstain and P(correct) < threshold."""
    return verdict.p_correct is not None and not bool(passes(verdict.p_correct, threshold))


Caller = Callable[[Call], Reply]


class Verifier(ABC):
    """Base class of every verifier. `__init__` stores parameters (`threshold` among them); subclasses set `name`
    and implement `verdict`; verifiers that need calls implement `calls`, those that need more from the candidate's
    own call (logprobs) implement `request_options`."""

    name: ClassVar[str] = ""
    on_answer: ClassVar[bool] = True  # judged right after the answer (False: when a later report arrives, e.g. tests)
    threshold: float = 0.5

    @classmethod
    def param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    def request_options(self, model: str) -> dict[str, Any]:
        """Fields to add to the candidate's own call (e.g. logprobs); none by default."""
        return {}

    def calls(self, context: TaskContext, run: Run) -> tuple[Call, ...]:
        """The calls this verifier needs made about `run` (none by default)."""
        return ()

    @abstractmethod
    def verdict(self, context: TaskContext, run: Run, replies: Sequence[Reply] = ()) -> Verdict:
        """P(run's answer is right) from the task, the run and the replies to `calls` (in their order)."""

    def verify(self, context: TaskContext, run: Run, caller: Caller | None = None) -> Verdict:
        """`calls` made through `caller` (an environment), then the verdict. Without a caller a verifier that needs
        calls abstains and says so."""
        wanted = self.calls(context, run)
        if wanted and caller is None:
            return Verdict(self.name, None, reason="needs upstream calls, and this environment makes none")
        return self.verdict(context, run, [caller(c) for c in wanted] if caller is not None else [])


def answer_of(run: Run) -> str:
    """The run's answer text ('' when the call showed none)."""
    value = run.signals.get(RESPONSE, "")
    return value if isinstance(value, str) else ""


def task_messages(context: TaskContext) -> tuple[dict[str, Any], ...]:
    """The conversation the candidate answered (the live request's messages), else the task text as one turn."""
    messages = context.columns.get("messages")
    if isinstance(messages, list | tuple) and messages:
        return tuple(dict(m) for m in messages if isinstance(m, Mapping))
    return ({"role": "user", "content": context.text},)
