"""`conformal`: the cheapest model whose calibrated P(success) clears a threshold chosen on a held-out
calibration fold so that the success rate meets a target, with a finite-sample guarantee.

Guarantee (Learn-then-Test, Angelopoulos et al. 2021, fixed-sequence testing): let the calibration tasks and
a new task be exchangeable (drawn from the same distribution), and let L(t) = 1 - score of the model the
`threshold` policy picks at t. Thresholds are tested from the most conservative (highest) down; t is kept
while the Hoeffding-Bentkus p-value of H0: E[L(t)] > 1 - target is <= delta, and the lowest kept t is
returned. Then, with probability >= 1 - delta over the calibration draw, the expected success of the chosen
rule on new tasks is >= target. If even the highest t is not certified the target is infeasible at this
confidence and the most conservative rule is returned with `feasible=False`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from aco.policies.rules import chosen_values, threshold

DEFAULT_GRID = tuple(np.round(np.linspace(0.99, 0.0, 100), 2))


def hb_pvalue(mean_loss: float, n: int, alpha: float) -> float:
    """Hoeffding-Bentkus p-value of H0: E[loss] > alpha for n i.i.d. losses in [0, 1] with this mean."""
    if n == 0:
        return 1.0
    if mean_loss >= alpha:
        return 1.0
    hoeffding = float(np.exp(-2.0 * n * (alpha - mean_loss) ** 2))
    bentkus = float(np.e * binom.cdf(np.ceil(n * mean_loss), n, alpha))
    return min(hoeffding, bentkus, 1.0)


@dataclass(frozen=True)
class ConformalThreshold:
    """The certified threshold, whether the target was feasible and the calibration success at it."""

    threshold: float
    feasible: bool
    calibration_success: float
    n_calibration: int


def calibrate_threshold(p_cal: np.ndarray, score_cal: np.ndarray, cost_usd: np.ndarray, target_success: float,
                        delta: float = 0.1, grid: tuple[float, ...] = DEFAULT_GRID) -> ConformalThreshold:
    """The lowest (cheapest) threshold certified to reach `target_success` (see the module docstring)."""
    n = len(p_cal)
    alpha = 1.0 - target_success
    ordered = sorted(grid, reverse=True)
    chosen, success_at, feasible = ordered[0], 0.0, False
    for t in ordered:
        success = float(chosen_values(score_cal, threshold(p_cal, cost_usd, t)).mean()) if n else 0.0
        if hb_pvalue(1.0 - success, n, alpha) > delta:
            break
        chosen, success_at, feasible = t, success, True
    if not feasible and n:
        success_at = float(chosen_values(score_cal, threshold(p_cal, cost_usd, chosen)).mean())
    return ConformalThreshold(float(chosen), feasible, success_at, n)


def conformal(p_success: np.ndarray, cost_usd: np.ndarray, certified: ConformalThreshold,
              allowed: np.ndarray | None = None) -> np.ndarray:
    """Route with the certified threshold: the cheapest allowed model with P >= certified.threshold."""
    return threshold(p_success, cost_usd, certified.threshold, allowed)
