from __future__ import annotations

import pytest

from aco.routers.decision import Run, TaskContext
from aco.verifiers import fails
from aco.verifiers.tests import TestReport, TestsVerifier, parse_tests


@pytest.mark.parametrize(("text", "report"), [
    ("passed=12 failed=1 exit_code=1", TestReport(12, 1, 1)),
    ("failed=0;passed=3", TestReport(3, 0, None)),
    ("exit_code=2", TestReport(0, 0, 2)),
    (" passed=4 , exit_code=0 ", TestReport(4, 0, 0))])
def test_parse_tests(text: str, report: TestReport) -> None:
    assert parse_tests(text) == report


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"), ("passed=x", "cannot read 'passed=x'"), ("ok=1", "cannot read"),
    ("passed=1 passed=2", "given twice"), ("passed=-1", "must be >= 0")])
def test_bad_reports_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tests(text)


def test_a_failure_fails_and_nothing_reported_abstains() -> None:
    verifier = TestsVerifier()
    context = TaskContext(task_id="t")
    failing = verifier.verdict(context, Run("m", {"tests": TestReport(9, 1, 1)}))
    assert failing.p_correct == pytest.approx(0.9) and fails(failing, verifier.threshold)
    assert "9 passed, 1 failed, exit code 1" in failing.reason
    passing = verifier.verdict(context, Run("m", {"tests": TestReport(10, 0, 0)}))
    assert passing.p_correct == 1.0 and not fails(passing, verifier.threshold)
    assert verifier.verdict(context, Run("m", {"tests": TestReport(0, 0, 3)})).p_correct == 0.0
    assert verifier.verdict(context, Run("m", {"tests": TestReport(5, 0, 1)})).p_correct == 0.0  # exit code wins
    silent = verifier.verdict(context, Run("m", {}))
    assert silent.abstained and "no test run" in silent.reason and not fails(silent, 1.0)
    assert verifier.verdict(context, Run("m", {"tests": TestReport()})).abstained
    assert not fails(failing, 0.8)  # a looser threshold lets 90% through
