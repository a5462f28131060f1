"""Plain records shared by every layer: models, tasks, steps, decisions, outcomes, traces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STEP_KINDS = ("plan", "search", "read", "edit", "test", "verify")
ACTIONS = ("continue", "escalate", "verify", "stop")  # what a decision asks the environment to do next


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A candidate model and its list prices (USD per million tokens)."""

    name: str
    provider: str = ""
    usd_per_mtok_input: float = 0.0
    usd_per_mtok_output: float = 0.0
    tier: int = 0
    tier_label: str = ""

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """Price of one call with the given token counts."""
        return (input_tokens * self.usd_per_mtok_input + output_tokens * self.usd_per_mtok_output) / 1e6


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one upstream call used, as billed: fresh input, cached input read, cache writes, output.

    `input_tokens` counts only input billed at the full rate (for OpenAI, prompt tokens minus cached ones;
    Anthropic reports it that way); `reasoning_tokens` are part of `output_tokens` (reported for audit).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def __post_init__(self) -> None:
        for name in ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
                     "reasoning_tokens"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.cached_input_tokens + self.cache_write_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class Task:
    """A unit of work an agent is asked to do."""

    task_id: str
    text: str = ""
    category: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    """One agent step inside a task: its kind, the action taken and what it observed."""

    index: int
    kind: str = ""
    action: str = ""
    observation: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What running a model on a task gave: a score in [0, 1] and what it cost."""

    score: float
    success: bool
    cost_usd: float
    tokens: int = 0
    latency_ms: float = 0.0
    calls: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score}")
        if self.cost_usd < 0:
            raise ValueError(f"cost_usd must be >= 0, got {self.cost_usd}")


@dataclass(frozen=True, slots=True)
class Decision:
    """A routing decision: the action, the model it concerns, why, and with what probability it was chosen.

    `action` is one of `ACTIONS`: "continue" (run `model`, or keep running it), "escalate" (run the stronger
    `model` after the current one), "verify" (check the latest result) or "stop" (end the task and keep the
    result of `model`; with `give_up`, keep no result at all).
    """

    task_id: str
    model: str
    p_success: float | None = None
    reason: str = ""
    propensity: float = 1.0
    decision_id: str = ""
    step_kind: str = ""
    p_success_by_model: dict[str, float] = field(default_factory=dict)
    expected_cost_usd: float | None = None
    action: str = "continue"
    give_up: bool = False

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, got {self.action!r}")
        if not 0.0 <= self.propensity <= 1.0:
            raise ValueError(f"propensity must be in [0, 1], got {self.propensity}")


@dataclass(frozen=True, slots=True)
class Trace:
    """A task's full history: its decisions, steps and final outcome."""

    task: Task
    decisions: tuple[Decision, ...] = ()
    steps: tuple[Step, ...] = ()
    outcome: Outcome | None = None
