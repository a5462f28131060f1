"""Online routers: `thompson`, `orchestrator[:PRIOR]`, `orchestrator-greedy[:PRIOR]` and `linucb`.

As batch routers (ordinary `aco bench`) they warm-start Memory (and LinUCB's regressions) with every
training outcome and decide each test task without feedback, logging the propensity of each choice.
In a stream (`aco bench --stream`) `make_orchestrator` starts them from an empty Memory and they learn
from each task's feedback before the next one.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.errors import ArtifactError
from aco.online.bandits import Bandit, Choice, LinUCB, PosteriorMeanGreedy, ThompsonSampling
from aco.online.memory import InMemoryMemory, LoggedDecision, Memory
from aco.online.orchestrator import OnlineDecision, Orchestrator, category_counts, clean_prior, task_features
from aco.online.verifier import Feedback
from aco.policies.objective import Objective
from aco.records import Decision, Outcome
from aco.routers.base import Router, Routing, objective_for
from aco.routers.decision import TaskContext, allowed_mask
from aco.routers.registry import build_router, register
from aco.routers.state import decode, encode

MAX_PENDING = 100_000  # decisions whose outcome may still come back (oldest forgotten first)


class OnlineRouter(Router):
    """Shared parts: features, Memory, an exploration policy; subclasses choose the policy and kNN use."""

    knn_k_default: ClassVar[int] = 0
    fits_empty = True  # a stream starts from an empty Memory

    def __init__(self, value_usd: float | None = None, seed: int = 0, n_features: int = 256,
                 prior: str | None = None, epsilon: float = 0.0, prior_weight: float = 20.0,
                 knn_k: int | None = None) -> None:
        self.value_usd = value_usd
        self.seed = seed
        self.n_features = n_features
        self.prior = prior
        self.epsilon = epsilon
        self.prior_weight = prior_weight
        self.knn_k = knn_k

    def make_policy(self, cost_weight: float) -> Bandit:
        return ThompsonSampling(cost_weight=cost_weight, seed=self.seed, epsilon=self.epsilon)

    def make_orchestrator(self, models: Sequence[str], memory: Memory | None = None,
                          objective: Objective | None = None) -> Orchestrator:
        """A fresh loop over `models` (an empty in-process Memory unless one is given) whose reward is
        `objective` (default: the router's `value_usd`, which must then be set)."""
        if objective is None:
            if self.value_usd is None:
                raise ValueError(f"{self.name}: give value_usd (or an objective) to start a loop without a table")
            objective = Objective(float(self.value_usd), "router parameter value_usd")
        return Orchestrator(models=tuple(models), memory=memory or InMemoryMemory(self.n_features),
                            policy=self.make_policy(objective.cost_weight), prior_weight=self.prior_weight,
                            knn_k=self.knn_k_default if self.knn_k is None else self.knn_k)

    def _fit(self, table: OutcomeTable) -> None:
        self.objective_ = objective_for(self.value_usd, table)
        self.orchestrator_ = self.make_orchestrator(table.model_names, objective=self.objective_)
        features = task_features(table.tasks, self.n_features)
        self.orchestrator_.warm_start(table.tasks, features, table.score, table.cost_usd,
                                      table.success_threshold)
        self._warm_policy(features, table)
        self.prior_router_ = build_router(self.prior, self.objective_).fit(table) if self.prior else None
        self.prior_n_by_category_ = category_counts(table.tasks["category"].to_numpy())
        self.prior_cost_usd_ = np.asarray(self.mean_cost_usd_, dtype=float)
        self.pending_: OrderedDict[str, OnlineDecision] = OrderedDict()

    def _warm_policy(self, features: np.ndarray, table: OutcomeTable) -> None:
        """Hook: policies with their own state (LinUCB) learn from the training outcomes here."""

    def prior_p(self, tasks: TaskSet) -> np.ndarray | None:
        """The offline prior's P(success) per task and model, when it has one."""
        if self.prior_router_ is None:
            return None
        return self.prior_router_.route(tasks).p_success

    def reseed(self) -> None:
        """Restart the exploration's random stream at `seed` (`route` does this before every batch)."""
        self.orchestrator_.policy.reseed(self.seed)

    def to_state(self) -> dict[str, Any]:
        """Memory (every outcome it learned from), the prior's residuals, the policy's state and the prior."""
        orch = self.orchestrator_
        if not isinstance(orch.memory, InMemoryMemory):
            raise ArtifactError(f"{self.name}: only an in-process Memory can be saved into an artifact")
        return {"memory": orch.memory.to_state(), "residuals": dict(orch.residuals_),
                "policy": orch.policy.to_state(), "prior_router": encode(self.prior_router_),
                "prior_n_by_category": dict(self.prior_n_by_category_), "prior_cost_usd": self.prior_cost_usd_,
                "objective": encode(self.objective_)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.objective_ = decode(state["objective"])
        self.orchestrator_ = self.make_orchestrator(self.models_, InMemoryMemory.from_state(state["memory"]),
                                                    objective=self.objective_)
        self.orchestrator_.residuals_.update({str(k): np.asarray(v, float) for k, v in state["residuals"].items()})
        self.orchestrator_.policy.load_state(state["policy"])
        self.prior_router_ = decode(state["prior_router"])
        self.prior_n_by_category_ = {str(k): float(v) for k, v in state["prior_n_by_category"].items()}
        self.prior_cost_usd_ = np.asarray(state["prior_cost_usd"], float)
        self.pending_ = OrderedDict()
        self.reseed()

    def describe(self) -> dict[str, Any]:
        return {"policy": {"name": self.name, "bandit": type(self.orchestrator_.policy).__name__,
                           "seed": self.seed, "epsilon": self.epsilon, "prior": self.prior,
                           "memory_outcomes": len(self.orchestrator_.memory.outcomes())}}

    def _decide_row(self, task_id: str, category: str, features: np.ndarray, prior: np.ndarray | None,
                    allowed: np.ndarray | None = None) -> OnlineDecision:
        """One decision of the loop (no feedback); the same for `route` and `decide`."""
        return self.orchestrator_.decide(task_id, category, features, prior, self.prior_cost_usd_, log=False,
                                         prior_n=self.prior_n_by_category_.get(category, self.prior_weight),
                                         allowed=allowed)

    def group_keys(self, tasks: TaskSet) -> list[str]:
        """The key Memory statistics and prior corrections are kept under, per task: its category."""
        return [str(c) for c in tasks.tasks["category"].tolist()]

    def route(self, tasks: TaskSet) -> Routing:
        self.reseed()
        features = task_features(tasks.tasks, self.n_features)
        prior = self.prior_p(tasks)
        categories = self.group_keys(tasks)
        n, m = tasks.n_tasks, len(tasks.models)
        idx, propensity, p_success = np.zeros(n, dtype=int), np.ones(n), np.zeros((n, m))
        reasons: list[str] = []
        for i, task_id in enumerate(tasks.task_ids):
            dec = self._decide_row(task_id, categories[i], features[i], None if prior is None else prior[i])
            idx[i], propensity[i], p_success[i] = dec.choice.arm, dec.choice.propensity, dec.choice.p_success
            reasons.append(dec.choice.reason)
        return Routing(model_idx=idx, p_success=p_success, propensity=propensity, reasons=reasons)

    def _decide(self, context: TaskContext, allowed: frozenset[str] | None) -> Decision:
        """One task, continuing the exploration's random stream (decisions in the order `route` takes them
        equal its batch); the loop's context is kept until the outcome comes back (`learn_one`)."""
        frame = context.task_frame()
        tasks = TaskSet(tasks=frame, models=self.model_specs_)
        prior = self.prior_p(tasks)
        mask = allowed_mask(allowed, self.models_)
        dec = self._decide_row(context.task_id, self.group_keys(tasks)[0], task_features(frame, self.n_features)[0],
                               None if prior is None else prior[0], None if mask is None else mask[0])
        decision_id = uuid.uuid4().hex
        self.pending_[decision_id] = dec
        while len(self.pending_) > MAX_PENDING:
            self.pending_.popitem(last=False)
        model = self.models_[dec.choice.arm]
        by_model = dict(zip(self.models_, dec.choice.p_success.tolist(), strict=True))
        return Decision(task_id=context.task_id, model=model, p_success=by_model[model], reason=dec.choice.reason,
                        propensity=dec.choice.propensity, decision_id=decision_id, step_kind=context.step_kind,
                        p_success_by_model=by_model,
                        expected_cost_usd=float(dec.context.expected_cost_usd[dec.choice.arm]))

    def _learn_one(self, context: TaskContext, decision: Decision, outcome: Outcome) -> None:
        """Memory and the policy learn the outcome (residuals of the prior when there is one)."""
        dec = self.pending_.pop(decision.decision_id, None)
        if dec is None:  # decided elsewhere (another replica, before a restart): rebuild its context
            frame = context.task_frame()
            tasks = TaskSet(tasks=frame, models=self.model_specs_)
            prior, key = self.prior_p(tasks), self.group_keys(tasks)[0]
            p0 = None if prior is None else prior[0]
            ctx = self.orchestrator_.context(key, task_features(frame, self.n_features)[0], p0, self.prior_cost_usd_,
                                             self.prior_n_by_category_.get(key, self.prior_weight))
            arm = self.models_.index(decision.model)
            choice = Choice(arm=arm, propensity=decision.propensity, probabilities=np.eye(len(self.models_))[arm],
                            p_success=ctx.p_success(), reason=decision.reason)
            record = LoggedDecision(decision_id=decision.decision_id, task_id=context.task_id,
                                    category=key, candidates=self.models_, chosen_model=decision.model,
                                    propensity=decision.propensity)
            dec = OnlineDecision(record=record, choice=choice, context=ctx,
                                 prior_p=None if p0 is None else clean_prior(p0))
        verifier = "reported"
        self.orchestrator_.learn(dec, Feedback(score=outcome.score, success=outcome.success,
                                               cost_usd=outcome.cost_usd, verifier=verifier))


@register
class ThompsonRouter(OnlineRouter):
    """Thompson sampling on per-(category, model) Beta statistics pooled across categories."""

    name = "thompson"


@register
class OrchestratorRouter(OnlineRouter):
    """Agent-as-a-Router's loop -> P(success) per model -> Thompson. Without a prior: category statistics,
    pooled means and the 10 nearest past tasks; with `orchestrator:<router>`: the router's per-task P(success)
    corrected by per-category residuals, worth as many observations as its training tasks of the category
    (`prior_weight` = 20 when that count is unknown)."""

    name = "orchestrator"
    spec_arg: ClassVar[str] = "prior"
    knn_k_default = 10


@register
class GreedyOrchestratorRouter(OrchestratorRouter):
    """The orchestrator choosing the highest posterior-mean utility instead of Thompson sampling (no
    exploration beyond `epsilon`: propensities are 1 for the chosen model unless epsilon > 0)."""

    name = "orchestrator-greedy"

    def make_policy(self, cost_weight: float) -> Bandit:
        return PosteriorMeanGreedy(cost_weight=cost_weight, seed=self.seed, epsilon=self.epsilon)


@register
class LinUCBRouter(OnlineRouter):
    """Disjoint LinUCB on hashed task features, reward = score - cost_usd / value_usd, epsilon-greedy exploration."""

    name = "linucb"

    def __init__(self, value_usd: float | None = None, seed: int = 0, n_features: int = 256,
                 prior: str | None = None, alpha_ucb: float = 0.5, epsilon: float = 0.05,
                 prior_weight: float = 20.0, knn_k: int | None = None) -> None:
        super().__init__(value_usd=value_usd, seed=seed, n_features=n_features, prior=prior, epsilon=epsilon,
                         prior_weight=prior_weight, knn_k=knn_k)
        self.alpha_ucb = alpha_ucb

    def make_policy(self, cost_weight: float) -> Bandit:
        return LinUCB(cost_weight=cost_weight, seed=self.seed, alpha_ucb=self.alpha_ucb,
                      epsilon=self.epsilon)

    def _warm_policy(self, features: np.ndarray, table: OutcomeTable) -> None:
        policy = self.orchestrator_.policy
        assert isinstance(policy, LinUCB)
        reward = self.objective_.reward(table.score, table.cost_usd)
        policy.fit_batch(np.hstack([features, np.ones((len(features), 1))]), reward)
