"""The Python SDK: `Optimizer.from_config(path)`, `start_task`, and per-step `route` / `observe` / `finish`.

A task keeps its model across the steps of a tool loop (sticky) until the caller escalates, an upstream
fails, or the budget forces a cheaper model. Each call's expected cost is reserved in the store before the
call and settled after it, so concurrent workers never overspend a task budget.
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

from aco.config import AcoConfig, ProfileConfig, load_config
from aco.errors import AcoError, ConfigError
from aco.records import Usage
from aco.sdk.artifact_prior import ArtifactPrior
from aco.sdk.policy import Choice, LivePolicy, NoCandidateError, Prior, load_prior
from aco.store import DecisionRecord, OutcomeRecord, RefusalRecord, Store

OutcomeHook = Callable[[OutcomeRecord], None]


class BudgetExceededError(AcoError):
    """No allowed model fits in what is left of the task budget (HTTP 402)."""


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """One routing decision as returned to the caller."""

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


@dataclass
class _TaskState:
    profile: str
    category: str
    current_model: str = ""
    steps: int = 0
    task_prior: dict[str, float] | None = None  # the artifact's P(success) for this task's text
    strong_hold: int = 0  # per-step routing: turns the routed model is still held after an edit
    warm_model: str = ""  # the model whose prompt cache holds this task's conversation
    warm_tokens: int = 0  # how many prompt tokens of it (the previous call's whole prompt)
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

    def route(self, step_kind: str = "", context: Mapping[str, Any] | None = None, *, escalate: bool = False,
              exclude: Sequence[str] = (), reserve: bool = True, fallback_from: str = "",
              endpoint: str = "sdk") -> RouteDecision:
        """Pick the model of the next step (sticky unless escalating or excluded) and reserve its cost.

        `endpoint` is recorded on the decision (the proxy's API: chat, messages, responses, route; else sdk)."""
        opt = self.optimizer
        policy = opt.policy(self._state.profile)
        action = context.get("action") if context else None
        action = action if isinstance(action, str) else ""
        prompt_tokens = context.get("prompt_tokens") if context else None
        if not step_kind and action:
            step_kind = _classify(action)
        with self._state.lock:
            current = self._state.current_model
            cost = self._cost_of(policy, prompt_tokens if isinstance(prompt_tokens, int) else None)
            if policy.profile.step_routing and step_kind and not escalate:
                choice = self._step_choice(policy, step_kind, action, exclude, cost)
            else:
                choice = self._choose(policy, current, escalate, exclude)
            choice = replace(choice, expected_cost_usd=cost(choice.model))
            decision = self._reserve_and_record(policy, choice, step_kind, exclude, reserve, fallback_from,
                                                endpoint, current, cost)
            self._state.current_model = decision.model
            self._state.steps += 1
        return decision

    def _cost_of(self, policy: LivePolicy, prompt_tokens: int | None) -> Callable[[str], float]:
        """Expected cost of this call per model: with the request's prompt size known, each model's price of it
        (the task's warm prompt cache read at the cached price on the model holding it, thrown away on any
        other: `Catalog.switch_cost_usd`); else the profile's typical cost per call."""
        if prompt_tokens is None:
            return policy.expected_cost_usd.__getitem__
        catalog, state = self.optimizer.config_catalog, self._state
        return lambda model: catalog.switch_cost_usd(state.warm_model, model, prompt_tokens,
                                                     warm_tokens=state.warm_tokens)

    def _step_choice(self, policy: LivePolicy, kind: str, action: str, exclude: Sequence[str],
                     cost: Callable[[str], float]) -> Choice:
        """StepPolicy: the cheapest allowed model for this call (counting the prompt cache a switch throws
        away), or the routed one for (protected) edits and the sticky turns after them."""
        routed = policy.choose(self.category, exclude=exclude, task_prior=self._state.task_prior)
        allowed = [m for m in policy.allowed(self.category) if m not in exclude]
        cheap = min(allowed, key=lambda m: (cost(m), allowed.index(m))) if allowed else routed.model
        rules = policy.step_rules
        if rules.wants_strong(kind, action):
            self._state.strong_hold = rules.sticky_turns
            where = "protected edit" if not rules.strong_for_all_edits else "edit"
            rule = f"{where} -> routed model (held {rules.sticky_turns} turns)"
            model = routed.model
        elif self._state.strong_hold > 0:
            self._state.strong_hold -= 1
            rule = f"sticky after edit ({self._state.strong_hold} turns left)"
            model = routed.model
        else:
            where = "edit outside protected_paths" if kind == "edit" else kind
            rule, model = f"{where} -> cheapest allowed model", cheap
        reason = f"step {kind}: {rule}; routed: {routed.model} ({routed.reason})"
        return Choice(model, routed.p_success_by_model, reason, policy.expected_cost_usd[model], routed.allowed)

    def _choose(self, policy: LivePolicy, current: str, escalate: bool, exclude: Sequence[str]) -> Choice:
        category = self.category
        prior = self._state.task_prior
        if escalate and current:
            try:
                choice = policy.choose(category, exclude=exclude, above=current, task_prior=prior)
            except NoCandidateError:
                if current in exclude or current not in policy.allowed(category):
                    return policy.choose(category, exclude=exclude, task_prior=prior)
                return Choice(current, policy.p_success(category, prior),
                              f"escalation asked, but {current} is the strongest allowed model",
                              policy.expected_cost_usd[current], policy.allowed(category))
            return Choice(choice.model, choice.p_success_by_model, f"escalated from {current}: {choice.reason}",
                          choice.expected_cost_usd, choice.allowed)
        if (policy.profile.sticky and current and current not in exclude
                and current in policy.allowed(category)):
            p = policy.p_success(category, prior)
            return Choice(current, p, "sticky: same model within the task's tool loop",
                          policy.expected_cost_usd[current], policy.allowed(category))
        choice = policy.choose(category, exclude=exclude, task_prior=prior)
        if current in exclude:
            return Choice(choice.model, choice.p_success_by_model, f"fallback from {current}: {choice.reason}",
                          choice.expected_cost_usd, choice.allowed)
        return choice

    def _record(self, policy: LivePolicy, choice: Choice, step_kind: str, reserved_usd: float,
                fallback_from: str, endpoint: str, previous_model: str) -> tuple[RouteDecision, DecisionRecord]:
        decision = RouteDecision(
            decision_id=uuid.uuid4().hex, task_id=self.task_id, model=choice.model,
            p_success=choice.p_success_by_model[choice.model], reason=choice.reason, reserved_usd=reserved_usd,
            step_kind=step_kind, p_success_by_model=choice.p_success_by_model, fallback_from=fallback_from,
            previous_model=previous_model)
        rec = DecisionRecord(
            decision_id=decision.decision_id, task_id=self.task_id, profile=policy.name, step_kind=step_kind,
            category=self.category, candidates=choice.allowed, chosen_model=choice.model, propensity=1.0,
            p_success_by_model=choice.p_success_by_model, reason=choice.reason, reserved_usd=reserved_usd,
            fallback_from=fallback_from, endpoint=endpoint)
        return decision, rec

    def _reserve_and_record(self, policy: LivePolicy, choice: Choice, step_kind: str, exclude: Sequence[str],
                            reserve: bool, fallback_from: str, endpoint: str, previous_model: str,
                            cost: Callable[[str], float]) -> RouteDecision:
        """Reserve the expected cost and log the decision in one transaction; downgrade when over budget."""
        store = self.optimizer.store
        options = [choice]
        if reserve:
            options += [Choice(m, choice.p_success_by_model, f"budget: downgraded from {choice.model} to {m}",
                               cost(m), choice.allowed)
                        for m in policy.cheaper_than(choice.model, self.category, exclude)]
        for option in options:
            decision, rec = self._record(policy, option, step_kind, option.expected_cost_usd if reserve else 0.0,
                                         fallback_from, endpoint, previous_model)
            if store.reserve_and_record(rec):
                return decision
        state = store.budget_state(self.task_id)
        left = f"{state.remaining_usd:.6f}" if state else "?"
        cheapest = options[-1]
        store.record_refusal(RefusalRecord(
            task_id=self.task_id, profile=policy.name, model=cheapest.model, needed_usd=cheapest.expected_cost_usd,
            remaining_usd=state.remaining_usd if state else None, category=self.category))
        raise BudgetExceededError(
            f"task {self.task_id!r}: budget exhausted ({left} USD left; the cheapest allowed model "
            f"{policy.allowed(self.category)[0]} needs more)")

    def observe(self, decision: RouteDecision, *, tokens: int | None = None, input_tokens: int = 0,
                output_tokens: int = 0, cost_usd: float | None = None, observation: str = "",
                usage: Usage | None = None) -> float:
        """Settle the decision: book the actual cost (given, else priced from the tokens) on the task's budget
        and record it, the usage and the counterfactual (the same tokens on the profile's strongest candidate)
        on the decision. Settling the same decision twice books nothing more."""
        if usage is None:
            if tokens is not None and not (input_tokens or output_tokens):
                output_tokens = tokens
            usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
        catalog = self.optimizer.config_catalog
        if cost_usd is None:
            cost_usd = catalog.cost_usd(decision.model, usage)
        strongest = self.optimizer.policy(self.profile).strongest
        counterfactual = (cost_usd if strongest == decision.model
                          else catalog.cost_usd(strongest, usage))
        self.optimizer.store.settle_decision(decision.decision_id, cost_usd, usage=usage,
                                             counterfactual_usd=counterfactual)
        prompt = usage.input_tokens + usage.cached_input_tokens + usage.cache_write_tokens
        with self._state.lock:  # this model's prompt cache now holds the conversation so far
            self._state.warm_model, self._state.warm_tokens = decision.model, prompt
        return cost_usd

    def finish(self, success: bool, *, score: float | None = None, cost_usd: float | None = None,
               verifier: str = "reported") -> OutcomeRecord:
        """Report the task's result: persisted, fed to the policy and to the online learner hook."""
        spent = cost_usd
        if spent is None:
            state = self.optimizer.store.budget_state(self.task_id)
            spent = state.spent_usd if state else 0.0
        rec = OutcomeRecord(task_id=self.task_id, model=self.current_model or "", category=self.category,
                            score=float(success) if score is None else score, success=success,
                            cost_usd=spent, verifier=verifier)
        self.optimizer.record_outcome(rec, profile=self._state.profile)
        return rec


def _classify(action: str) -> str:
    try:
        from aco.trajectories.steps import classify_step
    except ImportError:
        return ""
    return classify_step(action)


class Optimizer:
    """Live routing over a config's profiles, with state in a `Store` and an optional online-learner hook."""

    def __init__(self, config: AcoConfig, store: Store, *, on_outcome: OutcomeHook | None = None,
                 priors: Mapping[str, Prior] | None = None, max_tasks: int = 100_000) -> None:
        self.config = config
        self.store = store
        self.on_outcome = on_outcome
        self.config_catalog = config.catalog()
        priors = dict(priors or {})
        self.policies = {name: LivePolicy(name, profile, self.config_catalog,
                                          priors.get(name) or load_prior(profile.datasets),
                                          _load_artifact(name, profile))
                         for name, profile in config.profiles.items()}
        self._tasks: OrderedDict[str, _TaskState] = OrderedDict()
        self._tasks_lock = threading.Lock()
        self._max_tasks = max_tasks
        self._stats_at = 0.0
        self.refresh_stats()

    @classmethod
    def from_config(cls, path: Path | str, *, store_url: str | None = None,
                    on_outcome: OutcomeHook | None = None) -> Optimizer:
        """Build from a TOML config; the store is the config's `server.store_url` unless given."""
        config = load_config(path)
        return cls(config, Store.open(store_url or config.server.store_url), on_outcome=on_outcome)

    def policy(self, profile: str) -> LivePolicy:
        try:
            return self.policies[profile]
        except KeyError:
            raise UnknownProfileError(f"unknown profile {profile!r}; known: {sorted(self.policies)}") from None

    def default_profile(self) -> str:
        return next(iter(self.policies))

    def start_task(self, text: str = "", *, category: str = "", budget_usd: float | None = None,
                   profile: str | None = None, task_id: str | None = None) -> TaskHandle:
        """Open a task (and its budget: given, else the profile's default)."""
        return self.task(task_id or uuid.uuid4().hex, profile=profile, category=category, budget_usd=budget_usd,
                         text=text)

    def task(self, task_id: str, *, profile: str | None = None, category: str = "", budget_usd: float | None = None,
             text: str = "") -> TaskHandle:
        """The live task `task_id` (created on first use; later calls keep its profile and category)."""
        name = profile or self.default_profile()
        policy = self.policy(name)
        prior = None
        if policy.artifact is not None and task_id not in self._tasks:  # featurise outside the lock
            prior = policy.task_prior(text, category)
        with self._tasks_lock:
            state = self._tasks.get(task_id)
            if state is None:
                state = _TaskState(profile=name, category=category, task_prior=prior)
                self._tasks[task_id] = state
                while len(self._tasks) > self._max_tasks:
                    self._tasks.popitem(last=False)
                created = True
            else:
                self._tasks.move_to_end(task_id)
                created = False
        if created:
            policy.allowed(category)  # fail early on an unsatisfiable floor
            budget = budget_usd if budget_usd is not None else policy.profile.default_budget_usd
            if budget is not None:
                self.store.open_budget(task_id, budget)
        return TaskHandle(self, task_id, text, state)

    def record_outcome(self, rec: OutcomeRecord, *, profile: str | None = None) -> None:
        """Persist an outcome, update the policy's online counts and call the learner hook."""
        self.store.record_outcome(rec)
        with self._tasks_lock:
            state = self._tasks.get(rec.task_id)
        category = rec.category or (state.category if state else "")
        name = profile or (state.profile if state else None)
        for policy_name, policy in self.policies.items():
            if (name is None or policy_name == name) and rec.model in policy.expected_cost_usd:
                policy.add_outcome(category, rec.model, rec.success)
        if self.on_outcome is not None:
            self.on_outcome(rec)

    def refresh_stats(self, max_age_s: float = 0.0) -> None:
        """Reload the online counts from the store (shared by every worker) when older than `max_age_s`."""
        now = time.monotonic()
        if self._stats_at and now - self._stats_at < max_age_s:
            return
        stats = self.store.category_model_stats()
        for policy in self.policies.values():
            policy.set_online_stats(stats)
        self._stats_at = now

    def close(self) -> None:
        self.store.close()


def _load_artifact(name: str, profile: ProfileConfig) -> ArtifactPrior | None:
    """The profile's `router` artifact, loaded and checked against its candidates (None when unset)."""
    if not profile.router:
        return None
    return ArtifactPrior.load(Path(profile.router), tuple(profile.candidates), name)


class UnknownProfileError(ConfigError):
    """The request names a profile the config does not define."""
