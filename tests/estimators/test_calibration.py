"""Calibration on data with KNOWN probabilities: the maps must recover them."""

from __future__ import annotations

import numpy as np
import pytest

from aco.estimators.calibration import CalibrationMap, beta_smooth, cross_fit, fit_calibration, logit, sigmoid
from aco.evaluation.metrics import ece


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p_true = rng.uniform(0.02, 0.98, n)
    y = (rng.random(n) < p_true).astype(float)
    raw = sigmoid(3.0 * logit(p_true) + 1.0)  # overconfident and shifted, but monotone
    return p_true, raw, y


@pytest.mark.parametrize("kind", ["isotonic", "sigmoid"])
def test_calibration_recovers_known_probabilities(kind: str) -> None:
    _, raw, y = _miscalibrated(20000, seed=0)
    calibrator = fit_calibration(kind, raw, y)
    p_test, raw_test, y_test = _miscalibrated(20000, seed=1)
    calibrated = calibrator(raw_test)
    assert ece(raw_test, y_test) > 0.08  # the raw scores are badly calibrated ...
    assert ece(calibrated, y_test) < 0.02  # ... the calibrated ones are not
    assert np.abs(calibrated - p_test).mean() < 0.03


def test_sigmoid_recovers_the_platt_parameters() -> None:
    _, raw, y = _miscalibrated(50000, seed=2)
    calibrator = fit_calibration("sigmoid", raw, y)
    # raw = sigmoid(3 logit(p) + 1)  =>  logit(p) = (logit(raw) - 1) / 3
    np.testing.assert_allclose(calibrator.x, [1 / 3, -1 / 3], atol=0.03)


def test_calibration_map_json_round_trip_and_bad_kind() -> None:
    _, raw, y = _miscalibrated(500, seed=3)
    calibrator = fit_calibration("isotonic", raw, y)
    restored = CalibrationMap.from_json(calibrator.to_json())
    np.testing.assert_allclose(restored(raw), calibrator(raw), atol=1e-5)
    with pytest.raises(ValueError, match="unknown calibration"):
        fit_calibration("magic", raw, y)


def test_beta_smoothing_shrinks_towards_the_prior() -> None:
    out = beta_smooth(np.array([0.0, 10.0, 1.0]), np.array([0.0, 10.0, 1.0]), 0.5, prior_strength=2.0)
    np.testing.assert_allclose(out, [0.5, 11 / 12, 2 / 3])


def test_cross_fit_predicts_every_row_out_of_fold() -> None:
    seen: list[set[int]] = []

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        assert not set(train) & set(test)
        seen.append(set(test.tolist()))
        return np.full((len(test), 1), float(len(train)))

    out = cross_fit(fit_predict, 10, 3, seed=0)
    assert set().union(*seen) == set(range(10)) and out.shape == (10, 1)
