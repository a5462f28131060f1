"""Policies as pure functions of predictions and prices: which model each task gets.

Inputs: `p_success` (n, m) calibrated P(success), `cost_usd` (m,) or (n, m) expected cost, and optionally
`allowed` (n, m), the models a task may get (see `floors`). Output: (n,) model positions.
Ties go to the cheaper model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def _prepare(p_success: np.ndarray, cost_usd: np.ndarray, allowed: np.ndarray | None,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(p_success, float)
    if p.ndim != 2:
        raise ValueError(f"p_success must be (n, m), got shape {p.shape}")
    cost = np.broadcast_to(np.asarray(cost_usd, float), p.shape)
    mask = np.ones(p.shape, bool) if allowed is None else np.asarray(allowed, bool)
    if mask.shape != p.shape:
        raise ValueError(f"allowed has shape {mask.shape}, expected {p.shape}")
    return p, cost, mask


def most_likely(p_success: np.ndarray, cost_usd: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """The allowed model with the highest P(success) (ties to the cheaper)."""
    p, cost, mask = _prepare(p_success, cost_usd, allowed)
    key = np.where(mask, np.round(p, 9), -np.inf)
    best = key.max(axis=1, keepdims=True)
    return np.asarray(np.argmin(np.where(key == best, cost, np.inf), axis=1))


def threshold(p_success: np.ndarray, cost_usd: np.ndarray, t: float, allowed: np.ndarray | None = None,
              ) -> np.ndarray:
    """The cheapest allowed model with P(success) >= t; the most likely one when none clears t."""
    p, cost, mask = _prepare(p_success, cost_usd, allowed)
    clears = mask & (p >= t)
    cheapest = np.argmin(np.where(clears, cost, np.inf), axis=1)
    return np.where(clears.any(axis=1), cheapest, most_likely(p, cost, mask))


def utility(p_success: np.ndarray, cost_usd: np.ndarray, lam: float, allowed: np.ndarray | None = None,
            ) -> np.ndarray:
    """The allowed model maximising P(success) - lam x cost (ties to the cheaper)."""
    p, cost, mask = _prepare(p_success, cost_usd, allowed)
    value = np.where(mask, np.round(p - lam * cost, 12), -np.inf)
    best = value.max(axis=1, keepdims=True)
    return np.asarray(np.argmin(np.where(value == best, cost, np.inf), axis=1))


def floors(categories: Sequence[str] | np.ndarray, protected: Sequence[str], tiers: Sequence[int] | np.ndarray,
           min_tier: int) -> np.ndarray:
    """Allowed mask (n, m): tasks of a protected category may only get models of tier >= min_tier.

    When no model reaches min_tier, protected tasks may get the highest tier there is.
    """
    tier = np.asarray(tiers, int)
    floor = min(min_tier, int(tier.max())) if len(tier) else min_tier
    is_protected = np.isin(np.asarray(categories, dtype=object).astype(str), list(protected))
    return np.asarray(~is_protected[:, None] | (tier >= floor)[None, :])


def chosen_values(values: np.ndarray, model_idx: np.ndarray) -> np.ndarray:
    """values[i, model_idx[i]] for every row."""
    return np.asarray(np.asarray(values)[np.arange(len(model_idx)), model_idx])


def tier_floors(categories: Sequence[str] | np.ndarray, min_tier_by_category: Mapping[str, int],
                tiers: Sequence[int] | np.ndarray) -> np.ndarray:
    """Allowed mask (n, m): a task whose category has a minimum tier may only get models of at least that tier."""
    tier = np.asarray(tiers, int)
    floor = np.array([min_tier_by_category.get(str(c), 0) for c in np.asarray(categories, dtype=object)], dtype=int)
    return np.asarray(tier[None, :] >= floor[:, None])
