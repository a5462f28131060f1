"""Python SDK for live routing: `Optimizer.from_config(path).start_task(...).route(...)`."""

from aco.sdk.optimizer import (
    BudgetExceededError,
    NoCandidateError,
    Optimizer,
    OutcomeHook,
    RouteDecision,
    TaskHandle,
    UnknownProfileError,
)
from aco.sdk.profile import LiveProfile, load_profile

__all__ = ["BudgetExceededError", "LiveProfile", "NoCandidateError", "Optimizer", "OutcomeHook", "RouteDecision",
           "TaskHandle", "UnknownProfileError", "load_profile"]
