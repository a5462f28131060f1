"""The Python SDK: `Optimizer.from_config(path)`, `start_task`, and per-step `route` / `observe` / `finish`.

Every decision comes from the profile's `Router` (`Router.decide`), the same object `aco bench` replays. Around
it sit the live environment's rules, each implemented once here: a task keeps its model across the steps of a
tool loop (sticky) unless a multi-step router acts (escalates, stops), the caller escalates, an upstream fails
(the router chooses again without it) or the budget forces a cheaper model (the router chooses again among the
cheaper ones); per-step routing (`StepPolicy.step`) sends search/read/... steps to the cheapest model the router
allows. Each call's expected cost is reserved in the store together with the decision (one transaction) and
settled after it, so concurrent workers never overspend a task budget.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aco.config import AcoConfig, load_config
from aco.errors import AcoError, ConfigError
from aco.records import Decision, Outcome, Usage
from aco.routers.base import Router
from aco.routers.decision import NoModelAllowedError, Run, TaskContext
from aco.sdk.profile import LiveProfile, load_profile
from aco.sdk.verification import Answer, Verified, verify_answer
from aco.store import DecisionRecord, OutcomeRecord, RefusalRecord, Store, VerdictRecord
from aco.trajectories.conversation import CallUsage, UnreadableConversationError, read_turns
from aco.trajectories.loader import Turn
from aco.verifiers import Verdict, fails
from aco.verifiers.base import Caller
from aco.verifiers.entropy import EntropyVerifier
from aco.verifiers.tests import SIGNAL as TESTS_SIGNAL
from aco.verifiers.tests import TestReport, TestsVerifier

OutcomeHook = Callable[[OutcomeRecord], None]


class BudgetExceededError(AcoError):
    """No allowed model fits in what is left of the task budget (HTTP 402)."""


class NoCandidateError(ConfigError):
    """Every candidate was excluded (all failed, or none is allowed)."""


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """One routing decision as returned to the caller.

    `action`: "continue" / "escalate" (call `model`) or "stop" (the router ends the task: call nothing; with
    `give_up` no result is kept).
    """

    decision_id: str
    task_id: str
    model: str
    p_success: float
    reason: str
    reserved_usd: float
    step_kind: str = ""
    p_success_by_model: dict[str, float] = field(default_factory=dict)
    fallback_from: str = ""
    previous_model: str = ""  # the model of the task's previous call ("" for its first): a switch when it differs
    action: str = "continue"
    propensity: float = 1.0
    give_up: bool = False


@dataclass
class _TaskState:
    profile: str
    category: str
    text: str = ""
    source: str = ""
    budget_usd: float | None = None  # opened in the store together with the first reservation
    budgeted: bool = False  # the store holds a budget for the task
    current_model: str = ""
    routed: Decision | None = None  # the router's decision for the task (per-step routing and stickiness)
    steps: int = 0
    strong_hold: int = 0  # per-step routing: turns the routed model is still held after an edit
    warm_model: str = ""  # the model whose prompt cache holds this task's conversation
    warm_tokens: int = 0  # how many prompt tokens of it (the previous call's whole prompt)
    runs: list[Run] = field(default_factory=list)  # runs of the current request (multi-step routers)
    calls: list[CallUsage] = field(default_factory=list)  # the call that answered each earlier request
    request_calls: list[CallUsage] = field(default_factory=list)
    answered: RouteDecision | None = None  # the latest decision whose call was observed (what verifiers judge)
    pending_escalation: str = ""  # a failed verdict (a reported test run): the next route escalates, and why
    lock: threading.Lock = field(default_factory=threading.Lock)


class TaskHandle:
    """A live task: route each step, observe what it cost, finish with the result."""

    def __init__(self, optimizer: Optimizer, task_id: str, text: str, state: _TaskState) -> None:
        self.optimizer = optimizer
        self.task_id = task_id
        self.text = text
        self._state = state

    @property
    def profile(self) -> str:
        return self._state.profile

    @property
    def category(self) -> str:
        return self._state.category

    @property
    def current_model(self) -> str:
        return self._state.current_model

    def context(self, step_kind: str = "", conversation: Sequence[Any] | None = None) -> TaskContext:
        """The task as its router sees it: text, labels, step kind, the runs of the current request and the
        partial trajectory read from `conversation` (with the tokens and cost of the calls made so far)."""
        state = self._state
        turns: tuple[Turn, ...] = ()
        unreadable = ""
        if conversation is not None:
            try:
                turns = read_turns(conversation, state.calls)
            except UnreadableConversationError as exc:
                unreadable = str(exc)
        return TaskContext(task_id=self.task_id, text=state.text, category=state.category, source=state.source,
                           step_kind=step_kind, turns=turns, runs=tuple(state.runs), unreadable=unreadable)

    def route(self, step_kind: str = "", context: Mapping[str, Any] | None = None, *, escalate: bool = False,
              exclude: Sequence[str] = (), reserve: bool = True, fallback_from: str = "",
              conversation: Sequence[Any] | None = None, endpoint: str = "sdk", because: str = "") -> RouteDecision:
        """Pick the model of the next call (sticky unless escalating, excluded or a multi-step router acts) and
        reserve its cost. A fresh request (no `exclude`, no `escalate`) starts with no runs. `context` may give
        the step's `action` and the request's `prompt_tokens` (then each model's expected cost counts the task's
        warm prompt cache); `endpoint` is recorded on the decision (chat, messages, responses, route, sdk);
        `because` says why an escalation was asked (a verifier's verdict)."""
        live = self.optimizer.profile(self._state.profile)
        action = context.get("action") if context else None
        action = action if isinstance(action, str) else ""
        prompt_tokens = context.get("prompt_tokens") if context else None
        if not step_kind and action:
            step_kind = _classify(action)
        with self._state.lock:
            if not exclude and not escalate:
                self._new_request()
            pending, self._state.pending_escalation = self._state.pending_escalation, ""
            because = because or pending
            escalate = escalate or bool(pending and self._state.current_model)
            ctx = self.context(step_kind, conversation)
            cost = self._cost_of(live, prompt_tokens if isinstance(prompt_tokens, int) else None)
            decision = self._choose(live, ctx, action, escalate, exclude, cost, because)
            return self._commit(live, ctx, decision, exclude, reserve, fallback_from, cost, endpoint,
                                escalated_from=self._state.current_model if escalate else "")

    def next_step(self, conversation: Sequence[Any] | None = None, endpoint: str = "sdk") -> RouteDecision | None:
        """After a call of this request was observed: a multi-step router's next action. An escalation is
        reserved and returned; a stop that keeps the result of an earlier run of this request (a best-of-N panel's
        selected answer) is returned unrecorded, action "stop" (nothing is called); None when the latest result
        stands (or the router is single-step)."""
        live = self.optimizer.profile(self._state.profile)
        if not live.router.multi_step:
            return None
        with self._state.lock:
            ctx = self.context("", conversation)
            decision = live.router.decide(ctx)
            ran = [run.model for run in ctx.runs]
            if decision.action == "stop" and ran and decision.model in ran and decision.model != ran[-1]:
                return RouteDecision(decision_id="", task_id=self.task_id, model=decision.model,
                                     p_success=float("nan") if decision.p_success is None else decision.p_success,
                                     reason=decision.reason, reserved_usd=0.0, action="stop")
            if decision.action != "escalate" or decision.model in ran:
                return None  # the latest result stands (a model that already ran here is not run again)
            return self._commit(live, ctx, decision, (), True, "", live.expected_cost_usd.__getitem__, endpoint,
                                escalated_from=ctx.runs[-1].model if ctx.runs else "")

    def _cost_of(self, live: LiveProfile, prompt_tokens: int | None) -> Callable[[str], float]:
        """Expected cost of this call per model: with the request's prompt size known, each model's price of it
        (the task's warm prompt cache read at the cached price on the model holding it, thrown away on any
        other: `Catalog.switch_cost_usd`); else the profile's typical cost per call."""
        if prompt_tokens is None:
            return live.expected_cost_usd.__getitem__
        catalog, state = self.optimizer.config_catalog, self._state
        return lambda model: catalog.switch_cost_usd(state.warm_model, model, prompt_tokens,
                                                     warm_tokens=state.warm_tokens)

    def _new_request(self) -> None:
        state = self._state
        if state.request_calls:
            state.calls.append(state.request_calls[-1])  # the call whose reply answered that request
        state.request_calls, state.runs = [], []

    def _choose(self, live: LiveProfile, ctx: TaskContext, action: str, escalate: bool,
                exclude: Sequence[str], cost: Callable[[str], float], because: str = "") -> Decision:
        state, router = self._state, live.router
        allowed = [m for m in live.chain if m not in exclude]
        current = state.current_model
        if not allowed:
            raise NoCandidateError(f"no model left for task {self.task_id!r} in profile {live.name!r}")
        if escalate and current:
            up = [m for m in live.stronger_than(current) if m in allowed]
            if not up and current in allowed:
                return Decision(task_id=self.task_id, model=current, step_kind=ctx.step_kind,
                                reason=f"escalation asked, but {current} is the strongest allowed model",
                                p_success_by_model=_p(state.routed))
            decision = _decide(router, ctx, up or allowed)
            why = f" ({because})" if because else ""
            return replace(decision, reason=f"escalated from {current}{why}: {decision.reason}")
        if live.config.step_routing and ctx.step_kind and not router.multi_step:
            return self._step_choice(live, ctx, action, allowed, cost)
        if (current and not router.multi_step and live.config.sticky and current in allowed
                and state.routed is not None):
            return Decision(task_id=self.task_id, model=current, step_kind=ctx.step_kind,
                            reason="sticky: same model within the task's tool loop",
                            p_success_by_model=_p(state.routed), p_success=_p(state.routed).get(current))
        decision = _decide(router, ctx, allowed)
        if state.routed is None or current in exclude:
            state.routed = decision
        if current and current in exclude:
            decision = replace(decision, reason=f"fallback from {current}: {decision.reason}")
        return decision

    def _step_choice(self, live: LiveProfile, ctx: TaskContext, action: str, allowed: list[str],
                     cost: Callable[[str], float]) -> Decision:
        """`StepPolicy.step`: the cheapest model the router permits for this call (counting the prompt cache a
        switch throws away), or the routed one for (protected) edits and the sticky turns after them."""
        state, router = self._state, live.router
        if state.routed is None or state.routed.model not in allowed:
            state.routed = _decide(router, ctx, allowed)
        routed = state.routed
        permitted = [m for m in allowed if m in router.permitted(ctx)] or [routed.model]
        cheapest = min(permitted, key=lambda m: (cost(m), permitted.index(m)))
        rules = live.step_rules
        wants = rules.wants_strong(ctx.step_kind, action)
        strong, hold = rules.step(ctx.step_kind, action, state.strong_hold)
        if wants:
            where = "protected edit" if not rules.strong_for_all_edits else "edit"
            rule = f"{where} -> routed model (held {rules.sticky_turns} turns)"
        elif strong:
            rule = f"sticky after edit ({hold} turns left)"
        else:
            where = "edit outside protected_paths" if ctx.step_kind == "edit" else ctx.step_kind
            rule = f"{where} -> cheapest allowed model"
        state.strong_hold = hold
        model = routed.model if strong else cheapest
        return Decision(task_id=self.task_id, model=model, step_kind=ctx.step_kind, p_success_by_model=_p(routed),
                        p_success=_p(routed).get(model), propensity=routed.propensity if strong else 1.0,
                        reason=f"step {ctx.step_kind}: {rule}; routed: {routed.model} ({routed.reason})")

    def _record(self, live: LiveProfile, decision: Decision, reserved_usd: float, fallback_from: str,
                endpoint: str, escalated_from: str) -> tuple[RouteDecision, DecisionRecord]:
        p = decision.p_success_by_model.get(decision.model, decision.p_success)
        out = RouteDecision(
            decision_id=decision.decision_id or uuid.uuid4().hex, task_id=self.task_id, model=decision.model,
            p_success=float("nan") if p is None else float(p), reason=decision.reason, reserved_usd=reserved_usd,
            step_kind=decision.step_kind, p_success_by_model=dict(decision.p_success_by_model),
            fallback_from=fallback_from, previous_model=self._state.current_model, action=decision.action,
            propensity=decision.propensity, give_up=decision.give_up)
        rec = DecisionRecord(
            decision_id=out.decision_id, task_id=self.task_id, profile=live.name, step_kind=decision.step_kind,
            category=self.category, candidates=live.chain, chosen_model=decision.model or "-",
            propensity=decision.propensity, p_success_by_model=dict(decision.p_success_by_model),
            reason=decision.reason, reserved_usd=reserved_usd, fallback_from=fallback_from, endpoint=endpoint,
            escalated_from=escalated_from)
        return out, rec

    def _commit(self, live: LiveProfile, ctx: TaskContext, decision: Decision, exclude: Sequence[str],
                reserve: bool, fallback_from: str, cost: Callable[[str], float], endpoint: str,
                escalated_from: str = "") -> RouteDecision:
        """Reserve the expected cost and log the decision in one transaction (opening the task's budget with the
        first one); over budget, the router chooses again among cheaper models (a refusal is logged)."""
        state, store = self._state, self.optimizer.store
        if decision.action == "stop":  # no call is made: nothing to reserve, nothing left open
            out, rec = self._record(live, decision, 0.0, fallback_from, endpoint, escalated_from)
            store.reserve_and_record(replace(rec, status="settled", cost_usd=0.0, settled_at=rec.created_at),
                                     open_budget_usd=state.budget_usd)
            return out
        allowed = [m for m in live.chain if m not in exclude]
        while True:
            reserved = cost(decision.model) if reserve else 0.0
            out, rec = self._record(live, decision, reserved, fallback_from, endpoint, escalated_from)
            if not reserve:  # a decision only: the caller makes the call and may report it (`observe`)
                rec = replace(rec, status="advisory")
            admitted = store.reserve_and_record(rec, open_budget_usd=state.budget_usd)
            state.budgeted = state.budgeted or admitted.budgeted
            if admitted.ok:
                state.current_model = decision.model
                state.steps += 1
                return out
            cheaper = [m for m in allowed if cost(m) < reserved]
            try:
                downgraded = _decide(live.router, ctx, cheaper) if cheaper else None
            except NoCandidateError:
                downgraded = None
            if downgraded is None:
                break
            decision = replace(downgraded, decision_id="",
                               reason=f"budget: downgraded from {decision.model} to {downgraded.model}")
        budget = store.budget_state(self.task_id)
        store.record_refusal(RefusalRecord(
            task_id=self.task_id, profile=live.name, model=decision.model, needed_usd=reserved,
            remaining_usd=budget.remaining_usd if budget else None, category=self.category))
        left = f"{budget.remaining_usd:.6f}" if budget else "?"
        raise BudgetExceededError(f"task {self.task_id!r}: budget exhausted ({left} USD left; the cheapest allowed "
                                  f"model {allowed[0] if allowed else '-'} needs more)")

    def observe(self, decision: RouteDecision, *, tokens: int | None = None, input_tokens: int = 0,
                output_tokens: int = 0, cost_usd: float | None = None, observation: str = "",
                usage: Usage | None = None, response: str | None = None, call: CallUsage | None = None,
                signals: Mapping[str, Any] | None = None) -> float:
        """Settle the decision: book the actual cost (given, else priced from the tokens) on the task's budget
        and record it, the usage and the counterfactual (the same tokens on the profile's strongest candidate)
        on the decision (settling the same decision twice books nothing more). Keep what the call showed: its
        `response` (a multi-step router's verifier reads it) and its tokens and cost (`call`: the trajectory's
        tokens so far) and further `signals` for the verifiers (e.g. `logprobs`)."""
        if usage is None:
            if tokens is not None and not (input_tokens or output_tokens):
                output_tokens = tokens
            usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
        catalog = self.optimizer.config_catalog
        if cost_usd is None:
            cost_usd = catalog.cost_usd(decision.model, usage)
        strongest = self.optimizer.profile(self.profile).strongest
        counterfactual = cost_usd if strongest == decision.model else catalog.cost_usd(strongest, usage)
        self.optimizer.store.settle_decision(decision.decision_id, cost_usd, usage=usage,
                                             counterfactual_usd=counterfactual)
        prompt = usage.input_tokens + usage.cached_input_tokens + usage.cache_write_tokens
        state = self._state
        with state.lock:  # this model's prompt cache now holds the conversation so far
            state.warm_model, state.warm_tokens = decision.model, prompt
            shown: dict[str, Any] = {**(signals or {}), "cost_usd": float(cost_usd)}
            if response is not None:
                shown["response"] = response
            state.runs.append(Run(decision.model, shown))
            state.answered = decision
            state.request_calls.append(call if call is not None else CallUsage(
                float(prompt), float(usage.output_tokens), float(cost_usd)))
        return cost_usd

    def verify(self, decision: RouteDecision | None = None, *, caller: Caller | None = None,
               conversation: Sequence[Any] | None = None) -> Verified:
        """The profile's verifiers on the answer of `decision` (default: the latest observed call; it must have been
        observed with its `response`). `caller` makes the calls verifiers need (a judge, more answers); each is
        reserved on the task's budget, logged as a `verify` decision and settled at its cost. Verdicts are logged on
        the decision; `Verified.rejected` says whether to escalate (`route(escalate=True)`)."""
        state = self._state
        decision = decision or state.answered
        if decision is None:
            raise AcoError(f"task {self.task_id!r}: no observed answer to verify")
        run = next((r for r in reversed(state.runs) if r.model == decision.model), None)
        if run is None:
            raise AcoError(f"task {self.task_id!r}: decision {decision.decision_id} has no observed answer in this "
                           "request (observe it with response=...)")
        context = self.context("", conversation)
        if conversation:
            context = replace(context, columns={**context.columns, "messages": list(conversation)})
        answer = Answer(self.task_id, self.category, decision.decision_id, context, run)
        return verify_answer(self.optimizer.store, self.optimizer.profile(self.profile), self.optimizer.config_catalog,
                             answer, caller)

    def report_tests(self, passed: int = 0, failed: int = 0, exit_code: int | None = None, *,
                     report: TestReport | None = None) -> Verdict:
        """A test run the agent made on the task's latest answer: judged by the profile's `tests` verifier (default
        threshold 1.0: any failure fails) and logged on that answer's decision; a failure makes the task's next
        `route` escalate (the reason names the test run)."""
        report = report or TestReport(passed=passed, failed=failed, exit_code=exit_code)
        live = self.optimizer.profile(self.profile)
        verifier = next((v for v in live.verifiers if isinstance(v, TestsVerifier)), None) or TestsVerifier()
        state = self._state
        answered = state.answered
        if answered is None:
            return Verdict(verifier.name, None, report.as_signals(), reason="no answer of this task to attach to")
        verdict = verifier.verdict(self.context(), Run(answered.model, {TESTS_SIGNAL: report}))
        self.optimizer.store.record_verdict(VerdictRecord(
            decision_id=answered.decision_id, task_id=self.task_id, verifier=verdict.verifier,
            p_correct=verdict.p_correct, reason=verdict.reason, signals=dict(verdict.signals)))
        if fails(verdict, verifier.threshold):
            with state.lock:
                state.pending_escalation = verdict.reason
        return verdict

    def release(self, decision: RouteDecision) -> None:
        """A call that failed: its reservation is released and the decision settled at $0 (status failed)."""
        self.optimizer.store.settle_decision(decision.decision_id, 0.0, status="failed")

    def finish(self, success: bool, *, score: float | None = None, cost_usd: float | None = None,
               verifier: str = "reported") -> OutcomeRecord:
        """Report the task's result: persisted, fed to the router and to the online learner hook."""
        spent = cost_usd
        if spent is None:
            state = self.optimizer.store.budget_state(self.task_id)
            spent = state.spent_usd if state else 0.0
        rec = OutcomeRecord(task_id=self.task_id, model=self.current_model or "", category=self.category,
                            score=float(success) if score is None else score, success=success,
                            cost_usd=spent, verifier=verifier)
        self.optimizer.record_outcome(rec, profile=self._state.profile)
        return rec


def _p(decision: Decision | None) -> dict[str, float]:
    return {} if decision is None else dict(decision.p_success_by_model)


def _decide(router: Router, ctx: TaskContext, allowed: Sequence[str]) -> Decision:
    """The router's decision among `allowed` (all of its models: no restriction, so it decides as in replay)."""
    if set(allowed) >= set(router.models_):
        return router.decide(ctx)
    try:
        return router.decide(ctx, allowed)
    except NoModelAllowedError as exc:
        raise NoCandidateError(str(exc)) from None


def _classify(action: str) -> str:
    from aco.trajectories.steps import classify_step

    return classify_step(action)


class Optimizer:
    """Live routing over a config's profiles, with state in a `Store` and an optional online-learner hook."""

    def __init__(self, config: AcoConfig, store: Store, *, on_outcome: OutcomeHook | None = None,
                 routers: Mapping[str, Router] | None = None, max_tasks: int = 100_000) -> None:
        self.config = config
        self.store = store
        self.on_outcome = on_outcome
        self.config_catalog = config.catalog()
        given = dict(routers or {})
        self.profiles = {name: load_profile(name, profile, self.config_catalog, given.get(name))
                         for name, profile in config.profiles.items()}
        for live in self.profiles.values():
            _warm_up(live)
        self._tasks: OrderedDict[tuple[str, str], _TaskState] = OrderedDict()  # (profile, task id) -> state
        self._profile_of: dict[str, str] = {}  # task id -> the profile that routed it last
        self._tasks_lock = threading.Lock()
        self._max_tasks = max_tasks
        self._stats_at = 0.0
        self.refresh_stats()
        self._new_outcomes = 0
        self.refit_verifiers()

    @classmethod
    def from_config(cls, path: Path | str, *, store_url: str | None = None,
                    on_outcome: OutcomeHook | None = None) -> Optimizer:
        """Build from a TOML config; the store is the config's `server.store_url` unless given."""
        config = load_config(path)
        return cls(config, Store.open(store_url or config.server.store_url), on_outcome=on_outcome)

    def profile(self, name: str) -> LiveProfile:
        try:
            return self.profiles[name]
        except KeyError:
            raise UnknownProfileError(f"unknown profile {name!r}; known: {sorted(self.profiles)}") from None

    def default_profile(self) -> str:
        return next(iter(self.profiles))

    def start_task(self, text: str = "", *, category: str = "", budget_usd: float | None = None,
                   profile: str | None = None, task_id: str | None = None, source: str = "") -> TaskHandle:
        """Open a task (and its budget: given, else the profile's default)."""
        return self.task(task_id or uuid.uuid4().hex, profile=profile, category=category, budget_usd=budget_usd,
                         text=text, source=source)

    def task(self, task_id: str, *, profile: str | None = None, category: str = "", budget_usd: float | None = None,
             text: str = "", source: str = "") -> TaskHandle:
        """The live task `task_id` of a profile (created on first use; later calls keep its labels and text). Its
        budget is opened in the store together with its first reservation; routing state is per profile."""
        name = profile or self.default_profile()
        live = self.profile(name)
        key = (name, task_id)
        with self._tasks_lock:
            state = self._tasks.get(key)
            self._profile_of[task_id] = name
            if state is None:
                budget = budget_usd if budget_usd is not None else live.config.default_budget_usd
                if budget is not None and budget < 0:
                    raise ValueError(f"budget_usd must be >= 0, got {budget}")
                state = _TaskState(profile=name, category=category, text=text, source=source, budget_usd=budget)
                self._tasks[key] = state
                while len(self._tasks) > self._max_tasks:
                    (_, old_id), _ = self._tasks.popitem(last=False)
                    self._profile_of.pop(old_id, None)
            else:
                self._tasks.move_to_end(key)
        return TaskHandle(self, task_id, state.text, state)

    def record_outcome(self, rec: OutcomeRecord, *, profile: str | None = None) -> None:
        """Persist an outcome, feed it to the routers that can choose its model and call the learner hook."""
        self.store.record_outcome(rec)
        with self._tasks_lock:
            routed_by = self._profile_of.get(rec.task_id)
            state = self._tasks.get((profile or routed_by or "", rec.task_id))
        category = rec.category or (state.category if state else "")
        name = profile or (state.profile if state else None)
        stored = self.store.get_decision(rec.decision_id) if rec.decision_id else None
        context = TaskContext(task_id=rec.task_id, text=state.text if state else "", category=category,
                              source=state.source if state else "")
        decision = Decision(task_id=rec.task_id, model=rec.model, decision_id=rec.decision_id or "",
                            propensity=stored.propensity if stored else 1.0)
        outcome = Outcome(score=rec.score, success=rec.success, cost_usd=rec.cost_usd)
        for profile_name, live in self.profiles.items():
            if (name is None or profile_name == name) and rec.model in live.router.models_:
                live.router.learn_one(context, decision, outcome)
        self._new_outcomes += 1
        every = [v.refit_every for live in self.profiles.values() for v in live.verifiers
                 if isinstance(v, EntropyVerifier)]
        if every and self._new_outcomes >= min(every):
            self.refit_verifiers()
        if self.on_outcome is not None:
            self.on_outcome(rec)

    def refit_verifiers(self) -> None:
        """Refit every profile's `entropy` calibrator on the answers whose outcome the store holds (the profile's
        own logged verdicts and outcomes; shared by every replica)."""
        from aco.verifiers.calibration import entropy_training, labelled_verdicts

        for live in self.profiles.values():
            for verifier in live.verifiers:
                if isinstance(verifier, EntropyVerifier):
                    verifier.refit(*entropy_training(labelled_verdicts(self.store, verifier.name, live.name)))
        self._new_outcomes = 0

    def refresh_stats(self, max_age_s: float = 0.0) -> None:
        """Reload the online counts from the store (shared by every worker) when older than `max_age_s`."""
        now = time.monotonic()
        if self._stats_at and now - self._stats_at < max_age_s:
            return
        readers = [live.router for live in self.profiles.values() if hasattr(live.router, "set_online_stats")]
        if readers:
            stats = self.store.category_model_stats()
            for router in readers:
                router.set_online_stats(stats)  # type: ignore[attr-defined]
        self._stats_at = now

    def close(self) -> None:
        self.store.close()


def _warm_up(live: LiveProfile) -> None:
    """One decision before serving (lazy imports, caches), then the router's random stream is restarted so that
    live decisions start exactly where a replay of the same router does."""
    try:
        live.router.decide(TaskContext(task_id="warm-up", text="warm-up"))
    except (AcoError, KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"profile {live.name!r}: its router ({live.source}) cannot decide: "
                          f"{type(exc).__name__}: {exc}") from None
    live.router.reseed()


class UnknownProfileError(ConfigError):
    """The request names a profile the config does not define."""
