"""Tie-breaking in every rule: the higher P(success), then the lower cost, then the name."""

from __future__ import annotations

import numpy as np
import pytest

from aco.policies.rules import (
    best_index,
    cheapest_index,
    cheapest_of,
    most_likely,
    preference,
    reaches,
    threshold,
    utility,
)

NAMES = ["zeta", "alpha", "mid"]


def test_threshold_breaks_a_cost_tie_by_p_success_not_by_column_order() -> None:
    # the case: same cost, P = 0.08 (first column) vs 0.52; both clear t = 0.05
    p = np.array([[0.08, 0.52, 0.9]])
    cost = np.array([0.001, 0.001, 0.01])
    assert threshold(p, cost, 0.05, names=NAMES).tolist() == [1]
    assert threshold(p[:, ::-1], cost[::-1], 0.05, names=NAMES[::-1]).tolist() == [1]


def test_equal_p_and_cost_go_to_the_name_first_in_alphabetical_order() -> None:
    p = np.array([[0.7, 0.7, 0.2]])
    cost = np.array([0.5, 0.5, 0.1])
    assert threshold(p, cost, 0.6, names=NAMES).tolist() == [1]  # alpha before zeta
    assert most_likely(p, cost, names=NAMES).tolist() == [1]
    assert utility(p, cost, 0.0, names=NAMES).tolist() == [1]
    assert threshold(p, cost, 0.6).tolist() == [0]  # without names: the column position


def test_most_likely_and_utility_ties_go_to_the_cheaper_then_the_name() -> None:
    p = np.array([[0.7, 0.7, 0.7]])
    cost = np.array([0.3, 0.2, 0.2])
    assert most_likely(p, cost, names=NAMES).tolist() == [1]
    # utility ties on value: 0.9 - 1 x 0.5 = 0.4 = 0.6 - 1 x 0.2: the higher P wins
    assert utility(np.array([[0.9, 0.6, 0.1]]), np.array([0.5, 0.2, 0.0]), 1.0, names=NAMES).tolist() == [0]


def test_preference_ranks_by_p_then_cost_then_name() -> None:
    rank = preference(np.array([[0.5, 0.5, 0.9]]), np.array([0.2, 0.1, 0.3]), NAMES)
    assert rank.tolist() == [[2, 1, 0]]


def test_cheapest_of_and_reaches() -> None:
    p = np.array([[0.9, 0.95, 0.99], [0.2, 0.3, 0.4]])
    idx, found = cheapest_of(p >= 0.9, p, np.array([0.3, 0.1, 0.1]), NAMES)
    assert idx.tolist()[0] == 2 and found.tolist() == [True, False]  # 0.1 tie: P 0.99 beats 0.95
    assert reaches(p, 0.9).tolist() == [True, False]


def test_best_and_cheapest_index_break_ties_by_name() -> None:
    assert best_index(np.array([0.5, 0.5, 0.4]), np.array([1.0, 1.0, 0.1]), NAMES) == 1
    assert cheapest_index(np.array([0.1, 0.1, 0.2]), np.array([0.3, 0.3, 0.9]), NAMES) == 1
    assert cheapest_index(np.array([0.1, 0.1, 0.2]), np.array([0.3, 0.4, 0.9]), NAMES) == 1  # higher score
    with pytest.raises(ValueError, match="names"):
        preference(np.zeros((1, 3)), np.zeros(3), ["a"])
