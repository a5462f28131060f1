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
