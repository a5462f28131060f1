"""k-fold splits: a partition of the tasks, seeded, grouped folds keep groups whole."""

from __future__ import annotations

import numpy as np
import pytest

from aco.evaluation.protocol import kfold_splits


def test_folds_partition_the_tasks() -> None:
    splits = kfold_splits(23, folds=5, seed=1)
    assert [s.fold for s in splits] == [0, 1, 2, 3, 4]
    tests = np.concatenate([s.test for s in splits])
    assert sorted(tests.tolist()) == list(range(23))  # every task tested exactly once
    for split in splits:
        assert not set(split.train) & set(split.test)
        assert sorted([*split.train, *split.test]) == list(range(23))
        assert len(split.test) in (4, 5)  # 23 = 3 x 5 + 2 x 4


def test_folds_are_seeded() -> None:
    first = [s.test.tolist() for s in kfold_splits(40, 4, seed=7)]
    again = [s.test.tolist() for s in kfold_splits(40, 4, seed=7)]
    other = [s.test.tolist() for s in kfold_splits(40, 4, seed=8)]
    assert first == again
    assert first != other


def test_grouped_folds_keep_groups_together() -> None:
    groups = np.array(["django"] * 10 + ["flask"] * 4 + ["numpy"] * 3 + ["astropy"] * 2 + ["sympy"] * 5)
    splits = kfold_splits(len(groups), folds=3, seed=0, groups=groups)
    tests = np.concatenate([s.test for s in splits])
    assert sorted(tests.tolist()) == list(range(len(groups)))
    for split in splits:
        assert not set(groups[split.test]) & set(groups[split.train])
    # balanced: the largest group (10) alone; the others fill the two remaining folds
    assert sorted(len(s.test) for s in splits) == [7, 7, 10]


def test_one_fold_is_the_whole_table() -> None:
    (split,) = kfold_splits(6, folds=1)
    assert split.train.tolist() == list(range(6)) == split.test.tolist()


@pytest.mark.parametrize(("n_tasks", "folds", "groups", "message"), [
    (0, 5, None, "at least one task"),
    (10, 0, None, "folds must be >= 1"),
    (3, 5, None, "cannot make 5 folds of 3 tasks"),
    (4, 3, np.array(["a", "a", "b", "b"]), "cannot make 3 grouped folds of 2 groups"),
])
def test_bad_protocols_raise(n_tasks: int, folds: int, groups: np.ndarray | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kfold_splits(n_tasks, folds, groups=groups)


def test_holdout_split_uses_the_split_column_or_a_fold() -> None:
    from aco.evaluation.protocol import holdout_split

    marks = np.array(["train", "test", "train", "test", "train"])
    by_column = holdout_split(marks, 5)
    assert by_column.test.tolist() == [1, 3] and by_column.train.tolist() == [0, 2, 4]
    fold = holdout_split(None, 20, "auto", seed=3)
    assert np.array_equal(fold.test, kfold_splits(20, 5, 3)[0].test)
    assert np.array_equal(holdout_split(marks, 20, "fold:2").test, kfold_splits(20, 5, 0)[2].test)
    with pytest.raises(ValueError, match="split column"):
        holdout_split(None, 5, "split")
    with pytest.raises(ValueError, match="unknown holdout"):
        holdout_split(marks, 5, "nope")
