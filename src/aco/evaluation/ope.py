"""Off-policy evaluation: what would policy B have scored and cost on traffic logged under policy A?

Inputs are a log of decisions with propensities (the probability with which the logging policy chose the
logged action) and the observed reward of that action. Estimators (each with a bootstrap CI over logged
decisions: studentized (bootstrap-t) by default, percentile on request):
- IPS: mean of w x r with w = pi(a | x) / propensity;
- SNIPS: sum(w x r) / sum(w) (self-normalised, lower variance, slightly biased);
- DR (doubly robust): mean of sum_a pi(a | x) q(x, a) + w x (r - q(x, a_logged)), with a reward model q
  cross-fitted so that a row's own reward never enters its q, and re-fitted inside every bootstrap replicate
  so that the CI carries q's estimation variance.
`validate` runs the whole check on a benchmark: log an exploring online policy on a stream, estimate
target policies from that log, and compare with their true replayed values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ESTIMATORS = ("ips", "snips", "dr")
INTERVALS = ("studentized", "percentile")


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its bootstrap CI."""

    estimator: str
    value: float
    ci_low: float
    ci_high: float

    def covers(self, truth: float) -> bool:
        return self.ci_low <= truth <= self.ci_high


@dataclass(frozen=True)
class Log:
    """Logged bandit feedback: action, its propensity, observed reward and a group key (category) per row."""

    action: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray
    group: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.action)
        for name in ("propensity", "reward", "group"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"log field {name!r} has {len(getattr(self, name))} rows, expected {n}")
        p = np.asarray(self.propensity, dtype=float)
        if n and ((p <= 0).any() or (p > 1).any()):
            bad = int(np.flatnonzero((p <= 0) | (p > 1))[0])
            raise ValueError(f"log row {bad}: propensity {p[bad]} is not in (0, 1]")


def _batch_bincount(codes: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    """(B, size) weighted counts of `codes` (n,) for each row of `weight` (B, n)."""
    offset = (np.arange(weight.shape[0])[:, None] * size + codes[None, :]).ravel()
    return np.bincount(offset, weight.ravel(), minlength=weight.shape[0] * size).reshape(weight.shape[0], size)


def _cell_means(action: np.ndarray, reward: np.ndarray, g: np.ndarray, n_groups: int, n_actions: int,
                weight: np.ndarray, shrink: float) -> np.ndarray:
    """(B, n_groups, n_actions) per-(group, action) mean reward shrunk to the action's mean, for each row of
    `weight` (B, n) of row multiplicities."""
    total = weight.sum(axis=1)
    overall = np.divide(weight @ reward, total, out=np.zeros(len(total)), where=total > 0)
    n_a, s_a = _batch_bincount(action, weight, n_actions), _batch_bincount(action, weight * reward, n_actions)
    mean_a = (s_a + shrink * overall[:, None]) / (n_a + shrink)
    cell, size = g * n_actions + action, n_groups * n_actions
    n_ga = _batch_bincount(cell, weight, size).reshape(-1, n_groups, n_actions)
    s_ga = _batch_bincount(cell, weight * reward, size).reshape(-1, n_groups, n_actions)
    return np.asarray((s_ga + shrink * mean_a[:, None, :]) / (n_ga + shrink))


def reward_model(log: Log, n_actions: int, shrink: float = 2.0, row_weight: np.ndarray | None = None) -> np.ndarray:
    """(n, n_actions) q(x, a): per-(group, action) mean reward shrunk to the action's mean.

    `row_weight` (default 1 per row) is each row's multiplicity in the fit: 0 leaves it out, a bootstrap count
    repeats it. q is predicted for every row of the log.
    """
    return cross_fitted_reward_model(log, n_actions, folds=1, shrink=shrink, row_weight=row_weight)


def cross_fitted_reward_model(log: Log, n_actions: int, folds: int = 5, shrink: float = 2.0,
                              row_weight: np.ndarray | None = None) -> np.ndarray:
    """(n, n_actions) q where row i's q is fitted only on the rows outside i's fold (fold = i mod folds).

    With folds > 1 a row's own reward never enters its q, so the DR residual r - q is an out-of-sample error;
    folds = 1 fits every row on every row (in-sample).
    """
    fit = reward_refitter(log, n_actions, folds, shrink)
    return fit(np.ones(len(log.action)) if row_weight is None else np.asarray(row_weight, dtype=float))


def reward_refitter(log: Log, n_actions: int, folds: int = 5,
                    shrink: float = 2.0) -> Callable[[np.ndarray], np.ndarray]:
    """A function row_weight (n,) -> q (n, n_actions), fitted as `cross_fitted_reward_model`; a batch of
    weights (B, n) gives (B, n, n_actions) (refits q in bootstrap replicates, row counts as weights)."""
    action, reward = np.asarray(log.action, dtype=int), np.asarray(log.reward, dtype=float)
    groups, g = np.unique(np.asarray(log.group).astype(str), return_inverse=True)
    fold = np.arange(len(action)) % max(folds, 1)

    def fit(weight: np.ndarray) -> np.ndarray:
        batch = np.atleast_2d(np.asarray(weight, dtype=float))
        if folds <= 1:
            q = _cell_means(action, reward, g, len(groups), n_actions, batch, shrink)[:, g]
        else:
            q = np.zeros((len(batch), len(action), n_actions))
            for k in range(min(folds, len(action))):
                table = _cell_means(action, reward, g, len(groups), n_actions, batch * (fold != k), shrink)
                q[:, fold == k] = table[:, g[fold == k]]
        return q[0] if np.ndim(weight) == 1 else q

    return fit


def _terms(log: Log, target: np.ndarray, q: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row IPS terms, weights and DR terms (zeros when no reward model)."""
    rows = np.arange(len(log.action))
    pi = np.asarray(target, dtype=float)
    w = pi[rows, log.action] / np.asarray(log.propensity, dtype=float)
    r = np.asarray(log.reward, dtype=float)
    dr = np.zeros_like(r) if q is None else (pi * q).sum(axis=1) + w * (r - q[rows, log.action])
    return w * r, w, dr


def _mean_and_se(terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error along the last axis (IPS, DR: the terms are the influence function)."""
    n = terms.shape[-1]
    se = terms.std(axis=-1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(terms.shape[:-1])
    return terms.mean(axis=-1), se


def _ratio_and_se(num: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SNIPS sum(w r) / sum(w) and its delta-method standard error, along the last axis."""
    w_bar = np.maximum(w.mean(axis=-1), 1e-12)
    value = num.mean(axis=-1) / w_bar
    influence = (num - w * value[..., None]) / w_bar[..., None]
    return value, _mean_and_se(influence)[1]


def _interval(value: float, se: float, boot: np.ndarray, boot_se: np.ndarray, level: float,
              method: str) -> tuple[float, float]:
    """Percentile interval of the replicates, or studentized (bootstrap-t) interval of (boot - value) / boot_se."""
    alpha = (1.0 - level) / 2.0
    if method == "percentile":
        lo, hi = np.quantile(boot, [alpha, 1.0 - alpha])
        return float(lo), float(hi)
    if method not in INTERVALS:
        raise ValueError(f"unknown interval {method!r}: use one of {INTERVALS}")
    ok = boot_se > 0
    if se <= 0 or not ok.any():
        return value, value
    t_lo, t_hi = np.quantile((boot[ok] - value) / boot_se[ok], [alpha, 1.0 - alpha])
    return float(value - t_hi * se), float(value - t_lo * se)


def _dr_replicates(log: Log, target: np.ndarray, idx: np.ndarray, refit: Callable[[np.ndarray], np.ndarray],
                   chunk: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """DR value and standard error of each bootstrap replicate (rows idx[b]), q re-fitted on that replicate."""
    n, rows = len(log.action), np.arange(len(log.action))
    pi = np.asarray(target, dtype=float)
    w = pi[rows, log.action] / np.asarray(log.propensity, dtype=float)
    r = np.asarray(log.reward, dtype=float)
    values, ses = [], []
    for part in np.array_split(idx, max(1, -(-len(idx) // chunk))):
        offset = (np.arange(len(part))[:, None] * n + part).ravel()
        q = refit(np.bincount(offset, minlength=part.size).reshape(len(part), n).astype(float))
        dr = (pi[None] * q).sum(axis=2) + w * (r - q[:, rows, log.action])
        value, se = _mean_and_se(np.take_along_axis(dr, part, axis=1))
        values.append(value)
        ses.append(se)
    return np.concatenate(values), np.concatenate(ses)


def estimate(log: Log, target: np.ndarray, q: np.ndarray | None = None, *, n_boot: int = 1000,
             level: float = 0.95, seed: int = 0, interval: str = "studentized",
             refit: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, Estimate]:
    """IPS, SNIPS and (with q) DR estimates of the target policy's mean reward on the logged contexts.

    target: (n, m) probabilities with which the target policy picks each action for each logged row
    (one-hot for a deterministic policy). The CI resamples logged decisions; `studentized` (default) is
    the bootstrap-t interval (each replicate studentized by its own standard error: second-order accurate
    for skewed, heavy-weighted terms), `percentile` the plain percentile interval. `refit` (row weights -> q,
    see `reward_refitter`) re-fits DR's reward model inside every replicate, so the CI includes q's variance;
    without it q is held fixed.
    """
    if len(log.action) == 0:
        raise ValueError("empty log")
    ips_t, w, dr_t = _terms(log, target, q)
    idx = np.random.default_rng(seed).integers(0, len(w), size=(n_boot, len(w)))
    stats = {"ips": (_mean_and_se(ips_t), _mean_and_se(ips_t[idx])),
             "snips": (_ratio_and_se(ips_t, w), _ratio_and_se(ips_t[idx], w[idx]))}
    if q is not None:
        stats["dr"] = (_mean_and_se(dr_t), _mean_and_se(dr_t[idx]) if refit is None else
                       _dr_replicates(log, target, idx, refit))
    out = {}
    for name, ((value, se), (boot, boot_se)) in stats.items():
        lo, hi = _interval(float(value), float(se), boot, boot_se, level, interval)
        out[name] = Estimate(name, float(value), lo, hi)
    return out


def one_hot(actions: np.ndarray, n_actions: int) -> np.ndarray:
    """(n, m) probabilities of a deterministic policy."""
    out = np.zeros((len(actions), n_actions))
    out[np.arange(len(actions)), np.asarray(actions, dtype=int)] = 1.0
    return out


def evaluate_policy(log: Log, cost_log: Log, target: np.ndarray, n_actions: int, *, n_boot: int = 1000,
                    seed: int = 0, interval: str = "studentized",
                    cross_fit: bool = True) -> dict[str, dict[str, Estimate]]:
    """Estimates of the target's mean score (`log`) and mean cost (`cost_log`: same rows, reward = cost).

    DR's reward model is cross-fitted (5 folds) and re-fitted in every bootstrap replicate; with `cross_fit`
    False it is fitted once on every row (in-sample) and held fixed (the former method).
    """
    probs = one_hot(target, n_actions) if target.ndim == 1 else target
    out = {}
    for metric, one_log in (("score", log), ("cost_usd", cost_log)):
        refit = reward_refitter(one_log, n_actions, folds=5 if cross_fit else 1)
        out[metric] = estimate(one_log, probs, refit(np.ones(len(one_log.action))), n_boot=n_boot, seed=seed,
                               interval=interval, refit=refit if cross_fit else None)
    return out


def coverage_rows(estimates: dict[str, dict[str, Estimate]], truth: dict[str, float],
                  labels: Sequence[str] = ESTIMATORS) -> list[dict[str, Any]]:
    """Flat rows (metric, estimator, value, CI, truth, covered) for tables and JSON."""
    rows = []
    for metric, by_name in estimates.items():
        for name in labels:
            if name in by_name:
                e = by_name[name]
                rows.append({"metric": metric, "estimator": name, "value": e.value, "ci_low": e.ci_low,
                             "ci_high": e.ci_high, "truth": truth.get(metric), "covered":
                             e.covers(truth[metric]) if metric in truth else None})
    return rows


def target_actions(table: Any, spec: str, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold decisions of router `spec` on every task of `table` (the target policy)."""
    from aco.evaluation.protocol import kfold_splits
    from aco.evaluation.replay import replay
    from aco.routers.registry import make_router

    run = replay(make_router(spec), table, kfold_splits(table.n_tasks, folds, seed), sweep=False)
    return np.asarray(run.decisions.model_idx)


def validate(table: Any, targets: Sequence[str], *, logging_spec: str = "thompson", epsilon: float = 0.3,
             seed: int = 0, folds: int = 5, n_boot: int = 1000, interval: str = "studentized",
             cross_fit: bool = True) -> list[dict[str, Any]]:
    """Log an exploring online policy on a shuffled stream, estimate each target from the log, compare.

    The truth is the target's replayed value on the same tasks (mean recorded score and cost per task): the
    stream visits every task once, so it is exactly the mean over the logged contexts that the estimators target.
    """
    from aco.evaluation.stream import online_stream, stream_order
    from aco.routers.online import OnlineRouter
    from aco.routers.registry import make_router

    order = stream_order(table.n_tasks, "shuffle", seed)
    logger = make_router(logging_spec, seed=seed, epsilon=epsilon)
    if not isinstance(logger, OnlineRouter):
        raise ValueError(f"logging policy {logging_spec!r} is not an online router")
    run = online_stream(logger, table, order)
    group = table.tasks["category"].astype(str).to_numpy()[order]
    assert run.propensity is not None
    log = Log(run.model_idx, run.propensity, run.score, group)
    cost_log = Log(run.model_idx, run.propensity, run.cost_usd, group)
    rows: list[dict[str, Any]] = []
    for spec in targets:
        action = target_actions(table, spec, folds, seed)
        rows_t = np.arange(table.n_tasks)
        truth = {"score": float(table.score[rows_t, action].mean()),
                 "cost_usd": float(table.cost_usd[rows_t, action].mean())}
        est = evaluate_policy(log, cost_log, action[order], table.n_models, n_boot=n_boot, seed=seed,
                              interval=interval, cross_fit=cross_fit)
        for row in coverage_rows(est, truth):
            rows.append({"seed": seed, "target": spec, **row})
    return rows
