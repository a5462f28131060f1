"""Off-policy evaluation: what would policy B have scored and cost on traffic logged under policy A?

Inputs are a log of decisions with propensities (the probability with which the logging policy chose the
logged action) and the observed reward of that action. Estimators (each with a percentile bootstrap CI
over logged decisions):
- IPS: mean of w x r with w = pi(a | x) / propensity;
- SNIPS: sum(w x r) / sum(w) (self-normalised, lower variance, slightly biased);
- DR (doubly robust): mean of sum_a pi(a | x) q(x, a) + w x (r - q(x, a_logged)), with a reward model q.
`validate` runs the whole check on a benchmark: log an exploring online policy on a stream, estimate
target policies from that log, and compare with their true replayed values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ESTIMATORS = ("ips", "snips", "dr")


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


def reward_model(log: Log, n_actions: int, shrink: float = 2.0) -> np.ndarray:
    """(n, n_actions) q(x, a): per-(group, action) mean reward shrunk to the action's mean, from the log."""
    action, reward = np.asarray(log.action, dtype=int), np.asarray(log.reward, dtype=float)
    groups, g = np.unique(np.asarray(log.group).astype(str), return_inverse=True)
    overall = reward.mean() if len(reward) else 0.0
    n_a = np.bincount(action, minlength=n_actions)
    mean_a = (np.bincount(action, reward, minlength=n_actions) + shrink * overall) / (n_a + shrink)
    cell = g * n_actions + action
    n_ga = np.bincount(cell, minlength=len(groups) * n_actions).reshape(len(groups), n_actions)
    s_ga = np.bincount(cell, reward, minlength=len(groups) * n_actions).reshape(len(groups), n_actions)
    q = (s_ga + shrink * mean_a) / (n_ga + shrink)
    return np.asarray(q[g])


def _terms(log: Log, target: np.ndarray, q: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row IPS terms, weights and DR terms (zeros when no reward model)."""
    rows = np.arange(len(log.action))
    pi = np.asarray(target, dtype=float)
    w = pi[rows, log.action] / np.asarray(log.propensity, dtype=float)
    r = np.asarray(log.reward, dtype=float)
    dr = np.zeros_like(r) if q is None else (pi * q).sum(axis=1) + w * (r - q[rows, log.action])
    return w * r, w, dr


def estimate(log: Log, target: np.ndarray, q: np.ndarray | None = None, *, n_boot: int = 1000,
             level: float = 0.95, seed: int = 0) -> dict[str, Estimate]:
    """IPS, SNIPS and (with q) DR estimates of the target policy's mean reward on the logged contexts.

    target: (n, m) probabilities with which the target policy picks each action for each logged row
    (one-hot for a deterministic policy).
    """
    if len(log.action) == 0:
        raise ValueError("empty log")
    ips_t, w, dr_t = _terms(log, target, q)
    idx = np.random.default_rng(seed).integers(0, len(w), size=(n_boot, len(w)))
    samples = {
        "ips": (ips_t.mean(), ips_t[idx].mean(axis=1)),
        "snips": (ips_t.sum() / max(w.sum(), 1e-12), ips_t[idx].sum(axis=1) / np.maximum(w[idx].sum(axis=1), 1e-12)),
    }
    if q is not None:
        samples["dr"] = (dr_t.mean(), dr_t[idx].mean(axis=1))
    alpha = (1.0 - level) / 2.0
    out = {}
    for name, (value, boot) in samples.items():
        lo, hi = np.quantile(boot, [alpha, 1.0 - alpha])
        out[name] = Estimate(name, float(value), float(lo), float(hi))
    return out


def one_hot(actions: np.ndarray, n_actions: int) -> np.ndarray:
    """(n, m) probabilities of a deterministic policy."""
    out = np.zeros((len(actions), n_actions))
    out[np.arange(len(actions)), np.asarray(actions, dtype=int)] = 1.0
    return out


def evaluate_policy(log: Log, cost_log: Log, target: np.ndarray, n_actions: int, *, n_boot: int = 1000,
                    seed: int = 0) -> dict[str, dict[str, Estimate]]:
    """Estimates of the target's mean score (`log`) and mean cost (`cost_log`: same rows, reward = cost)."""
    probs = one_hot(target, n_actions) if target.ndim == 1 else target
    return {
        "score": estimate(log, probs, reward_model(log, n_actions), n_boot=n_boot, seed=seed),
        "cost_usd": estimate(cost_log, probs, reward_model(cost_log, n_actions), n_boot=n_boot, seed=seed),
    }


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
             seed: int = 0, folds: int = 5, n_boot: int = 1000) -> list[dict[str, Any]]:
    """Log an exploring online policy on a shuffled stream, estimate each target from the log, compare.

    The truth is the target's replayed value on the same tasks (mean recorded score and cost per task).
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
        est = evaluate_policy(log, cost_log, action[order], table.n_models, n_boot=n_boot, seed=seed)
        for row in coverage_rows(est, truth):
            rows.append({"seed": seed, "target": spec, **row})
    return rows
