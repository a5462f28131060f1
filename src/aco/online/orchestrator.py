"""The orchestrator: prior + Memory statistics + neighbours -> P(success) per model -> a bandit's choice.

For each candidate model the evidence is a Beta posterior on P(success):
  alpha = 1 + prior_weight x p0 + pool_weight x m + (category score sum) + knn_weight x sum(sim x score)
  beta  = the same with failures (1 - p0, 1 - m, category n - score sum, sim x (1 - score))
where p0 is the offline router's P(success) (when a prior is given), m the model's mean over all of Memory
(pooling across categories) and the neighbours are the k most similar past outcomes of that model.
The bandit policy (Thompson sampling or LinUCB) picks the model; the decision, with its propensity, and
later its outcome are written to Memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

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

    ids = pd.Series(tasks.index.astype(str), index=tasks.index).str.replace(r"[^A-Za-z]+", " ", regex=True)
    docs = ("cat_" + tasks["category"].astype(str) + " src_" + tasks["source"].astype(str) + " "
            + ids + " " + tasks["text"].astype(str).str.slice(0, 4000))
    vec = HashingVectorizer(n_features=n_features, alternate_sign=False, norm="l2",
                            token_pattern=r"(?u)\b[A-Za-z_][A-Za-z0-9_]+\b")
    return np.asarray(vec.transform(docs.tolist()).toarray())


@dataclass(frozen=True)
class OnlineDecision:
    """A decision of the loop together with the context it was made in (needed to learn from it)."""

    record: LoggedDecision
    choice: Choice
    context: BanditContext


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

    def context(self, category: str, features: np.ndarray, prior_p: np.ndarray | None = None,
                prior_cost_usd: np.ndarray | None = None) -> BanditContext:
        """The Beta posterior and expected cost per model for one task."""
        m = len(self.models)
        alpha, beta = np.ones(m), np.ones(m)
        overall = self.memory.stats(self.models)
        pooled = (1.0 + overall.score_sum) / (2.0 + overall.n)
        alpha += self.pool_weight * pooled
        beta += self.pool_weight * (1.0 - pooled)
        if prior_p is not None:
            p0 = np.clip(np.nan_to_num(np.asarray(prior_p, dtype=float), nan=0.5), 0.0, 1.0)
            alpha += self.prior_weight * p0
            beta += self.prior_weight * (1.0 - p0)
        here = self.memory.stats(self.models, category)
        alpha += here.score_sum
        beta += here.n - here.score_sum
        if self.knn_k > 0:
            near = self.memory.neighbours(features, self.models, self.knn_k)
            weight = self.knn_weight * np.clip(near.similarity, 0.0, None)
            alpha += np.bincount(near.model_idx, weight * near.score, minlength=m)
            beta += np.bincount(near.model_idx, weight * (1.0 - near.score), minlength=m)
        fallback = np.zeros(m) if prior_cost_usd is None else np.asarray(prior_cost_usd, dtype=float)
        cost = np.where(overall.n > 0, overall.cost_usd_sum / np.maximum(overall.n, 1), fallback)
        cost = np.where(here.n > 0, here.cost_usd_sum / np.maximum(here.n, 1), cost)
        return BanditContext(features=np.append(features, 1.0), alpha=alpha, beta=beta, expected_cost_usd=cost)

    def decide(self, task_id: str, category: str, features: np.ndarray, prior_p: np.ndarray | None = None,
               prior_cost_usd: np.ndarray | None = None, log: bool = True) -> OnlineDecision:
        """Read Memory, choose a model with the policy and (with `log`) record the decision."""
        ctx = self.context(category, features, prior_p, prior_cost_usd)
        choice = self.policy.decide(ctx)
        record = LoggedDecision(
            decision_id=uuid.uuid4().hex, task_id=task_id, category=category, candidates=self.models,
            chosen_model=self.models[choice.arm], propensity=choice.propensity,
            p_success_by_model={name: float(p) for name, p in zip(self.models, choice.p_success, strict=True)},
            features=sparse(features), reason=choice.reason,
        )
        if log:
            self.memory.record_decision(record)
        return OnlineDecision(record=record, choice=choice, context=ctx)

    def learn(self, decision: OnlineDecision, feedback: Feedback) -> None:
        """Write the outcome to Memory and update the policy with reward = score - cost_weight x cost."""
        rec = decision.record
        self.memory.record_outcome(Experience(
            task_id=rec.task_id, category=rec.category, model=rec.chosen_model, score=feedback.score,
            success=feedback.success, cost_usd=feedback.cost_usd, verifier=feedback.verifier,
            decision_id=rec.decision_id, features=rec.features,
        ))
        reward = feedback.score - self.policy.cost_weight * feedback.cost_usd
        self.policy.update(decision.context, decision.choice.arm, reward)

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
