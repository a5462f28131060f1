from __future__ import annotations

import numpy as np

from aco.controllers.stop import should_stop, stop_savings


def test_stop_when_expected_value_is_below_cost() -> None:
    stop = should_stop(np.array([0.1, 0.5, 0.9]), value_usd=1.0, remaining_cost_usd=0.3)
    np.testing.assert_array_equal(stop, [True, False, False])


def test_savings_count_cut_failures_and_lost_successes() -> None:
    stopped = np.array([True, True, False, False])
    success = np.array([False, True, False, True])
    s = stop_savings(stopped, success, np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 3.0, 4.0, 5.0]), 1.0)
    assert (s.n_stopped, s.failed_runs, s.failed_cut, s.successes_lost) == (2, 2, 1, 1)
    assert s.saved_usd == 3.0 and s.total_usd == 14.0
