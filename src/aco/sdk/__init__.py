"""Python SDK for live routing: `Optimizer.from_config(path).start_task(...).route(...)`."""

from aco.sdk.optimizer import (
    BudgetExceededError,
    Optimizer,
    OutcomeHook,
    RouteDecision,
    TaskHandle,
    UnknownProfileError,
)
from aco.sdk.policy import Choice, LivePolicy, NoCandidateError, Prior, load_prior, prior_from_outcomes

__all__ = ["BudgetExceededError", "Choice", "LivePolicy", "NoCandidateError", "Optimizer", "OutcomeHook", "Prior",
           "RouteDecision", "TaskHandle", "UnknownProfileError", "load_prior", "prior_from_outcomes"]
