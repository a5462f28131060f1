"""The orchestrator: prior + Memory statistics + neighbours -> P(success) per model -> a bandit's choice.

Without a prior, the evidence for each candidate model is a Beta posterior on P(success):
  alpha = 1 + pool_weight x m + (category score sum) + knn_weight x sum(sim x score)
  beta  = the same with failures (1 - m, category n - score sum, sim x (1 - score))
where m is the model's mean over all of Memory (pooling across categories) and the neighbours are the k most
similar past outcomes of that model.

With a prior (an offline router's per-task P(success) p0, trained on n0 tasks of the task's category), feedback
corrects the prior instead of replacing it: for each (category, model) the loop keeps the residuals
score - p0 of the tasks it ran that model on, and the posterior mean is p0 + (residual sum) / (n + n0), a
normal-normal shrinkage whose prior variance is that of a mean over n0 tasks. The posterior variance is
s2 / (n0 + n), s2 the mean squared residual of the category (two pseudo-residuals at the Bernoulli variance
p0 (1 - p0) to start; scores in [0, 1] vary less than 0/1 outcomes); it is handed to the policy as the Beta of
that mean and variance, so Thompson sampling explores on the scale of the prior's real uncertainty.
Category means would wash out the prior's per-task ranking, and neighbours on the prior's own inputs would
re-learn what it already modelled, so neither is used with a prior. Residual sums live in the process (a
restarted loop starts again from the prior; its Memory statistics still serve the no-prior evidence).

The bandit policy (Thompson sampling or LinUCB) picks the model; the decision, with its propensity, and
later its outcome are written to Memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from aco.online.bandits import Bandit, BanditContext, Choice
from aco.online.memory import Experience, LoggedDecision, Memory, sparse
from aco.online.verifier import Feedback


def task_features(tasks: pd.DataFrame, n_features: int = 256) -> np.ndarray:
    """(n, n_features) L2-normalised hashed bag of words of task text, category, source and id tokens.

    Only what is known before any run: the request text and its labels (never a score).
    """
    from sklearn.feature_extraction.text import HashingVectorizer

    if len(tasks) == 0:
        return np.zeros((0, n_features))
    ids = pd.Series(tasks.index.astype(str), index=tasks.index).str.replace(r"[^A-Za-z]+", " ", regex=True)
    docs = ("cat_" + tasks["category"].astype(str) + " src_" + tasks["source"].astype(str) + " "
            + ids + " " + tasks["text"].astype(str).str.slice(0, 4000))
    vec = HashingVectorizer(n_features=n_features, alternate_sign=False, norm="l2",
                            token_pattern=r"(?u)\b[A-Za-z_][A-Za-z0-9_]+\b")
    return np.asarray(vec.transform(docs.tolist()).toarray())


def category_counts(categories: np.ndarray) -> dict[str, float]:
    """Tasks per category: how many training tasks stand behind a prior's estimate for that category."""
    names, counts = np.unique(np.asarray(categories).astype(str), return_counts=True)
    return dict(zip(names.tolist(), counts.astype(float).tolist(), strict=True))


def clean_prior(prior_p: np.ndarray) -> np.ndarray:
    """The prior's P(success) in [0, 1], 0.5 where it has none."""
    return np.asarray(np.clip(np.nan_to_num(np.asarray(prior_p, dtype=float), nan=0.5), 0.0, 1.0))


@dataclass(frozen=True)
class OnlineDecision:
    """A decision of the loop together with the context it was made in (needed to learn from it)."""

    record: LoggedDecision
    choice: Choice
    context: BanditContext
    prior_p: np.ndarray | None = None


@dataclass
class Orchestrator:
    """Context -> Action -> Feedback over a fixed candidate list, reading and writing `memory`."""

    models: tuple[str, ...]
    memory: Memory
    policy: Bandit
    prior_weight: float = 4.0
    pool_weight: float = 2.0
    knn_k: int = 10
    knn_weight: float = 1.0
    residuals_: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def context(self, category: str, features: np.ndarray, prior_p: np.ndarray | None = None,
                prior_cost_usd: np.ndarray | None = None, prior_n: float | np.ndarray | None = None) -> BanditContext:
        """The Beta posterior and expected cost per model for one task.

        prior_n: tasks behind the prior's estimate (its weight; `prior_weight` when not given).
        """
        m = len(self.models)
        overall = self.memory.stats(self.models)
        here = self.memory.stats(self.models, category)
        if prior_p is None:
            alpha, beta = self._memory_evidence(overall.n, overall.score_sum, here.n, here.score_sum, features)
        else:
            alpha, beta = self._prior_evidence(category, prior_p, self.prior_weight if prior_n is None else prior_n)
        fallback = np.zeros(m) if prior_cost_usd is None else np.asarray(prior_cost_usd, dtype=float)
        cost = np.where(overall.n > 0, overall.cost_usd_sum / np.maximum(overall.n, 1), fallback)
        cost = np.where(here.n > 0, here.cost_usd_sum / np.maximum(here.n, 1), cost)
        return BanditContext(features=np.append(features, 1.0), alpha=alpha, beta=beta, expected_cost_usd=cost)

    def _memory_evidence(self, n_all: np.ndarray, sum_all: np.ndarray, n_here: np.ndarray, sum_here: np.ndarray,
                         features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Beta(1, 1) + pooled mean + category counts + similarity-weighted neighbours."""
        pooled = (1.0 + sum_all) / (2.0 + n_all)
        alpha = 1.0 + self.pool_weight * pooled + sum_here
        beta = 1.0 + self.pool_weight * (1.0 - pooled) + n_here - sum_here
        if self.knn_k > 0:
            near = self.memory.neighbours(features, self.models, self.knn_k)
            weight = self.knn_weight * np.clip(near.similarity, 0.0, None)
            alpha += np.bincount(near.model_idx, weight * near.score, minlength=len(self.models))
            beta += np.bincount(near.model_idx, weight * (1.0 - near.score), minlength=len(self.models))
        return alpha, beta

    def _prior_evidence(self, category: str, prior_p: np.ndarray,
                        prior_n: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Beta with mean p0 + residual sum / (n0 + n) and variance s2 / (n0 + n) (moment-matched)."""
        m = len(self.models)
        p0 = clean_prior(prior_p)
        n0 = np.maximum(np.broadcast_to(np.asarray(prior_n, dtype=float), (m,)), 1.0)
        n_obs, residual_sum, squares_sum = self.residuals_.get(category, np.zeros((3, m)))
        strength = n0 + n_obs
        mean = np.clip(p0 + residual_sum / strength, 1e-3, 1.0 - 1e-3)
        s2 = (squares_sum.sum() + 2.0 * p0 * (1.0 - p0)) / (n_obs.sum() + 2.0)
        variance = np.clip(s2, 1e-4, 0.25) / strength
        size = np.maximum(mean * (1.0 - mean) / variance - 1.0, 1.0)  # alpha + beta of a Beta with that variance
        return mean * size, (1.0 - mean) * size

    def decide(self, task_id: str, category: str, features: np.ndarray, prior_p: np.ndarray | None = None,
               prior_cost_usd: np.ndarray | None = None, log: bool = True,
               prior_n: float | np.ndarray | None = None, allowed: np.ndarray | None = None) -> OnlineDecision:
        """Read Memory, choose a model with the policy among the `allowed` (m,) arms and (with `log`) record the
        decision."""
        ctx = self.context(category, features, prior_p, prior_cost_usd, prior_n)
        if allowed is not None:
            ctx = replace(ctx, allowed=np.asarray(allowed, dtype=bool))
        choice = self.policy.decide(ctx)
        record = LoggedDecision(
            decision_id=uuid.uuid4().hex, task_id=task_id, category=category, candidates=self.models,
            chosen_model=self.models[choice.arm], propensity=choice.propensity,
            p_success_by_model={name: float(p) for name, p in zip(self.models, choice.p_success, strict=True)},
            features=sparse(features), reason=choice.reason,
        )
        if log:
            self.memory.record_decision(record)
        return OnlineDecision(record=record, choice=choice, context=ctx,
                              prior_p=None if prior_p is None else clean_prior(prior_p))

    def learn(self, decision: OnlineDecision, feedback: Feedback) -> None:
        """Write the outcome to Memory (and the prior's residual) and update the policy with the reward."""
        rec = decision.record
        if decision.prior_p is not None:
            arm = decision.choice.arm
            self._add_residual(rec.category, arm, feedback.score - decision.prior_p[arm])
        self.memory.record_outcome(Experience(
            task_id=rec.task_id, category=rec.category, model=rec.chosen_model, score=feedback.score,
            success=feedback.success, cost_usd=feedback.cost_usd, verifier=feedback.verifier,
            decision_id=rec.decision_id, features=rec.features,
        ))
        reward = feedback.score - self.policy.cost_weight * feedback.cost_usd
        self.policy.update(decision.context, decision.choice.arm, reward)

    def _add_residual(self, category: str, arm: int, residual: float) -> None:
        m = len(self.models)
        sums = self.residuals_.setdefault(category, np.zeros((3, m)))  # n, residual sum, squares sum
        sums[:, arm] += (1.0, residual, residual * residual)

    def warm_start(self, tasks: pd.DataFrame, features: np.ndarray, score: np.ndarray, cost_usd: np.ndarray,
                   threshold: float = 0.5, models: Sequence[int] | None = None) -> None:
        """Full-information warm start from training outcomes (every model's recorded run on every task)."""
        cols = range(len(self.models)) if models is None else models
        categories = tasks["category"].astype(str).tolist()
        for i, task_id in enumerate(tasks.index.astype(str)):
            feats = sparse(features[i])
            for j in cols:
                self.memory.record_outcome(Experience(
                    task_id=task_id, category=categories[i], model=self.models[j], score=float(score[i, j]),
                    success=bool(score[i, j] >= threshold), cost_usd=float(cost_usd[i, j]),
                    verifier="benchmark", features=feats))
