"""The evaluation protocol: which tasks a router trains on and which it is judged on.

k-fold cross-validation over tasks (fixed seed), optionally grouped (all tasks of a group, e.g. one
repository, in the same fold), and transfer (train on one table, test on another). `folds=1` means no
cross-validation: the router fits on the whole table and is judged on the same tasks (in-sample; use it for
fixed baselines and for figures quoted on the whole table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """One fold: positions of the training tasks and of the test tasks."""

    fold: int
    train: np.ndarray
    test: np.ndarray


def kfold_splits(n_tasks: int, folds: int = 5, seed: int = 0, groups: np.ndarray | None = None) -> list[Split]:
    """Seeded k-fold splits over task positions; with `groups`, whole groups go to one fold."""
    if n_tasks <= 0:
        raise ValueError("need at least one task")
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    everything = np.arange(n_tasks)
    if folds == 1:
        return [Split(0, everything, everything)]
    rng = np.random.default_rng(seed)
    if groups is None:
        if folds > n_tasks:
            raise ValueError(f"cannot make {folds} folds of {n_tasks} tasks")
        fold_of = np.empty(n_tasks, dtype=int)
        fold_of[rng.permutation(n_tasks)] = np.arange(n_tasks) % folds
    else:
        labels, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
        if folds > len(labels):
            raise ValueError(f"cannot make {folds} grouped folds of {len(labels)} groups")
        # Largest groups first, each to the currently smallest fold (balanced sizes), ties broken by seed.
        sizes = np.bincount(inverse)
        order = np.lexsort((rng.permutation(len(labels)), -sizes))
        load = np.zeros(folds, dtype=int)
        group_fold = np.empty(len(labels), dtype=int)
        for g in order:
            target = int(np.argmin(load))
            group_fold[g] = target
            load[target] += sizes[g]
        fold_of = group_fold[inverse]
    return [Split(k, np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)) for k in range(folds)]


HOLDOUTS = ("auto", "split", "fold")


def holdout_split(split_column: np.ndarray | None, n_tasks: int, spec: str = "auto", seed: int = 0) -> Split:
    """One train/test split for training an artifact and checking it live on the held-out tasks.

    `split`: the table's own split column (test = rows marked "test", train = the rest); `fold:K` (or `fold`):
    fold K (default 0) of the protocol's 5-fold split with `seed`; `auto`: `split` where the table has test rows,
    else `fold:0`.
    """
    name, _, arg = spec.partition(":")
    marks = None if split_column is None else np.asarray(split_column).astype(str)
    if name == "auto":
        name = "split" if marks is not None and (marks == "test").any() and (marks != "test").any() else "fold"
    if name == "split":
        if marks is None or not (marks == "test").any() or not (marks != "test").any():
            raise ValueError("holdout 'split' needs a split column with test rows and other rows")
        return Split(0, np.flatnonzero(marks != "test"), np.flatnonzero(marks == "test"))
    if name == "fold":
        fold = int(arg) if arg else 0
        splits = kfold_splits(n_tasks, 5, seed)
        if not 0 <= fold < len(splits):
            raise ValueError(f"holdout fold {fold} is not one of 0..{len(splits) - 1}")
        return splits[fold]
    raise ValueError(f"unknown holdout {spec!r}: use auto, split or fold:K")
