"""How far can a router get with a given piece of information? Upper bounds from recorded outcomes.

A router that only sees a task's *cell* (its category, its source benchmark, a stem of its id, ...) can at best
send every task of a cell to one model. Three figures bound what such routers can reach:
- `hindsight_cell_choice`: the best fixed model per cell chosen *on the very tasks it is scored on* (in-sample):
  no router that sees only the cell can beat it on these tasks.
- `cv_cell_choice`: the same choice made on training folds (per-cell means shrunk towards coarser levels):
  what the information honestly buys.
- `full_information_stream`: a sequential learner that, after each task, sees *every* model's outcome on it
  (far more feedback than a bandit gets) and picks the best running per-cell mean, optionally discounting
  old tasks: an upper bound on online per-cell learners that start from an empty memory.
- `noisy_verifier_ceiling`: the best success within a budget of a cascade whose verifier has a given AUC, with
  thresholds chosen in hindsight: how good a post-hoc estimator must be for a cascade target.
All are pure functions of arrays; reward = score - cost_weight x cost_usd as in `metrics.rewards`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aco.evaluation import metrics
from aco.evaluation.protocol import Split


@dataclass(frozen=True)
class Ceiling:
    """The choice per task and what it scores."""

    name: str
    chosen: np.ndarray

    def summary(self, score: np.ndarray, cost_usd: np.ndarray,
                cost_weight: float = metrics.REGRET_COST_WEIGHT) -> dict[str, float]:
        """AvgPerf (mean score x 100), cost and cumulative regret of the choice."""
        rows = np.arange(len(self.chosen))
        chosen_score, chosen_cost = score[rows, self.chosen], cost_usd[rows, self.chosen]
        regret = metrics.cumulative_regret(chosen_score, chosen_cost, score, cost_usd, cost_weight)
        return {"avg_perf": 100.0 * float(chosen_score.mean()), "cost_usd": float(chosen_cost.sum()),
                "regret": float(regret[-1]) if len(regret) else 0.0}


def _codes(keys: np.ndarray) -> tuple[np.ndarray, int]:
    _, inverse = np.unique(np.asarray(keys).astype(str), return_inverse=True)
    inverse = inverse.ravel()
    return inverse, int(inverse.max()) + 1 if len(inverse) else 0


def _cell_means(values: np.ndarray, codes: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell sums of `values` rows and counts."""
    sums = np.zeros((n_cells, values.shape[1]))
    np.add.at(sums, codes, values)
    return sums, np.bincount(codes, minlength=n_cells).astype(float)


def hindsight_cell_choice(score: np.ndarray, cost_usd: np.ndarray, keys: np.ndarray,
                          cost_weight: float = metrics.REGRET_COST_WEIGHT) -> Ceiling:
    """The best fixed model per cell by mean reward on the scored tasks themselves (an in-sample upper bound)."""
    codes, n_cells = _codes(keys)
    sums, _ = _cell_means(metrics.rewards(score, cost_usd, cost_weight), codes, n_cells)
    return Ceiling("hindsight", np.argmax(sums, axis=1)[codes])


def cv_cell_choice(score: np.ndarray, cost_usd: np.ndarray, levels: Sequence[np.ndarray], splits: Sequence[Split],
                   shrink: float = 10.0, cost_weight: float = metrics.REGRET_COST_WEIGHT) -> Ceiling:
    """Per-cell best model chosen on each split's training tasks; `levels` go from coarse to fine and each
    level's mean reward is shrunk towards the previous one with `shrink` pseudo-tasks."""
    reward = metrics.rewards(score, cost_usd, cost_weight)
    chosen = np.zeros(len(score), dtype=int)
    coded = [_codes(level) for level in levels]
    for split in splits:
        estimate = np.tile(reward[split.train].mean(axis=0), (len(split.test), 1))
        for codes, n_cells in coded:
            sums, counts = _cell_means(reward[split.train], codes[split.train], n_cells)
            n = counts[codes[split.test]][:, None]
            estimate = (sums[codes[split.test]] + shrink * estimate) / (n + shrink)
        chosen[split.test] = np.argmax(estimate, axis=1)
    return Ceiling("cross-validated", chosen)


def full_information_stream(score: np.ndarray, cost_usd: np.ndarray, keys: np.ndarray, discount: float = 1.0,
                            shrink: float = 1.0, cost_weight: float = metrics.REGRET_COST_WEIGHT) -> Ceiling:
    """Tasks in the given order; each is routed by the best running (discounted) per-cell mean reward, shrunk to
    the running overall mean, then every model's reward on it is revealed."""
    reward = metrics.rewards(score, cost_usd, cost_weight)
    codes, n_cells = _codes(keys)
    sums, counts = np.zeros((n_cells, reward.shape[1])), np.zeros(n_cells)
    overall_sum = np.zeros(reward.shape[1])
    chosen = np.zeros(len(reward), dtype=int)
    for row, cell in enumerate(codes):
        overall = overall_sum / max(row, 1)
        weight = counts[cell] + shrink
        chosen[row] = int(np.argmax((sums[cell] + shrink * overall) / weight if weight > 0 else overall))
        sums[cell] = discount * sums[cell] + reward[row]
        counts[cell] = discount * counts[cell] + 1.0
        overall_sum += reward[row]
    return Ceiling("full-information stream", chosen)


@dataclass(frozen=True)
class VerifierCeiling:
    """Best success within a budget of a cascade driven by a simulated verifier of a given AUC."""

    auc: float
    success: np.ndarray  # per noise seed
    cost_usd: np.ndarray  # per noise seed (total)


def noisy_verifier_ceiling(success: np.ndarray, cost_usd: np.ndarray, chain: Sequence[int], auc: float,
                           budget_usd: float, seeds: int = 20, grid: int = 41) -> VerifierCeiling:
    """How good must a cascade's verifier be? At each step but the last, a simulated verifier scores the run
    d x resolved + N(0, 1), so its AUC is Phi(d / sqrt 2); per-step thresholds (quantiles of the scores) are then
    chosen *on the same tasks* for the best success whose total cost, paying every attempt, fits `budget_usd`.
    Choosing thresholds in hindsight makes this an optimistic ceiling for a verifier of that AUC."""
    from scipy.stats import norm

    from aco.routers.cascade import cascade_outcome, chain_value

    if not 0.5 <= auc < 1.0:
        raise ValueError(f"auc must be in [0.5, 1), got {auc}")
    separation = np.sqrt(2.0) * float(norm.ppf(auc))
    quantiles = np.linspace(0.0, 1.0, grid)
    best_success, best_cost = np.zeros(seeds), np.zeros(seeds)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        scores = [separation * success[:, m] + rng.standard_normal(len(success)) for m in chain[:-1]]
        cuts = [np.quantile(s, quantiles) for s in scores]
        for thresholds in itertools.product(*cuts):
            ok, paid = chain_value(cascade_outcome(scores, chain, thresholds), success, cost_usd, chain)
            if paid.sum() <= budget_usd and ok.mean() > best_success[seed]:
                best_success[seed], best_cost[seed] = ok.mean(), paid.sum()
    return VerifierCeiling(auc, best_success, best_cost)
