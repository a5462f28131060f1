"""Policies as pure functions of predictions and prices: which model each task gets.

Inputs: `p_success` (n, m) calibrated P(success), `cost_usd` (m,) or (n, m) expected cost, and optionally
`allowed` (n, m), the models a task may get (see `floors`), and `names` (m,), the model names. Output: (n,)
model positions.

Ties, in every rule: the higher P(success), then the lower cost, then the name (alphabetical; the column
position when no names are given). P(success) is compared to 9 decimals and costs to 1e-12 USD.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

P_DECIMALS = 9
COST_DECIMALS = 12


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


def _name_rank(n_models: int, names: Sequence[str] | None) -> np.ndarray:
    if names is None:
        return np.arange(n_models)
    if len(names) != n_models:
        raise ValueError(f"got {len(names)} names for {n_models} models")
    return np.argsort(np.argsort(np.asarray(names, dtype=str), kind="stable"), kind="stable")


def preference(p_success: np.ndarray, cost_usd: np.ndarray, names: Sequence[str] | None = None) -> np.ndarray:
    """(n, m) rank of each model for breaking ties, 0 = preferred: higher P, then lower cost, then name."""
    p = np.asarray(p_success, float)
    cost = np.broadcast_to(np.asarray(cost_usd, float), p.shape)
    name = np.broadcast_to(_name_rank(p.shape[1], names), p.shape)
    order = np.lexsort((name, np.round(cost, COST_DECIMALS), -np.round(p, P_DECIMALS)), axis=-1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(p.shape[1])[None, :].repeat(len(p), axis=0), axis=-1)
    return rank


def _pick(eligible: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per row, the eligible model that `rank` prefers (rows with none eligible get the preferred model)."""
    return np.asarray(np.argmin(np.where(eligible, rank, rank.shape[1] + rank), axis=1))


def _best(key: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Cells holding the row's largest `key` among the allowed ones."""
    masked = np.where(mask, key, -np.inf)
    return np.asarray(mask & (masked == masked.max(axis=1, keepdims=True)))


def cheapest_of(eligible: np.ndarray, p_success: np.ndarray, cost_usd: np.ndarray,
                names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the cheapest eligible model (ties by P, then name) and whether the row had an eligible model."""
    p, cost, mask = _prepare(p_success, cost_usd, eligible)
    cheapest = _best(-np.round(cost, COST_DECIMALS), mask)
    return _pick(cheapest, preference(p, cost, names)), np.asarray(mask.any(axis=1))


def most_likely(p_success: np.ndarray, cost_usd: np.ndarray, allowed: np.ndarray | None = None, *,
                names: Sequence[str] | None = None) -> np.ndarray:
    """The allowed model with the highest P(success) (ties: the cheaper, then by name)."""
    p, cost, mask = _prepare(p_success, cost_usd, allowed)
    return _pick(_best(np.round(p, P_DECIMALS), mask), preference(p, cost, names))


def reaches(p_success: np.ndarray, t: float, allowed: np.ndarray | None = None) -> np.ndarray:
    """(n,) whether some allowed model has P(success) >= t (else `threshold` falls back to the most likely)."""
    p = np.asarray(p_success, float)
    mask = np.ones(p.shape, bool) if allowed is None else np.asarray(allowed, bool)
    return np.asarray((mask & (p >= t)).any(axis=1))


def threshold(p_success: np.ndarray, cost_usd: np.ndarray, t: float, allowed: np.ndarray | None = None, *,
              names: Sequence[str] | None = None) -> np.ndarray:
    """The cheapest allowed model with P(success) >= t (ties: higher P, then name); the most likely one when
    none reaches t."""
    p, cost, mask = _prepare(p_success, cost_usd, allowed)
    cheapest, any_clears = cheapest_of(mask & (p >= t), p, cost, names)
    return np.where(any_clears, cheapest, most_likely(p, cost, mask, names=names))


def utility(p_success: np.ndarray, cost_usd: np.ndarray, lam: float, allowed: np.ndarray | None = None, *,
            names: Sequence[str] | None = None) -> np.ndarray:
    """The allowed model maximising P(success) - lam x cost (ties: higher P, then cheaper, then name)."""
    p, cost, mask = _prepare(p_success, cost_usd, allowed)
    return _pick(_best(np.round(p - lam * cost, 12), mask), preference(p, cost, names))


def best_index(mean_score: np.ndarray, mean_cost_usd: np.ndarray, names: Sequence[str] | None = None) -> int:
    """Position of the model with the highest mean score; ties go to the cheaper one, then by name."""
    score = np.asarray(mean_score, dtype=float)[None, :]
    return int(np.argmin(preference(score, np.asarray(mean_cost_usd, float)[None, :], names)[0]))


def cheapest_index(mean_cost_usd: np.ndarray, mean_score: np.ndarray | None = None,
                   names: Sequence[str] | None = None) -> int:
    """Position of the cheapest model; ties go to the higher mean score, then by name."""
    cost = np.asarray(mean_cost_usd, float)[None, :]
    score = np.zeros_like(cost) if mean_score is None else np.asarray(mean_score, float)[None, :]
    return int(cheapest_of(np.ones(cost.shape, bool), score, cost, names)[0][0])


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
