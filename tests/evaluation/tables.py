"""Tiny hand-made outcome tables shared by the evaluation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aco.datasets.table import OutcomeTable, TaskSet
from aco.records import ModelSpec
from aco.routers.base import Router, Routing


def two_model_table(name: str = "tiny", prefix: str = "t") -> OutcomeTable:
    """4 tasks x (cheap $1/task, strong $4/task).

    cheap solves tasks 0 and 3 (0.5), strong tasks 0, 1 and 2 (0.75).
    """
    score = np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    cost = np.tile([1.0, 4.0], (4, 1))
    tasks = pd.DataFrame({"category": ["x", "y", "y", "x"]}, index=[f"{prefix}{i}" for i in range(4)])
    models = (ModelSpec("cheap", tier=1), ModelSpec("strong", tier=2))
    return OutcomeTable(name=name, tasks=tasks, models=models, score=score, cost_usd=cost)


def ramp_table(n_tasks: int = 30) -> OutcomeTable:
    """n tasks x 3 models with a seeded random score pattern (for fold bookkeeping tests)."""
    rng = np.random.default_rng(0)
    score = (rng.random((n_tasks, 3)) < [0.3, 0.6, 0.8]).astype(float)
    cost = np.tile([0.1, 1.0, 5.0], (n_tasks, 1))
    tasks = pd.DataFrame({"category": rng.choice(["a", "b", "c"], n_tasks)},
                         index=[f"r{i}" for i in range(n_tasks)])
    models = (ModelSpec("s", tier=1), ModelSpec("m", tier=2), ModelSpec("l", tier=3))
    return OutcomeTable(name="ramp", tasks=tasks, models=models, score=score, cost_usd=cost)


class CascadeRouter(Router):
    """Runs every model in order on each task and keeps the last one (pays for all of them)."""

    name = "test-cascade"

    def route(self, tasks: TaskSet) -> Routing:
        n, m = tasks.n_tasks, len(tasks.models)
        return Routing(model_idx=np.full(n, m - 1), attempts=np.ones((n, m), dtype=bool))


GROUP_P = {"a": (0.3, 0.7, 0.95), "b": (0.3, 0.7, 0.95), "c": (0.3, 0.7, 0.9), "d": (0.9, 0.7, 0.1)}


def grouped_table(n_per_group: int = 120, seed: int = 0, column: str = "category") -> OutcomeTable:
    """4 groups x 3 models (cheap $0.001, robust $0.01, spiky $0.02 per task), 0/1 outcomes drawn from GROUP_P.

    spiky is best in groups a-c and fails in d, where the cheap model is best: held out, d is a new distribution
    on which the training data's best single model (spiky) is the worst choice.
    """
    rng = np.random.default_rng(seed)
    groups = np.repeat(list(GROUP_P), n_per_group)
    p = np.array([GROUP_P[g] for g in groups])
    score = (rng.random(p.shape) < p).astype(float)
    cost = np.tile([0.001, 0.01, 0.02], (len(groups), 1))
    tasks = pd.DataFrame({column: groups, "text": [f"task about {g}" for g in groups]},
                         index=[f"{g}{i}" for i, g in enumerate(groups)])
    models = (ModelSpec("cheap", tier=1), ModelSpec("robust", tier=2), ModelSpec("spiky", tier=3))
    return OutcomeTable(name="grouped", tasks=tasks, models=models, score=score, cost_usd=cost)
