"""The dashboard's figures as JSON-ready dicts, from the store's aggregate queries (no request state).

Savings and success carry a 95% bootstrap CI over the tasks with a reported outcome (tasks resampled with
their spend, counterfactual and last reported success); calibration bins those tasks by the P(success) their
decision gave the model the outcome is about.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from aco.evaluation.metrics import bootstrap_rate_ci, bootstrap_ratio_ci, reliability
from aco.store import Store
from aco.store import aggregates as agg
from aco.store.records import DecisionRecord

CALIBRATION_BINS = 10


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _ci(pair: tuple[float, float]) -> list[float | None]:
    return [_finite(pair[0]), _finite(pair[1])]


def reported(results: agg.TaskResults, seed: int = 0) -> dict[str, Any]:
    """Savings share and success rate over the tasks with a reported outcome, each with a bootstrap CI."""
    n = len(results.success)
    spent, cf = float(results.spent_usd.sum()), float(results.counterfactual_usd.sum())
    ratio_lo, ratio_hi = bootstrap_ratio_ci(results.spent_usd, results.counterfactual_usd, seed=seed)
    return {
        "tasks": n, "spent_usd": spent, "counterfactual_usd": cf,
        "savings_share": _finite(1.0 - spent / cf) if cf > 0 else None,
        "savings_share_ci": _ci((1.0 - ratio_hi, 1.0 - ratio_lo)),
        "success_rate": _finite(float(results.success.mean())) if n else None,
        "success_rate_ci": _ci(bootstrap_rate_ci(int(results.success.sum()), n, seed=seed)),
    }


def calibration(p: np.ndarray, success: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict[str, Any]]:
    """Equal-width bins of predicted P(success): mean predicted, realised rate and count (non-empty bins)."""
    if len(p) == 0:
        return []
    mean_p, rate, count = reliability(p, success, bins)
    return [{"bin": [i / bins, (i + 1) / bins], "predicted": float(mean_p[i]), "realised": float(rate[i]),
             "count": int(count[i])} for i in range(bins) if count[i] > 0]


def summary(store: Store) -> dict[str, Any]:
    """Every figure of the dashboard except the decisions table."""
    rolled = agg.rollup(store)
    escalated, fell_back = agg.escalations(store), agg.fallbacks(store)
    totals = agg.totals(store, rolled, escalated, fell_back)
    results = agg.task_results(store)
    known = ~np.isnan(results.p_success)
    return {
        "generated_at": time.time(),
        "backend": store.engine.dialect.name,
        "totals": {**asdict(totals), "savings_usd": totals.counterfactual_usd - totals.spent_usd,
                   "savings_share": (1.0 - totals.spent_usd / totals.counterfactual_usd)
                   if totals.counterfactual_usd > 0 else None},
        "reported": reported(results),
        "spend": {"bucket_s": rolled.bucket_s, "points": [
            {"t": t, "spent_usd": s, "counterfactual_usd": c, "decisions": n} for t, s, c, n in rolled.spend_series()]},
        "success": [{"model": m, "category": c, "outcomes": n, "successes": s}
                    for m, c, n, s in agg.success_cells(store)],
        "escalations": [{"from": a, "to": b, "decisions": n} for a, b, n in escalated],
        "fallbacks": [{"from": a, "to": b, "decisions": n} for a, b, n in fell_back],
        "failures": [{"model": m, "calls": n} for m, n in agg.failures(store)],
        "budgets": agg.budget_totals(store),
        "refusals": [{"profile": pr, "model": m, "refusals": n} for pr, m, n in agg.refusals_by(store)],
        "by_profile": [{"profile": k, "decisions": n, "spent_usd": s, "counterfactual_usd": c}
                       for k, n, s, c in rolled.by("profile")],
        "by_model": [{"model": k, "decisions": n, "spent_usd": s, "counterfactual_usd": c}
                     for k, n, s, c in rolled.by("model")],
        "calibration": calibration(results.p_success[known], results.success[known]),
    }


def decision_json(rec: DecisionRecord) -> dict[str, Any]:
    """One row of the decisions table."""
    return {
        "decision_id": rec.decision_id, "created_at": rec.created_at, "task_id": rec.task_id,
        "profile": rec.profile, "step_kind": rec.step_kind, "category": rec.category, "model": rec.chosen_model,
        "status": rec.status, "reason": rec.reason, "p_success": rec.p_success_by_model.get(rec.chosen_model),
        "p_success_by_model": rec.p_success_by_model, "candidates": list(rec.candidates),
        "reserved_usd": rec.reserved_usd, "cost_usd": rec.cost_usd, "counterfactual_usd": rec.counterfactual_usd,
        "fallback_from": rec.fallback_from, "escalated_from": rec.escalated_from, "endpoint": rec.endpoint,
    }


def decisions(store: Store, flt: agg.DecisionFilter, page: int, per_page: int, options: bool) -> dict[str, Any]:
    """One page (1-based) of the decisions table, newest first, with the filter's choices when asked."""
    total, rows = agg.decision_page(store, flt, (page - 1) * per_page, per_page)
    out: dict[str, Any] = {"total": total, "page": page, "per_page": per_page,
                           "pages": max(1, -(-total // per_page)), "rows": [decision_json(r) for r in rows]}
    if options:
        out["options"] = agg.filter_options(store)
    return out


class SummaryCache:
    """The last summary and the store state it was computed on: recomputed only when `aggregates.fingerprint`
    changed (one computation at a time; concurrent viewers wait for it and share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._value: dict[str, Any] | None = None

    def get(self, store: Store) -> dict[str, Any]:
        with self._lock:
            key = agg.fingerprint(store)
            if self._value is None or key != self._key:
                self._value, self._key = summary(store), key
            return {**self._value, "checked_at": time.time()}
