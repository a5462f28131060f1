"""A live answer checked by its profile's verifiers, and reported test runs.

`verify_answer` asks every verifier of the profile about the latest run of a decision: the calls a verifier needs
(a judge's grading call, the other answers of a best-of-N) go through the environment's `caller` and are paid like
any call: each is reserved on the task's budget and logged as its own decision (endpoint `verify`), then settled at
what it cost (a call that does not fit the budget is not made, and the verifier abstains saying so). Every verdict is
logged on the verified decision (`Store.record_verdict`). The answer is rejected when a verdict fails
(`aco.verifiers.fails`); an abstention, malformed judge output included, leaves it standing, with the reason logged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from aco.catalog import Catalog
from aco.routers.decision import Run, TaskContext
from aco.sdk.profile import LiveProfile
from aco.store import DecisionRecord, Store, VerdictRecord
from aco.verifiers import Call, Reply, Verdict, fails
from aco.verifiers.base import Caller

VERIFY_ENDPOINT = "verify"


@dataclass(frozen=True)
class Verified:
    """The verdicts on one answer, whether it is rejected (and by which verdict), and what verifying cost."""

    decision_id: str
    verdicts: tuple[Verdict, ...] = ()
    rejected_by: Verdict | None = None
    cost_usd: float = 0.0
    call_decisions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rejected(self) -> bool:
        return self.rejected_by is not None

    def header(self) -> str:
        """`name=P` per verdict (`name=abstained` when it abstained), for the `x-aco-verdicts` header."""
        return ",".join(f"{v.verifier}={'abstained' if v.p_correct is None else f'{v.p_correct:.3f}'}"
                        for v in self.verdicts)


@dataclass(frozen=True)
class Answer:
    """The answer to verify: its task (as the router sees it, with the request's messages), its decision and run."""

    task_id: str
    category: str
    decision_id: str
    context: TaskContext
    run: Run


class _BookedCaller:
    """The environment's caller with every call reserved on the task's budget and settled at its cost."""

    def __init__(self, store: Store, live: LiveProfile, catalog: Catalog, answer: Answer,
                 caller: Caller | None) -> None:
        self.store, self.live, self.catalog, self.answer, self.caller = store, live, catalog, answer, caller
        self.decision_ids: list[str] = []

    def __call__(self, call: Call) -> Reply:
        store, live, answer = self.store, self.live, self.answer
        if self.caller is None:
            return Reply(call.model, error="this environment makes no upstream calls")
        expected = live.expected_cost_usd.get(call.model)
        if expected is None:
            expected = self.catalog.get(call.model).expected_cost_usd()
        rec = DecisionRecord(
            decision_id=uuid.uuid4().hex, task_id=answer.task_id, profile=live.name, chosen_model=call.model,
            step_kind="verify", category=answer.category, candidates=live.chain, endpoint=VERIFY_ENDPOINT,
            reason=f"{call.purpose or 'verifier'} call about decision {answer.decision_id}",
            reserved_usd=expected * call.n)
        if not store.reserve_and_record(rec).ok:
            return Reply(call.model, error=f"budget: the {call.purpose} call (${rec.reserved_usd:.6f}) does not fit")
        self.decision_ids.append(rec.decision_id)
        reply = self.caller(call)
        if reply.error:
            store.settle_decision(rec.decision_id, reply.cost_usd, status="failed" if not reply.cost_usd else "settled")
        else:
            store.settle_decision(rec.decision_id, reply.cost_usd)
        return reply


def verify_answer(store: Store, live: LiveProfile, catalog: Catalog, answer: Answer, caller: Caller | None
                  ) -> Verified:
    """Every verifier of the profile on the answer, each verdict logged on its decision; rejected when one fails.
    The answer of the profile's strongest model cannot be escalated: verifiers that would make paid calls about it
    are not asked (those that cost nothing, e.g. entropy, still log their signals); `tests` waits for its report
    (`TaskHandle.report_tests`)."""
    booked = _BookedCaller(store, live, catalog, answer, caller)
    final = not live.stronger_than(answer.run.model)
    verifiers = tuple(v for v in live.verifiers
                      if v.on_answer and not (final and v.calls(answer.context, answer.run)))
    verdicts = tuple(verifier.verify(answer.context, answer.run, booked) for verifier in verifiers)
    for verdict in verdicts:
        store.record_verdict(VerdictRecord(
            decision_id=answer.decision_id, task_id=answer.task_id, verifier=verdict.verifier,
            p_correct=verdict.p_correct, reason=verdict.reason, signals=dict(verdict.signals),
            cost_usd=verdict.cost_usd))
    rejected = next((v for v, verifier in zip(verdicts, verifiers, strict=True) if fails(v, verifier.threshold)),
                    None)
    return Verified(answer.decision_id, verdicts, rejected, float(sum(v.cost_usd for v in verdicts)),
                    tuple(booked.decision_ids))
