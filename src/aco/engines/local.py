"""The local engine: today's sequential `run_bench`, in this process."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aco.datasets.table import OutcomeTable
from aco.engines.base import StepCallback
from aco.evaluation.bench import BenchResult, run_bench
from aco.evaluation.protocol import Split
from aco.policies.objective import Objective


class LocalEngine:
    """Runs the grid sequentially in this process (exactly `aco.evaluation.bench.run_bench`)."""

    name = "local"

    def run_bench(self, table: OutcomeTable, specs: Sequence[str], *, folds: int = 5, seed: int = 0,
                  groups: np.ndarray | None = None, splits: Sequence[Split] | None = None,
                  test_table: OutcomeTable | None = None, on_step: StepCallback | None = None,
                  objective: Objective | None = None) -> BenchResult:
        """Replay every spec on the same splits and summarise."""
        return run_bench(table, specs, folds=folds, seed=seed, groups=groups, splits=splits,
                         test_table=test_table, on_step=on_step, objective=objective)
