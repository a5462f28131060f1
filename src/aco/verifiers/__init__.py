"""Verifiers: is an answer right? One contract (`Verifier`: P(correct), signals, abstention, cost) for replay and
live, registered by name: `tests`, `entropy`, `judge`, `agreement`, `length` and the cascade's `posthoc` head."""

from aco.verifiers.base import Call, Reply, Verdict, Verifier, fails, passes
from aco.verifiers.registry import UnknownVerifierError, available_verifiers, make_verifier, register_verifier

__all__ = ["Call", "Reply", "UnknownVerifierError", "Verdict", "Verifier", "available_verifiers", "fails",
           "make_verifier", "passes", "register_verifier"]
