"""Deploy-time post-hoc features of finished runs for the cascade's estimator (never a verdict).

`PosthocFeatures` standardises each numeric run signal (SWE-bench: `api_calls`, `cost_usd`) against the same
model's training runs: z-score of its log, the squared z (unusually short or long runs), a limit flag (at or
above the model's 99th percentile: a run that hit the agent's step or cost limit) and, with calls and cost, the
log cost per call (context growth). Across the runs of the chain so far it adds the mean z (every model found
the task long) and the change of z from the first run to the latest; and length/code statistics of the task text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from aco.datasets.table import TaskSet
from aco.features.text import TextStats

LIMIT_QUANTILE = 0.99


def numeric_signals(tasks: TaskSet) -> list[str]:
    """The observable per-run signals that are numbers (responses and other text are left out)."""
    return sorted(s for s, v in tasks.observable.items() if np.asarray(v).dtype.kind in "fiub")


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.asarray(np.sign(values) * np.log1p(np.abs(values)))


class PosthocFeatures:
    """Per-model standardised run signals, cross-run agreement and task-text statistics (fit on training tasks)."""

    def __init__(self, models: Sequence[int] = ()) -> None:
        self.models = models

    def fit(self, tasks: TaskSet) -> Self:
        """Store each (model, numeric signal)'s mean and std of the log and its limit level on these tasks."""
        self.signals_ = numeric_signals(tasks)
        self.stats_: dict[tuple[int, str], tuple[float, float, float]] = {}
        for model in self.models:
            for signal in self.signals_:
                raw = tasks.observe(signal, model).astype(float)
                logged = _signed_log(raw)
                self.stats_[(int(model), signal)] = (float(logged.mean()), float(logged.std()) + 1e-9,
                                                     float(np.quantile(raw, LIMIT_QUANTILE)))
        return self

    def to_state(self) -> dict[str, Any]:
        """The fitted statistics as JSON values (see `aco.artifacts`)."""
        return {"models": [int(m) for m in self.models], "signals": list(self.signals_),
                "stats": [[model, signal, *values] for (model, signal), values in self.stats_.items()]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PosthocFeatures:
        features = cls([int(m) for m in state["models"]])
        features.signals_ = [str(x) for x in state["signals"]]
        features.stats_ = {(int(row[0]), str(row[1])): (float(row[2]), float(row[3]), float(row[4]))
                           for row in state["stats"]}
        return features

    def _run_columns(self, tasks: TaskSet, model: int, pos: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for signal in self.signals_:
            mean_log, sd_log, limit = self.stats_[(int(model), signal)]
            raw = tasks.observe(signal, model).astype(float)
            z = (_signed_log(raw) - mean_log) / sd_log
            out.update({f"z_{signal}_{pos}": z, f"z_sq_{signal}_{pos}": z**2,
                        f"limit_{signal}_{pos}": (raw >= limit).astype(float)})
        if {"api_calls", "cost_usd"} <= set(self.signals_):
            calls, cost_usd = tasks.observe("api_calls", model), tasks.observe("cost_usd", model)
            out[f"log_cost_per_call_{pos}"] = _signed_log(cost_usd.astype(float)) - _signed_log(calls.astype(float))
        return out

    def transform(self, tasks: TaskSet, runs: Sequence[int]) -> pd.DataFrame:
        """Features of the runs `runs` (chain order) on every task."""
        columns: dict[str, np.ndarray] = {}
        for pos, model in enumerate(runs):
            columns.update(self._run_columns(tasks, model, pos))
        if len(runs) > 1:
            for signal in self.signals_:
                zs = [columns[f"z_{signal}_{p}"] for p in range(len(runs))]
                columns[f"z_{signal}_mean"] = np.mean(zs, axis=0)
                columns[f"z_{signal}_change"] = zs[-1] - zs[0]
        stats = TextStats()
        columns.update(dict(zip(stats.names(), stats.transform(tasks.tasks).T, strict=True)))
        return pd.DataFrame(columns, index=tasks.tasks.index)
