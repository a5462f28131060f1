"""Frozen records the store persists: one routing decision, one reported outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aco.records import Usage

VERIFIERS = ("benchmark", "tests", "posthoc", "reported")
DECISION_STATUSES = ("open", "advisory", "settled", "failed", "expired", "unknown")


def now_s() -> float:
    """Current UTC time as epoch seconds (the store's timestamp unit)."""
    return time.time()


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A logged routing decision: candidates, the chosen model, its propensity and why."""

    decision_id: str
    task_id: str
    profile: str
    chosen_model: str
    step_kind: str = ""
    category: str = ""
    candidates: tuple[str, ...] = ()
    propensity: float = 1.0
    p_success_by_model: dict[str, float] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    reserved_usd: float = 0.0
    created_at: float = field(default_factory=now_s)
    endpoint: str = ""  # chat, messages, responses, route, sdk
    fallback_from: str = ""  # the model whose upstream failed before this attempt
    escalated_from: str = ""  # the model whose answer was rejected before this attempt
    # filled when the call ends (`Store.settle_decision`): open -> settled / failed / expired; `advisory`: a
    # decision only (no reservation; the caller makes the call and may report it), never expired
    status: str = "open"
    cost_usd: float | None = None
    counterfactual_usd: float | None = None  # the same call priced on the profile's strongest candidate
    usage: Usage | None = None
    settled_at: float | None = None

    def __post_init__(self) -> None:
        if not self.decision_id or not self.task_id:
            raise ValueError("DecisionRecord needs a decision_id and a task_id")
        if self.status not in DECISION_STATUSES:
            raise ValueError(f"status must be one of {DECISION_STATUSES}, got {self.status!r}")
        if not 0.0 <= self.propensity <= 1.0:
            raise ValueError(f"propensity must be in [0, 1], got {self.propensity}")
        if self.reserved_usd < 0:
            raise ValueError(f"reserved_usd must be >= 0, got {self.reserved_usd}")


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """A task's (or one decision's) result as reported back: score, success and cost."""

    task_id: str
    model: str
    score: float
    success: bool
    cost_usd: float = 0.0
    decision_id: str | None = None
    verifier: str = "reported"
    created_at: float = field(default_factory=now_s)
    category: str = ""  # empty: the store fills it from the task's decisions

    def __post_init__(self) -> None:
        if not self.task_id:
            raise ValueError("OutcomeRecord needs a task_id")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score}")
        if self.cost_usd < 0:
            raise ValueError(f"cost_usd must be >= 0, got {self.cost_usd}")
        if self.verifier not in VERIFIERS:
            raise ValueError(f"verifier must be one of {VERIFIERS}, got {self.verifier!r}")


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """A verifier's verdict on one decision's answer: P(correct) (None: it abstained, `reason` says why), the
    signals it used and what verifying cost (calls it made, booked on the task's budget as their own decisions)."""

    decision_id: str
    task_id: str
    verifier: str
    p_correct: float | None
    reason: str = ""
    signals: dict[str, float] = field(default_factory=dict)
    cost_usd: float = 0.0
    created_at: float = field(default_factory=now_s)

    def __post_init__(self) -> None:
        if not self.decision_id or not self.task_id or not self.verifier:
            raise ValueError("VerdictRecord needs a decision_id, a task_id and a verifier")
        if self.p_correct is not None and not 0.0 <= self.p_correct <= 1.0:
            raise ValueError(f"p_correct must be in [0, 1], got {self.p_correct}")
        if self.cost_usd < 0:
            raise ValueError(f"cost_usd must be >= 0, got {self.cost_usd}")

    @property
    def abstained(self) -> bool:
        return self.p_correct is None


@dataclass(frozen=True, slots=True)
class BudgetState:
    """A task budget: its limit, what is reserved by calls in flight and what was spent."""

    budget_usd: float
    reserved_usd: float
    spent_usd: float

    @property
    def remaining_usd(self) -> float:
        return self.budget_usd - self.reserved_usd - self.spent_usd


@dataclass(frozen=True, slots=True)
class RefusalRecord:
    """A call refused because no allowed model fitted in what was left of the task's budget."""

    task_id: str
    profile: str
    model: str
    needed_usd: float
    remaining_usd: float | None = None
    category: str = ""
    created_at: float = field(default_factory=now_s)


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a decision was admitted (its reservation fits the task's budget) and whether the task has one."""

    ok: bool
    budgeted: bool

    def __bool__(self) -> bool:
        return self.ok
