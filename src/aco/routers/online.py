"""Online routers: `thompson`, `orchestrator[:PRIOR]`, `orchestrator-greedy[:PRIOR]` and `linucb`.

As batch routers (ordinary `aco bench`) they warm-start Memory (and LinUCB's regressions) with every
training outcome and decide each test task without feedback, logging the propensity of each choice.
In a stream (`aco bench --stream`) `make_orchestrator` starts them from an empty Memory and they learn
from each task's feedback before the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.online.bandits import Bandit, LinUCB, PosteriorMeanGreedy, ThompsonSampling
from aco.online.memory import InMemoryMemory, Memory
from aco.online.orchestrator import Orchestrator, category_counts, task_features
from aco.policies.objective import Objective
from aco.routers.base import Router, Routing, objective_for
from aco.routers.registry import build_router, register


class OnlineRouter(Router):
    """Shared parts: features, Memory, an exploration policy; subclasses choose the policy and kNN use."""

    knn_k_default: ClassVar[int] = 0

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
        self.prior_cost_usd_ = table.cost_usd.mean(axis=0)

    def _warm_policy(self, features: np.ndarray, table: OutcomeTable) -> None:
        """Hook: policies with their own state (LinUCB) learn from the training outcomes here."""

    def prior_p(self, tasks: TaskSet) -> np.ndarray | None:
        """The offline prior's P(success) per task and model, when it has one."""
        if self.prior_router_ is None:
            return None
        return self.prior_router_.route(tasks).p_success

    def group_keys(self, tasks: TaskSet) -> list[str]:
        """The key Memory statistics and prior corrections are kept under, per task: its category."""
        return [str(c) for c in tasks.tasks["category"].tolist()]

    def route(self, tasks: TaskSet) -> Routing:
        orch = self.orchestrator_
        orch.policy.reseed(self.seed)
        features = task_features(tasks.tasks, self.n_features)
        prior = self.prior_p(tasks)
        categories = self.group_keys(tasks)
        n, m = tasks.n_tasks, len(tasks.models)
        idx, propensity, p_success = np.zeros(n, dtype=int), np.ones(n), np.zeros((n, m))
        reasons: list[str] = []
        for i, task_id in enumerate(tasks.task_ids):
            dec = orch.decide(task_id, categories[i], features[i], None if prior is None else prior[i],
                              self.prior_cost_usd_, log=False,
                              prior_n=self.prior_n_by_category_.get(categories[i], self.prior_weight))
            idx[i], propensity[i], p_success[i] = dec.choice.arm, dec.choice.propensity, dec.choice.p_success
            reasons.append(dec.choice.reason)
        return Routing(model_idx=idx, p_success=p_success, propensity=propensity, reasons=reasons)


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
