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
