"""Verifiers against reported outcomes, from the store (SQLite or PostgreSQL): the labelled verdicts a calibrator is
fitted on, and how well each verifier's P(correct) matched what was reported (`aco evaluate-log`).

A verdict is labelled by the outcome reported for its decision (an outcome without a decision id belongs to its
task's last decision, as everywhere in the log: `aco.routers.production.logged_outcomes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from aco.estimators.calibration import inner_folds
from aco.evaluation import metrics
from aco.routers.production import logged_outcomes
from aco.store import Store, VerdictRecord
from aco.verifiers.entropy import FEATURES, EntropyCalibrator


@dataclass(frozen=True)
class Labelled:
    """A verdict and the success reported for its decision's task."""

    verdict: VerdictRecord
    success: bool


def labelled_verdicts(store: Store, verifier: str | None = None, profile: str | None = None) -> list[Labelled]:
    """Every logged verdict (of `verifier`, of decisions of `profile`) whose decision has a reported outcome."""
    linked = [item for item in logged_outcomes(store) if item.decision is not None
              and (profile is None or item.decision.profile == profile)]
    success = {item.decision.decision_id: bool(item.outcome.success) for item in linked if item.decision is not None}
    return [Labelled(v, success[v.decision_id]) for v in store.verdicts(verifier=verifier)
            if v.decision_id in success]


def entropy_training(labelled: list[Labelled]) -> tuple[list[dict[str, float]], list[bool]]:
    """The token statistics and outcomes an `EntropyCalibrator` is fitted on (verdicts that logged them)."""
    rows = [item for item in labelled if all(f in item.verdict.signals for f in FEATURES)]
    return [dict(item.verdict.signals) for item in rows], [item.success for item in rows]


def _scores(p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {"brier": metrics.brier(p, y), "ece": metrics.ece(p, y)}
    out["auc"] = metrics.roc_auc(p, y) if 0 < y.sum() < len(y) else None
    return out


def calibration_rows(store: Store, profile: str | None = None, folds: int = 5, seed: int = 0,
                     min_outcomes: int = 20) -> list[dict[str, Any]]:
    """Per verifier in the log: verdicts, labelled ones, abstentions, mean P(correct) against the success rate, Brier,
    ECE and AUC of the P it logged; for `entropy` also the calibrator refitted from the store's outcomes, scored
    out of fold (`folds`-fold cross-fitting over the labelled answers), as the row `entropy-refit`."""
    labelled = labelled_verdicts(store, profile=profile)
    names = sorted({v.verifier for v in store.verdicts()})
    rows = []
    for name in names:
        mine = [item for item in labelled if item.verdict.verifier == name]
        scored = [item for item in mine if item.verdict.p_correct is not None]
        row: dict[str, Any] = {"verifier": name, "labelled": len(mine), "abstained": len(mine) - len(scored)}
        if scored:
            p = np.array([float(item.verdict.p_correct or 0.0) for item in scored])
            y = np.array([item.success for item in scored], dtype=float)
            row.update({"mean_p": float(p.mean()), "success_rate": float(y.mean()), **_scores(p, y)})
        rows.append(row)
        if name == "entropy":
            rows.append(_entropy_refit(mine, folds, seed, min_outcomes))
    return rows


def _entropy_refit(labelled: list[Labelled], folds: int, seed: int, min_outcomes: int) -> dict[str, Any]:
    """The entropy calibrator refitted on every labelled answer, and its out-of-fold calibration."""
    stats, success = entropy_training(labelled)
    row: dict[str, Any] = {"verifier": "entropy-refit", "labelled": len(stats), "abstained": 0}
    y = np.array(success, dtype=float)
    if len(stats) < max(min_outcomes, folds) or len(set(success)) < 2:
        return {**row, "note": f"needs {min_outcomes} labelled answers with both outcomes"}
    fold_of = inner_folds(len(stats), folds, seed)
    p = np.full(len(stats), np.nan)
    for k in range(folds):
        train = np.flatnonzero(fold_of != k)
        if len({success[i] for i in train}) < 2:
            continue
        calibrator = EntropyCalibrator.fit([stats[i] for i in train], [success[i] for i in train])
        for i in np.flatnonzero(fold_of == k):
            p[i] = calibrator(stats[i])
    known = ~np.isnan(p)
    coef = EntropyCalibrator.fit(stats, success).to_json()["coef"]
    return {**row, "mean_p": float(p[known].mean()), "success_rate": float(y[known].mean()),
            **_scores(p[known], y[known]), "coef": {f: round(c, 4) for f, c in zip(FEATURES, coef, strict=True)}}
