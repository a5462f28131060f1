"""Routing metrics as pure functions of arrays (no I/O, no plotting).

Conventions: `score` is the realised score per task in [0, 1]; `cost_usd` the realised cost per task
(every paid attempt included); tables are (n_tasks, n_models) arrays of recorded outcomes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from aco.policies.objective import Objective

REGRET_COST_WEIGHT = Objective.paper().cost_weight  # Agent-as-a-Router: reward = score - 0.1 x cost_usd


def success(score: np.ndarray) -> float:
    """Mean score (the success rate for 0/1 outcomes)."""
    return float(np.mean(score))


def total_cost(cost_usd: np.ndarray) -> float:
    return float(np.sum(cost_usd))


def cost_reduction(cost_usd: float, reference_cost_usd: float) -> float:
    """Share of the reference cost saved: 1 - cost / reference (negative when dearer)."""
    if reference_cost_usd <= 0:
        return float("nan")
    return 1.0 - cost_usd / reference_cost_usd


def model_share(model_idx: np.ndarray, n_models: int) -> np.ndarray:
    """Share of tasks sent to each model."""
    if len(model_idx) == 0:
        return np.zeros(n_models)
    return np.bincount(np.asarray(model_idx, dtype=int), minlength=n_models) / len(model_idx)


def oracle_gap(router_success: float, oracle_success: float) -> float:
    """How much success the router leaves on the table relative to the per-task oracle."""
    return oracle_success - router_success


def rewards(score: np.ndarray, cost_usd: np.ndarray, weight: float = REGRET_COST_WEIGHT) -> np.ndarray:
    return np.asarray(score, dtype=float) - weight * np.asarray(cost_usd, dtype=float)


def regret_per_task(score: np.ndarray, cost_usd: np.ndarray, table_score: np.ndarray,
                    table_cost_usd: np.ndarray, weight: float = REGRET_COST_WEIGHT) -> np.ndarray:
    """Best single-call reward over the models minus the router's reward, per task."""
    best = rewards(table_score, table_cost_usd, weight).max(axis=1)
    return np.asarray(best - rewards(score, cost_usd, weight))


def cumulative_regret(score: np.ndarray, cost_usd: np.ndarray, table_score: np.ndarray,
                      table_cost_usd: np.ndarray, weight: float = REGRET_COST_WEIGHT) -> np.ndarray:
    """Cumulative regret over the task stream (in the given order); the last value is the total."""
    return np.cumsum(regret_per_task(score, cost_usd, table_score, table_cost_usd, weight))


def perf_per_dollar(score: np.ndarray, cost_usd: np.ndarray) -> float:
    """AvgPerf (mean score x 100) per USD spent on the whole split."""
    spent = float(np.sum(cost_usd))
    return float("inf") if spent <= 0 else 100.0 * float(np.mean(score)) / spent


def unsafe_rate(score: np.ndarray, protected: np.ndarray, threshold: float = 0.5) -> float:
    """Share of tasks in protected categories that failed (score below `threshold`); NaN with none."""
    mask = np.asarray(protected, dtype=bool)
    if not mask.any():
        return float("nan")
    return float(np.mean(np.asarray(score)[mask] < threshold))


def bootstrap_ci(values: np.ndarray, statistic: Callable[[np.ndarray], float] = np.mean,
                 n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI over tasks (resampling rows of `values`; vectorised for the mean)."""
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(data), size=(n_resamples, len(data)))
    if statistic is np.mean:
        stats = data[idx].mean(axis=1)
    else:
        stats = np.array([statistic(data[row]) for row in idx])
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def bootstrap_rate_ci(successes: int, n: int, n_resamples: int = 1000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of a success rate from 0/1 outcomes, drawn exactly and in O(n_resamples): the
    mean of n rows resampled with replacement from 0/1 data is Binomial(n, successes / n) / n."""
    if n <= 0:
        return (float("nan"), float("nan"))
    rates = np.random.default_rng(seed).binomial(n, successes / n, size=n_resamples) / n
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(rates, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def bootstrap_ratio_ci(numerator: np.ndarray, denominator: np.ndarray, n_resamples: int = 1000,
                       level: float = 0.95, seed: int = 0, max_cells: int = 250_000) -> tuple[float, float]:
    """Percentile bootstrap CI of sum(numerator) / sum(denominator), resampling rows (e.g. tasks) together.

    Resamples are drawn in chunks of at most `max_cells` indices, so memory stays bounded for large inputs;
    resamples whose denominator sums to 0 are dropped (NaN when none is left).
    """
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    n = len(num)
    if n == 0 or len(den) != n:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    stats = np.empty(n_resamples)
    rows = max(1, max_cells // n)
    pairs = num + 1j * den  # one gather per resample fetches both sums
    with np.errstate(invalid="ignore", divide="ignore"):
        for start in range(0, n_resamples, rows):
            idx = rng.integers(0, n, size=(min(rows, n_resamples - start), n), dtype=np.int32)
            sums = pairs[idx].sum(axis=1)
            stats[start:start + len(idx)] = sums.real / sums.imag
    stats = stats[np.isfinite(stats)]
    if len(stats) == 0:
        return (float("nan"), float("nan"))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


# --- cost-quality curves ----------------------------------------------------------------------------
def upper_hull(cost: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the non-decreasing upper convex hull of cost-quality points, by increasing cost."""
    pts = sorted(set(zip(np.asarray(cost, float).tolist(), np.asarray(quality, float).tolist(), strict=True)))
    # keep the best quality at each cost (np.interp needs strictly increasing costs)
    pts = [p for p, nxt in zip(pts, [*pts[1:], None], strict=True) if nxt is None or nxt[0] != p[0]]
    hull: list[tuple[float, float]] = []
    for point in pts:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            cross = (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1)
            if cross >= 0:  # hull[-1] lies on or below the segment: not on the upper hull
                hull.pop()
            else:
                break
        hull.append(point)
    xs = np.array([p[0] for p in hull])
    ys = np.maximum.accumulate(np.array([p[1] for p in hull]))  # non-decreasing
    return xs, ys


def aiq(cost: np.ndarray, quality: np.ndarray, cost_min: float | None = None,
        cost_max: float | None = None) -> float:
    """RouterBench's Average Improvement in Quality: mean of the non-decreasing upper hull over a cost range.

    The hull is extended flat to the right of its last point, and is undefined (0) left of its first.
    """
    xs, ys = upper_hull(cost, quality)
    lo = float(xs.min()) if cost_min is None else float(cost_min)
    hi = float(xs.max()) if cost_max is None else float(cost_max)
    if hi <= lo:
        return float(ys.max())
    grid = np.linspace(lo, hi, 2001)
    values = np.interp(grid, xs, ys, left=0.0, right=float(ys[-1]))
    values[grid < xs[0]] = 0.0
    return float(np.trapezoid(values, grid) / (hi - lo))


def quality_at_share(share: np.ndarray, quality: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Best quality reachable at each strong-call share on `grid` (upper hull, interpolated)."""
    xs, ys = upper_hull(share, quality)
    values = np.interp(grid, xs, ys, left=np.nan, right=float(ys[-1]))
    return np.asarray(values)


def _within_budget(share: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Curve points anchored at (0, weak) and (1, strong), without those dearer than the strong model (share > 1)."""
    share, quality = np.asarray(share, float), np.asarray(quality, float)
    keep = share <= 1.0 + 1e-9
    return share[keep], quality[keep]


def apgr(share: np.ndarray, quality: np.ndarray, weak_quality: float, strong_quality: float) -> float:
    """RouteLLM's Average Performance Gap Recovered over strong-call share in [0, 1].

    The curve is anchored at (0, weak) and (1, strong), as every router can reach both extremes; points with
    share > 1 (dearer than the strong model) are left out. Range: [0.5, (q_max - weak) / (strong - weak)], where
    q_max <= the oracle's success is the curve's best quality: 0.5 is the straight line between the anchors
    (random mixing), 1.0 a router that is as good as the strong model from share 0 on, and above 1 a router that
    beats the strong model (possible whenever the oracle does). NaN when strong == weak.
    """
    if strong_quality == weak_quality:
        return float("nan")
    share, quality = _within_budget(share, quality)
    xs = np.concatenate([[0.0, 1.0], share])
    ys = np.concatenate([[weak_quality, strong_quality], quality])
    grid = np.linspace(0.0, 1.0, 1001)
    values = quality_at_share(xs, ys, grid)
    area = float(np.trapezoid(values, grid))
    return (area - weak_quality) / (strong_quality - weak_quality)


def cpt(share: np.ndarray, quality: np.ndarray, weak_quality: float, strong_quality: float,
        fraction: float) -> float:
    """RouteLLM's Call-Performance Threshold: least strong-call share reaching weak + fraction x gap.

    Range: [0, 1] (the anchor (1, strong) always reaches the gap); points with share > 1 are left out.
    """
    target = weak_quality + fraction * (strong_quality - weak_quality)
    share, quality = _within_budget(share, quality)
    xs = np.concatenate([[0.0, 1.0], share])
    ys = np.concatenate([[weak_quality, strong_quality], quality])
    grid = np.linspace(0.0, 1.0, 10001)
    values = quality_at_share(xs, ys, grid)
    reached = np.flatnonzero(values >= target - 1e-12)
    return float(grid[reached[0]]) if len(reached) else float("nan")


# --- calibration and ranking -------------------------------------------------------------------------
def brier(p: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of predicted probabilities against 0/1 outcomes."""
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-width reliability bins: (mean predicted, observed rate, count) per bin (NaN where empty)."""
    prob = np.clip(np.asarray(p, float), 0.0, 1.0)
    outcome = np.asarray(y, float)
    which = np.minimum((prob * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(which, weights=prob, minlength=bins) / count
        rate = np.bincount(which, weights=outcome, minlength=bins) / count
    return mean_p, rate, count


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: count-weighted |mean predicted - observed rate| over bins."""
    mean_p, rate, count = reliability(p, y, bins)
    used = count > 0
    if not used.any():
        return float("nan")
    return float(np.sum(count[used] * np.abs(mean_p[used] - rate[used])) / count.sum())


def roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve of `score` for binary `label` (ties count one half); NaN if one class."""
    s = np.asarray(score, float)
    y = np.asarray(label, bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average ranks for ties
    _, start, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = start + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_auc_ci(score: np.ndarray, label: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """`roc_auc` and its percentile bootstrap 95% CI over rows: (auc, low, high)."""
    data = np.column_stack([np.asarray(score, float), np.asarray(label, bool).astype(float)])
    lo, hi = bootstrap_ci(data, lambda rows: roc_auc(rows[:, 0], rows[:, 1] > 0.5), seed=seed)
    return roc_auc(data[:, 0], data[:, 1] > 0.5), lo, hi


# --- documented ranges ---------------------------------------------------------------------------------
def row_ranges(weak_quality: float, strong_quality: float, oracle_quality: float) -> dict[str, tuple[float, float]]:
    """The range every bench metric must lie in, given the cheapest (weak), best single (strong) and oracle
    success of the table. Regret has no upper bound that is useful and is >= 0 except for a router that
    abstains (the oracle), so it is not listed."""
    inf = float("inf")
    gap = strong_quality - weak_quality
    apgr_high = (oracle_quality - weak_quality) / gap if gap > 0 else inf
    return {
        "success": (0.0, 1.0), "avg_perf": (0.0, 100.0), "cost_usd": (0.0, inf), "cost_per_task_usd": (0.0, inf),
        "cost_reduction_vs_best_single": (-inf, 1.0), "cost_reduction_vs_most_expensive": (-inf, 1.0),
        "oracle_gap": (0.0, oracle_quality), "unsafe_rate": (0.0, 1.0), "aiq": (0.0, 1.0),
        "apgr": (0.5, max(apgr_high, 0.5)), "cpt50": (0.0, 1.0), "cpt80": (0.0, 1.0), "brier": (0.0, 1.0),
        "ece": (0.0, 1.0), "perf_per_usd": (0.0, inf),
    }


def out_of_range(row: dict[str, object], ranges: dict[str, tuple[float, float]], tol: float = 1e-9) -> list[str]:
    """`metric=value (range [lo, hi])` for every finite metric of `row` outside its range."""
    bad = []
    for key, (low, high) in ranges.items():
        value = row.get(key)
        if isinstance(value, int | float) and np.isfinite(value) and not low - tol <= value <= high + tol:
            bad.append(f"{key}={value:.6g} (range [{low:g}, {high:g}])")
    return bad
