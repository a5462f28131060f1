"""`tests`: the agent's own test run for a step (pass/fail counts, exit code), reported by the agent or the SDK.

The report rides on the run's signals (`signals["tests"]`, a `TestReport`): the proxy reads it from the
`x-aco-tests` header of the task's next request (`passed=12 failed=1 exit_code=1`, any subset, separated by spaces,
commas or semicolons), the SDK from `TaskHandle.report_tests`. P(correct) is the share of tests that passed (0 when
the exit code says the run failed and no counts are given, 1 when it exited 0 with none failed); it abstains when
nothing was reported or no test ran. With the default threshold 1.0 any failure fails the answer: the controller
escalates ("route cheap, check, escalate").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aco.routers.decision import Run, TaskContext
from aco.verifiers.base import Reply, Verdict, Verifier
from aco.verifiers.registry import register_verifier

SIGNAL = "tests"
_FIELD = re.compile(r"^\s*(passed|failed|exit_code)\s*=\s*(-?\d+)\s*$")


@dataclass(frozen=True, slots=True)
class TestReport:
    """One test run: how many tests passed and failed, and the test command's exit code (None: unknown)."""

    __test__ = False  # not a pytest test class

    passed: int = 0
    failed: int = 0
    exit_code: int | None = None

    def __post_init__(self) -> None:
        if self.passed < 0 or self.failed < 0:
            raise ValueError(f"test counts must be >= 0, got passed={self.passed} failed={self.failed}")

    @property
    def ran(self) -> int:
        return self.passed + self.failed

    def p_correct(self) -> float | None:
        """The share of tests that passed; from the exit code alone when no counts are given; None when the report
        says nothing."""
        if self.ran:
            share = self.passed / self.ran
            return 0.0 if self.exit_code not in (None, 0) and share == 1.0 else share
        if self.exit_code is None:
            return None
        return 1.0 if self.exit_code == 0 else 0.0

    def as_signals(self) -> dict[str, float]:
        out = {"tests_passed": float(self.passed), "tests_failed": float(self.failed)}
        if self.exit_code is not None:
            out["tests_exit_code"] = float(self.exit_code)
        return out


def parse_tests(text: str) -> TestReport:
    """A `TestReport` from `passed=12 failed=1 exit_code=1` (fields in any order, any subset, separated by spaces,
    commas or semicolons); a ValueError names the part it cannot read."""
    values: dict[str, int] = {}
    for part in filter(None, re.split(r"[\s,;]+", text.strip())):
        match = _FIELD.match(part)
        if match is None:
            raise ValueError(f"cannot read {part[:40]!r}: use passed=N failed=N exit_code=N")
        if match.group(1) in values:
            raise ValueError(f"{match.group(1)} is given twice")
        values[match.group(1)] = int(match.group(2))
    if not values:
        raise ValueError("empty test report: use passed=N failed=N exit_code=N")
    return TestReport(**values)


@register_verifier
class TestsVerifier(Verifier):
    """P(correct) = the reported test run's pass share; fails below `threshold` (1.0: any failure)."""

    __test__ = False
    name = "tests"
    on_answer = False  # the agent runs its tests after the answer: judged when the report arrives

    def __init__(self, threshold: float = 1.0) -> None:
        self.threshold = threshold

    def verdict(self, context: TaskContext, run: Run, replies: Sequence[Reply] = ()) -> Verdict:
        report = run.signals.get(SIGNAL)
        if not isinstance(report, TestReport):
            return Verdict(self.name, None, reason="no test run was reported for this answer")
        p = report.p_correct()
        if p is None:
            return Verdict(self.name, None, report.as_signals(), reason="the report ran no test and gave no exit code")
        shown = f"{report.passed} passed, {report.failed} failed" + (
            f", exit code {report.exit_code}" if report.exit_code is not None else "")
        return Verdict(self.name, p, report.as_signals(), reason=f"tests: {shown}")
