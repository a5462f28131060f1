"""Success estimators: calibrated P(success) and expected cost per candidate model."""

from __future__ import annotations

from typing import Any

from aco.estimators.base import CalibratedEstimator, SuccessEstimator
from aco.estimators.category_stats import CategoryStatsEstimator
from aco.estimators.gbdt import GBDTEstimator
from aco.estimators.knn import KNNEstimator
from aco.estimators.logreg import LogRegEstimator
from aco.estimators.mf import MFEstimator

ESTIMATORS: dict[str, type[CalibratedEstimator]] = {
    cls.kind: cls for cls in (GBDTEstimator, KNNEstimator, CategoryStatsEstimator, LogRegEstimator, MFEstimator)
}


def estimator_from_state(state: dict[str, Any]) -> CalibratedEstimator:
    """Rebuild a fitted estimator from `to_state()` output."""
    kind = str(state["kind"])
    if kind not in ESTIMATORS:
        raise ValueError(f"unknown estimator kind {kind!r}; known: {', '.join(ESTIMATORS)}")
    return ESTIMATORS[kind](**state["params"]).load_state(state)


__all__ = ["ESTIMATORS", "CalibratedEstimator", "CategoryStatsEstimator", "GBDTEstimator", "KNNEstimator",
           "LogRegEstimator", "MFEstimator", "SuccessEstimator", "estimator_from_state"]
