"""Cascades: run a cheap model first and escalate along a chain when a post-hoc estimator doubts the result.

The post-hoc estimator at chain position j reads only what is observable once runs 0..j have finished:
numeric run signals (e.g. SWE-bench `api_calls`, `cost_usd`), response signals (length, refusal and format
flags, agreement with the earlier models' answers) and the task text. Never the hidden verdict. A cascade
pays for every model it ran. `perfect-verifier` is the evaluation-only upper bound of the same chain.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from aco.datasets.table import OutcomeTable, TaskSet
from aco.errors import AcoError
from aco.evaluation.protocol import kfold_splits
from aco.routers.base import Router, Routing
from aco.routers.registry import register
from aco.trajectories.value_head import ValueHead, select_head

CHAIN_SEPARATOR = ">"
_REFUSAL = re.compile(r"I'm sorry|I am sorry|I cannot|I can't|as an AI|unable to", re.I)
_ANSWER = re.compile(r"(?:answer\s*(?:is)?\s*[:\-]?\s*\(?)([A-E1-5])\b|^\s*\(?([A-E1-5])[).:\s]", re.I | re.M)


def _answer(text: str) -> str:
    match = _ANSWER.search(text)
    if match:
        return (match.group(1) or match.group(2)).upper()
    return " ".join(text.lower().split())[:200]


def _response_features(responses: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Features of the latest response plus its agreement with each earlier one in the chain."""
    latest = [str(r) for r in responses[-1]]
    out = {
        "resp_chars": np.array([len(r) for r in latest], dtype=float),
        "resp_refusal": np.array([bool(_REFUSAL.search(r)) for r in latest], dtype=float),
        "resp_code": np.array([("```" in r) or ("def " in r) for r in latest], dtype=float),
        "resp_empty": np.array([not r.strip() for r in latest], dtype=float),
    }
    answers = [_answer(r) for r in latest]
    for pos, earlier in enumerate(responses[:-1]):
        out[f"agree_{pos}"] = np.array([a == _answer(str(e)) for a, e in zip(answers, earlier, strict=True)],
                                       dtype=float)
    return out


def observed_features(tasks: TaskSet, runs: Sequence[int]) -> pd.DataFrame:
    """What is observable once the models `runs` (in chain order) have run: their signals and the task text."""
    columns: dict[str, np.ndarray] = {}
    responses = []
    for pos, model in enumerate(runs):
        for signal in sorted(tasks.observable):
            values = tasks.observe(signal, model)
            if values.dtype.kind in "fiub":
                columns[f"{signal}_{pos}"] = values.astype(float)
            else:
                responses.append(values)
        if responses and len(responses) == pos + 1:
            columns.update({f"{k}_{pos}": v for k, v in _response_features(responses).items()})
    frame = pd.DataFrame(columns, index=tasks.tasks.index)
    frame["text"] = tasks.tasks["text"].to_numpy()
    frame["category"] = tasks.tasks["category"].to_numpy()
    return frame


def perfect_verifier_outcome(success: np.ndarray, cost_usd: np.ndarray, chain: Sequence[int],
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(final position, success, cost) per task when each result's verdict is known exactly."""
    ok = success[:, list(chain)]
    first_ok = np.where(ok.any(axis=1), ok.argmax(axis=1), len(chain) - 1)
    reached = np.arange(len(chain))[None, :] <= first_ok[:, None]
    cost = (cost_usd[:, list(chain)] * reached).sum(axis=1)
    return first_ok, ok[np.arange(len(ok)), first_ok], cost


def learn_chain(table: OutcomeTable, max_length: int, cost_weight: float) -> tuple[int, ...]:
    """Chain (increasing mean cost) maximising perfect-verifier success - cost_weight x cost per task on `table`."""
    mean_cost = table.cost_usd.mean(axis=0)
    order = [int(i) for i in np.argsort(mean_cost, kind="stable")]
    best: tuple[float, tuple[int, ...]] = (-np.inf, (order[-1],))
    for length in range(2, max_length + 1):
        for chain in itertools.combinations(order, length):
            _, ok, cost = perfect_verifier_outcome(table.success, table.cost_usd, chain)
            value = float(ok.mean() - cost_weight * cost.mean())
            if value > best[0] + 1e-12:
                best = (value, chain)
    return best[1]


def parse_chain(chain: str, names: Sequence[str]) -> tuple[int, ...]:
    """Model positions of a `A>B>C` chain; an AcoError names an unknown model."""
    out = []
    for name in (part.strip() for part in chain.split(CHAIN_SEPARATOR)):
        if name not in names:
            raise AcoError(f"cascade chain: unknown model {name!r}; candidates: {', '.join(names)}")
        out.append(list(names).index(name))
    if len(out) < 2:
        raise AcoError(f"cascade chain {chain!r} needs at least two models separated by {CHAIN_SEPARATOR!r}")
    return tuple(out)


class _ChainRouter(Router):
    """Shared parameters and chain learning of the cascade routers."""

    spec_arg: ClassVar[str] = "chain"

    def __init__(self, chain: str = "", threshold: float = 0.5, max_length: int = 3, cost_weight: float = 0.1,
                 use_text: bool = True, seed: int = 0) -> None:
        self.chain = chain
        self.threshold = threshold
        self.max_length = max_length
        self.cost_weight = cost_weight
        self.use_text = use_text
        self.seed = seed

    def _fit_chain(self, table: OutcomeTable) -> None:
        if table.n_models < 2:
            raise AcoError(f"a cascade needs at least two models; {table.name} has {table.n_models}")
        self.chain_ = (parse_chain(self.chain, table.model_names) if self.chain
                       else learn_chain(table, self.max_length, self.cost_weight))

    def _routing(self, final_pos: np.ndarray, p_by_pos: dict[int, np.ndarray], n_models: int, why: str) -> Routing:
        chain = np.asarray(self.chain_)
        n = len(final_pos)
        attempts = np.zeros((n, n_models), dtype=bool)
        p_success = np.full((n, n_models), np.nan)
        for pos, model in enumerate(self.chain_):
            ran = final_pos >= pos
            attempts[:, model] |= ran
            if pos in p_by_pos:
                p_success[ran, model] = p_by_pos[pos][ran]
        reasons = [f"{why}: stopped at step {int(k) + 1} of {len(chain)}" for k in final_pos]
        return Routing(model_idx=chain[final_pos], attempts=attempts, p_success=p_success, reasons=reasons)


def cascade_outcome(p_by_pos: Sequence[np.ndarray], chain: Sequence[int], threshold: float) -> np.ndarray:
    """Final chain position per task: the first position whose P(success) >= threshold, else the last."""
    final = np.full(len(p_by_pos[0]) if p_by_pos else 0, len(chain) - 1)
    open_ = np.ones(len(final), dtype=bool)
    for pos, p in enumerate(p_by_pos):
        accept = open_ & (p >= threshold)
        final[accept] = pos
        open_ &= ~accept
    return final


def chain_value(final: np.ndarray, success: np.ndarray, cost_usd: np.ndarray, chain: Sequence[int],
                ) -> tuple[np.ndarray, np.ndarray]:
    """(success, cost paying every attempt) per task when task i stops at chain position final[i]."""
    cols = np.asarray(chain)
    ok = success[np.arange(len(final)), cols[final]]
    reached = np.arange(len(chain))[None, :] <= final[:, None]
    return ok, (cost_usd[:, cols] * reached).sum(axis=1)


@register
class CascadeRouter(_ChainRouter):
    """Cheap model first; escalate while the post-hoc P(success) of the latest result is below the threshold.

    Each chain position's estimator is chosen between logistic (log numbers + task text) and LightGBM (run
    signals) by inner CV on the training tasks. With `threshold=None` (default) the operating threshold is
    chosen by 3-fold CV inside the training tasks (always learned in fit, so the knob stays routing-time):
    the grid value maximising success - cost_weight x cost per task, or, with `budget_usd_per_task`, the
    highest success whose cost per task stays within the budget (the cheapest when none does).
    """

    name = "cascade"
    knob = "threshold"
    knob_grid = (0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)

    def __init__(self, chain: str = "", threshold: float | None = None, max_length: int = 3,
                 cost_weight: float = 0.1, use_text: bool = True, budget_usd_per_task: float | None = None,
                 seed: int = 0) -> None:
        super().__init__(chain=chain, threshold=0.5, max_length=max_length, cost_weight=cost_weight,
                         use_text=use_text, seed=seed)
        self.threshold: float | None = threshold  # type: ignore[assignment]
        self.budget_usd_per_task = budget_usd_per_task

    def _heads(self, table: OutcomeTable) -> list[ValueHead]:
        tasks = table.task_set()
        heads = []
        for pos in range(len(self.chain_) - 1):
            frame = observed_features(tasks, self.chain_[: pos + 1])
            numeric = [c for c in frame.columns if c not in ("text", "category")]
            candidates = [ValueHead(numeric=numeric, categorical=("category",), use_text=self.use_text,
                                    seed=self.seed, label="logistic"),
                          ValueHead(numeric=numeric, kind="lightgbm", seed=self.seed, label="lightgbm")]
            head, _ = select_head(candidates, frame, table.success[:, self.chain_[pos]], seed=self.seed)
            heads.append(head)
        return heads

    def _predict(self, heads: Sequence[ValueHead], tasks: TaskSet) -> list[np.ndarray]:
        return [head.predict(observed_features(tasks, self.chain_[: pos + 1])) for pos, head in enumerate(heads)]

    def _choose_threshold(self, table: OutcomeTable, folds: int = 3) -> float:
        p_by_pos: list[np.ndarray] = [np.full(table.n_tasks, np.nan) for _ in range(len(self.chain_) - 1)]
        for split in kfold_splits(table.n_tasks, folds, self.seed):
            heads = self._heads(table.subset(split.train))
            for pos, p in enumerate(self._predict(heads, table.subset(split.test).task_set())):
                p_by_pos[pos][split.test] = p
        best: tuple[float, float] = (-np.inf, 0.5)
        for threshold in self.knob_grid:
            ok, cost = chain_value(cascade_outcome(p_by_pos, self.chain_, threshold), table.success,
                                   table.cost_usd, self.chain_)
            if self.budget_usd_per_task is None:
                value = float(ok.mean() - self.cost_weight * cost.mean())
            else:
                over = cost.mean() > self.budget_usd_per_task  # nothing fits: the cheapest threshold
                value = float(-1e6 - cost.mean()) if over else float(ok.mean())
            if value > best[0] + 1e-12:
                best = (value, threshold)
        return best[1]

    def _fit(self, table: OutcomeTable) -> None:
        self._fit_chain(table)
        if not table.observable_signals:
            raise AcoError(f"cascade needs observable run signals (e.g. api_calls, response); {table.name} has none")
        self.heads_ = self._heads(table)
        enough = min(int(np.bincount(table.success[:, m].astype(int), minlength=2).min()) for m in self.chain_)
        self.threshold_ = self._choose_threshold(table) if enough >= 6 else 0.5  # used when threshold is None

    def route(self, tasks: TaskSet) -> Routing:
        self.check_fitted(tasks)
        threshold = self.threshold_ if self.threshold is None else self.threshold
        p_by_pos = self._predict(self.heads_, tasks)
        final = cascade_outcome(p_by_pos, self.chain_, threshold)
        return self._routing(final, dict(enumerate(p_by_pos)), len(tasks.models),
                             f"cascade (threshold {threshold:g})")


@register
class PerfectVerifierRouter(_ChainRouter):
    """Evaluation only: the same chain with an exact verifier (escalate exactly when the result failed)."""

    name = "perfect-verifier"
    uses_outcomes = True

    def _fit(self, table: OutcomeTable) -> None:
        self._fit_chain(table)

    def route(self, tasks: TaskSet) -> Routing:
        raise TypeError("the perfect verifier reads recorded outcomes: use route_table(table)")

    def route_table(self, table: OutcomeTable) -> Routing:
        self.check_fitted(table)
        final, _, _ = perfect_verifier_outcome(table.success, table.cost_usd, self.chain_)
        return self._routing(final, {}, table.n_models, "perfect verifier")
