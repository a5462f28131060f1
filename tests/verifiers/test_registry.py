from __future__ import annotations

import pytest

from aco.routers.decision import Run, TaskContext
from aco.verifiers import UnknownVerifierError, available_verifiers, make_verifier


def test_every_verifier_is_registered_by_name() -> None:
    assert set(available_verifiers()) == {"agreement", "entropy", "judge", "length", "posthoc", "tests"}


@pytest.mark.parametrize(("name", "params", "message"), [
    ("oracle", {}, "unknown verifier 'oracle'; available: agreement, entropy"),
    ("judge", {"models": ["x"]}, r"takes no \['models'\]"),
    ("judge", {}, "needs a `model`"),
    ("posthoc", {}, "fit a `cascade` router"),
    ("agreement", {"kind": "vote"}, "kind must be one of")])
def test_bad_names_and_parameters_are_clear_errors(name: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(UnknownVerifierError, match=message):
        make_verifier(name, **params)


def test_length() -> None:
    verifier = make_verifier("length", min_chars=5)
    assert verifier.verdict(TaskContext(), Run("m", {"response": " abc "})).p_correct == 0.0
    assert verifier.verdict(TaskContext(), Run("m", {"response": "abcdef"})).p_correct == 1.0
