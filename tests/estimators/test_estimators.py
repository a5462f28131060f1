"""Every success estimator: shapes, probabilities, learning a known signal, calibration, state round trip."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from aco.estimators import (
    ESTIMATORS,
    CalibratedEstimator,
    CategoryStatsEstimator,
    SuccessEstimator,
    estimator_from_state,
)
from aco.estimators.trees import compile_boosters
from aco.evaluation.metrics import brier, roc_auc
from tests.estimators.synthetic import known_probabilities

FAST: dict[str, dict[str, Any]] = {"gbdt": {"n_estimators": 30}, "mf": {"steps": 150}}


def _make(kind: str) -> CalibratedEstimator:
    cls: Any = ESTIMATORS[kind]
    return cls(**FAST.get(kind, {}))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, ...]:
    X, p, y = known_probabilities(1200, seed=0)
    cost = np.tile([0.01, 0.1, 1.0], (len(X), 1))
    return X[:900], y[:900], cost[:900], X[900:], p[900:], y[900:]


@pytest.mark.parametrize("kind", sorted(set(ESTIMATORS) - {"category-stats"}))
def test_estimator_learns_the_known_signal(kind: str, data: tuple[np.ndarray, ...]) -> None:
    X, y, cost, X_test, p_test, y_test = data
    est = _make(kind).fit(X, y, cost)
    assert isinstance(est, SuccessEstimator)
    p = est.predict_proba(X_test)
    assert p.shape == p_test.shape and ((p >= 0) & (p <= 1)).all()
    assert roc_auc(p[:, 0], y_test[:, 0]) > 0.8  # model 0 depends strongly on feature 0
    # calibrated: close to the true probability's Brier score
    assert brier(p[:, 0], y_test[:, 0]) < brier(p_test[:, 0], y_test[:, 0]) + 0.03
    assert abs(p[:, 2].mean() - p_test[:, 2].mean()) < 0.06  # the constant model
    np.testing.assert_allclose(est.expected_cost_usd(X_test)[0], [0.01, 0.1, 1.0], rtol=0.05)


@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
def test_estimator_state_round_trip_gives_identical_predictions(kind: str, data: tuple[np.ndarray, ...]) -> None:
    X, y, cost, X_test, _, _ = data
    if kind == "category-stats":
        X, X_test = np.round(X[:, :1]), np.round(X_test[:, :1])
    est = _make(kind).fit(X, y, cost)
    restored = estimator_from_state(est.to_state())
    np.testing.assert_allclose(restored.predict_proba(X_test), est.predict_proba(X_test))


def test_category_stats_is_beta_smoothed_per_cell() -> None:
    X = np.array([[0.0], [0.0], [0.0], [1.0]])
    Y = np.array([[1.0], [1.0], [1.0], [0.0]])
    est = CategoryStatsEstimator(prior_strength=4.0).fit(X, Y, np.ones_like(Y))
    # cell 0: (3 + 4 * 0.75) / (3 + 4); unseen cell: the prior 0.75
    np.testing.assert_allclose(est.predict_proba(np.array([[0.0], [1.0], [7.0]]))[:, 0], [6 / 7, 3 / 5, 0.75])


def test_compiled_trees_equal_lightgbm() -> None:
    X, _, y = known_probabilities(400, seed=3)
    booster = lgb.train({"objective": "cross_entropy", "num_leaves": 8, "verbose": -1, "num_threads": 1},
                        lgb.Dataset(X, label=y[:, 0]), num_boost_round=20)
    trees = compile_boosters([booster.dump_model(), None], np.array([0.0, 1.5]))
    X_test = np.random.default_rng(4).normal(size=(50, 3))
    raw = trees.raw_score(X_test)
    np.testing.assert_allclose(raw[:, 0], booster.predict(X_test, raw_score=True), atol=1e-10)
    np.testing.assert_allclose(raw[:, 1], 1.5)


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="shapes disagree"):
        _make("logreg").fit(np.zeros((5, 2)), np.zeros((4, 3)), np.zeros((4, 3)))
