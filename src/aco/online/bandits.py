"""Exploration policies with logged propensities: Thompson sampling, LinUCB and posterior-mean greedy.

One public bookkeeping pair, River style: `decide(context) -> Choice` and `update(context, arm, reward)`.
Subclasses only implement two private hooks: `_probabilities` (the action distribution the policy
follows for this context) and `_learn`. `decide` samples the arm from that distribution with the seeded
rng, so the recorded propensity is exactly the probability with which the arm was chosen.

Thompson sampling's action distribution P(arm is the argmax of a posterior draw) has no closed form: it
is estimated by Monte Carlo (`n_draws` seeded draws) and the arm is then drawn from that estimate, so the
logged propensity is the true probability of the policy that was run (an arm with no Monte Carlo mass has
propensity 0 and is not explored for that context).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aco.policies.objective import Objective
from aco.policies.rules import utility

REWARD_COST_WEIGHT = Objective.paper().cost_weight  # Agent-as-a-Router: reward = score - 0.1 x cost_usd


@dataclass(frozen=True)
class BanditContext:
    """What a policy sees for one decision.

    features: (d,) task features (LinUCB); alpha/beta: (m,) Beta posterior of P(success) per arm (Thompson);
    expected_cost_usd: (m,) cost estimate per arm; allowed: (m,) bool mask of admissible arms.
    """

    features: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    expected_cost_usd: np.ndarray
    allowed: np.ndarray | None = None

    @property
    def n_arms(self) -> int:
        return len(self.alpha)

    def p_success(self) -> np.ndarray:
        """Posterior mean P(success) per arm."""
        return np.asarray(self.alpha / (self.alpha + self.beta))


@dataclass(frozen=True)
class Choice:
    """A decision: the arm, its propensity, the full action distribution and the P(success) estimates."""

    arm: int
    propensity: float
    probabilities: np.ndarray
    p_success: np.ndarray
    reason: str = ""


def mix_uniform(probs: np.ndarray, epsilon: float, allowed: np.ndarray | None) -> np.ndarray:
    """(1 - epsilon) x probs + epsilon spread uniformly over the admissible arms."""
    mask = np.ones(len(probs)) if allowed is None else allowed.astype(float)
    return np.asarray((1.0 - epsilon) * probs + epsilon * mask / mask.sum())


def epsilon_greedy(score: np.ndarray, epsilon: float, allowed: np.ndarray | None) -> np.ndarray:
    """1 - epsilon on the admissible arm of highest score, epsilon shared uniformly by the admissible arms."""
    best = np.zeros(len(score))
    best[int(np.argmax(score if allowed is None else np.where(allowed, score, -np.inf)))] = 1.0
    return mix_uniform(best, epsilon, allowed)


@dataclass
class Bandit(ABC):
    """Base class: seeded sampling from the policy's action distribution, counts of decisions/updates."""

    cost_weight: float = REWARD_COST_WEIGHT
    seed: int = 0
    n_decisions: int = field(default=0, init=False)
    n_updates: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def reseed(self, seed: int) -> None:
        """Restart the random stream (batch routing is then reproducible)."""
        self._rng = np.random.default_rng(seed)

    def decide(self, context: BanditContext) -> Choice:
        """Pick an arm by sampling the policy's action distribution; the propensity is its probability."""
        probs, reason = self._probabilities(context)
        if context.allowed is not None:
            probs = np.where(context.allowed, probs, 0.0)
        total = probs.sum()
        if not np.isfinite(total) or total <= 0:
            raise ValueError("the policy put no probability on any admissible arm")
        probs = probs / total
        arm = int(self._rng.choice(len(probs), p=probs))
        self.n_decisions += 1
        return Choice(arm=arm, propensity=min(1.0, float(probs[arm])), probabilities=probs,
                      p_success=self._p_success(context), reason=reason)

    def update(self, context: BanditContext, arm: int, reward: float) -> None:
        """Learn from the reward of `arm` in `context` (reward = score - cost_weight x cost_usd)."""
        if not 0 <= arm < context.n_arms:
            raise ValueError(f"arm {arm} outside 0..{context.n_arms - 1}")
        self._learn(context, arm, float(reward))
        self.n_updates += 1

    def _p_success(self, context: BanditContext) -> np.ndarray:
        return context.p_success()

    @abstractmethod
    def _probabilities(self, context: BanditContext) -> tuple[np.ndarray, str]:
        """(m,) action distribution for this context (need not be normalised) and a short reason."""

    def _learn(self, context: BanditContext, arm: int, reward: float) -> None:
        """Hook: update internal state (Thompson keeps its evidence in Memory, so it has none)."""

    def to_state(self) -> dict[str, Any]:
        """Learned state (counts; LinUCB adds its regressions) as JSON values and arrays."""
        return {"n_decisions": self.n_decisions, "n_updates": self.n_updates}

    def load_state(self, state: dict[str, Any]) -> None:
        self.n_decisions, self.n_updates = int(state["n_decisions"]), int(state["n_updates"])


@dataclass
class ThompsonSampling(Bandit):
    """Thompson sampling on Beta posteriors of P(success), utility = theta - cost_weight x expected cost.

    The posterior comes from the context (the orchestrator builds it from prior, Memory statistics and
    neighbours); `epsilon` mixes in a uniform share so every arm keeps support for off-policy evaluation.
    """

    n_draws: int = 512
    epsilon: float = 0.0

    def _draws(self, context: BanditContext) -> np.ndarray:
        """(n_draws, m) posterior draws of P(success): independent Betas (subclasses may correlate arms)."""
        return np.asarray(self._rng.beta(context.alpha, context.beta, size=(self.n_draws, context.n_arms)))

    def _probabilities(self, context: BanditContext) -> tuple[np.ndarray, str]:
        theta = self._draws(context)
        utility = theta - self.cost_weight * context.expected_cost_usd
        if context.allowed is not None:
            utility = np.where(context.allowed, utility, -np.inf)
        wins = np.bincount(np.argmax(utility, axis=1), minlength=context.n_arms) / self.n_draws
        probs = mix_uniform(wins, self.epsilon, context.allowed)
        return probs, f"thompson sampling ({self.n_draws} Monte Carlo draws)"


@dataclass
class PosteriorMeanGreedy(Bandit):
    """The arm of highest posterior-mean utility P(success) - cost_weight x expected cost; `epsilon` uniform.

    No exploration of its own (with epsilon = 0 the other arms have propensity 0): it relies on the prior and
    on the arms it chooses to correct its estimates.
    """

    epsilon: float = 0.0

    def _probabilities(self, context: BanditContext) -> tuple[np.ndarray, str]:
        allowed = None if context.allowed is None else np.asarray(context.allowed, bool)[None, :]
        # the utility rule of aco.policies (ties: higher P, then cheaper, then the arm's position)
        best = int(utility(context.p_success()[None, :], context.expected_cost_usd, self.cost_weight, allowed)[0])
        chosen = np.zeros(context.n_arms)
        chosen[best] = 1.0
        return mix_uniform(chosen, self.epsilon, context.allowed), f"posterior-mean greedy (epsilon={self.epsilon})"


@dataclass
class LinUCB(Bandit):
    """Disjoint LinUCB on the task features, reward = score - cost_weight x cost; epsilon-greedy mixing.

    Per arm a ridge regression of the reward on the features; the arm with the highest upper confidence
    bound (mean + alpha_ucb x std) gets 1 - epsilon, the rest share epsilon uniformly.
    """

    n_features: int = 0
    alpha_ucb: float = 0.5
    ridge: float = 1.0
    epsilon: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        self._a_inv: np.ndarray | None = None
        self._b: np.ndarray | None = None

    def _state(self, n_arms: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
        if self._a_inv is None or self._b is None:
            if self.n_features and self.n_features != n_features:
                raise ValueError(f"LinUCB expects {self.n_features} features, got {n_features}")
            self._a_inv = np.tile(np.eye(n_features) / self.ridge, (n_arms, 1, 1))
            self._b = np.zeros((n_arms, n_features))
        return self._a_inv, self._b

    def ucb(self, context: BanditContext) -> tuple[np.ndarray, np.ndarray]:
        """(mean, width) of the reward per arm."""
        x = np.asarray(context.features, dtype=float)
        a_inv, b = self._state(context.n_arms, len(x))
        theta = np.einsum("kij,kj->ki", a_inv, b)
        mean = theta @ x
        width = np.sqrt(np.maximum(np.einsum("i,kij,j->k", x, a_inv, x), 0.0))
        return mean, width

    def _probabilities(self, context: BanditContext) -> tuple[np.ndarray, str]:
        mean, width = self.ucb(context)
        probs = epsilon_greedy(mean + self.alpha_ucb * width, self.epsilon, context.allowed)
        return probs, f"linucb (alpha={self.alpha_ucb}, epsilon={self.epsilon})"

    def fit_batch(self, features: np.ndarray, reward: np.ndarray) -> None:
        """Full-information warm start: every arm's ridge regression on (n, d) features and (n, m) rewards."""
        x, r = np.asarray(features, dtype=float), np.asarray(reward, dtype=float)
        n_arms = r.shape[1]
        gram = x.T @ x + self.ridge * np.eye(x.shape[1])
        self._a_inv = np.tile(np.linalg.inv(gram), (n_arms, 1, 1))
        self._b = (x.T @ r).T.copy()
        self.n_updates += r.size

    def to_state(self) -> dict[str, Any]:
        return {**super().to_state(), "a_inv": self._a_inv, "b": self._b}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self._a_inv = None if state["a_inv"] is None else np.asarray(state["a_inv"], float)
        self._b = None if state["b"] is None else np.asarray(state["b"], float)

    def _learn(self, context: BanditContext, arm: int, reward: float) -> None:
        x = np.asarray(context.features, dtype=float)
        a_inv, b = self._state(context.n_arms, len(x))
        ax = a_inv[arm] @ x  # Sherman-Morrison rank-one update of the inverse
        a_inv[arm] -= np.outer(ax, ax) / (1.0 + x @ ax)
        b[arm] += reward * x
