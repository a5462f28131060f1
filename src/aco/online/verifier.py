"""Verifiers: what the online loop learns from after each decision (pluggable, named in every figure).

- `BenchmarkVerifier`: the recorded benchmark score (hidden tests): evaluation only, never in deployment.
- `SignalVerifier`: a deploy-time signal observable after the run (e.g. SWE-bench `api_calls`), mapped to
  an estimated P(success) by a model fitted on labelled tasks that are not in the stream.
- `DelayedVerifier`: any verifier whose outcome is reported `delay` tasks later (the loop holds it back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from aco.datasets.table import OutcomeTable


@dataclass(frozen=True)
class Feedback:
    """What the loop learns: a score in [0, 1], success, the cost paid, which verifier, and its delay."""

    score: float
    success: bool
    cost_usd: float
    verifier: str
    delay: int = 0


class Verifier(Protocol):
    """Feedback for running model `model` on task `row` of the table it is bound to."""

    @property
    def name(self) -> str: ...

    def __call__(self, row: int, model: int) -> Feedback: ...


@dataclass(frozen=True)
class BenchmarkVerifier:
    """The recorded score (hidden-test verdict): for evaluation only."""

    table: OutcomeTable
    name: str = "benchmark"

    def __call__(self, row: int, model: int) -> Feedback:
        score = float(self.table.score[row, model])
        return Feedback(score=score, success=score >= self.table.success_threshold,
                        cost_usd=float(self.table.cost_usd[row, model]), verifier=self.name)


@dataclass(frozen=True)
class SignalVerifier:
    """A deploy-time estimate: P(success) from an observable per-run signal via logistic regression.

    The model maps log1p(signal) and the model identity to success. It is cross-fitted: task `row` is
    judged by the model of its fold, fitted only on the other folds' labelled tasks, so the stream never
    sees a verdict of its own tasks.
    """

    table: OutcomeTable
    signal: str
    coef: np.ndarray  # (folds, n_models + 1)
    intercept: np.ndarray  # (folds,)
    fold_of: np.ndarray  # (n_tasks,)

    @property
    def name(self) -> str:
        return "posthoc"

    @classmethod
    def cross_fit(cls, table: OutcomeTable, signal: str, folds: int = 5, seed: int = 0) -> SignalVerifier:
        from sklearn.linear_model import LogisticRegression

        design = cls._design(table, signal)
        coefs, intercepts = [], []
        fold_of = np.empty(table.n_tasks, dtype=int)
        fold_of[np.random.default_rng(seed).permutation(table.n_tasks)] = np.arange(table.n_tasks) % folds
        for fold in range(folds):
            train = fold_of != fold
            x = design[train].reshape(-1, table.n_models + 1)
            model = LogisticRegression(max_iter=1000).fit(x, table.success[train].ravel())
            coefs.append(model.coef_[0])
            intercepts.append(float(model.intercept_[0]))
        return cls(table=table, signal=signal, coef=np.array(coefs), intercept=np.array(intercepts),
                   fold_of=fold_of)

    @staticmethod
    def _design(table: OutcomeTable, signal: str) -> np.ndarray:
        """(n, m, m + 1): log1p(signal) and the one-hot model for every cell."""
        if signal not in table.observable_signals:
            raise KeyError(f"signal {signal!r} is not observable in {table.name}; have {table.observable_signals}")
        values = np.log1p(np.asarray(table.task_set().observable[signal], dtype=float))
        n, m = values.shape
        onehot = np.broadcast_to(np.eye(m), (n, m, m))
        return np.concatenate([values[:, :, None], onehot], axis=2)

    def __call__(self, row: int, model: int) -> Feedback:
        value = np.log1p(float(self.table.task_set().observable[self.signal][row, model]))
        fold = self.fold_of[row]
        z = self.coef[fold, 0] * value + self.coef[fold, 1 + model] + self.intercept[fold]
        p = float(1.0 / (1.0 + np.exp(-z)))
        return Feedback(score=p, success=p >= 0.5, cost_usd=float(self.table.cost_usd[row, model]),
                        verifier=self.name)


@dataclass(frozen=True)
class DelayedVerifier:
    """Wraps a verifier: its feedback arrives `delay` tasks after the decision."""

    inner: Verifier
    delay: int

    @property
    def name(self) -> str:
        return self.inner.name

    def __call__(self, row: int, model: int) -> Feedback:
        fb = self.inner(row, model)
        return Feedback(score=fb.score, success=fb.success, cost_usd=fb.cost_usd, verifier=fb.verifier,
                        delay=self.delay)
