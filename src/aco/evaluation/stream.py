"""Streaming replay: tasks one at a time in a fixed order; online routers decide, then learn.

Orders: the dataset's own (`dataset`) and seeded shuffles (`shuffle`). Online routers start from an empty
Memory (optionally with an offline prior trained on other folds) and learn from a verifier's feedback
after each task. Offline routers (and published peers) are replayed under the usual k-fold protocol and
their per-task regrets are laid out in the same order, so all cumulative-regret curves compare.
Regret is always computed from the recorded outcomes (reward = score - cost_usd / value_usd, the objective of
`aco.policies.objective`), whatever the loop learned from.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aco.datasets.table import OutcomeTable
from aco.evaluation import metrics
from aco.evaluation.protocol import kfold_splits
from aco.evaluation.replay import RouterRun, replay
from aco.online.memory import Memory
from aco.online.orchestrator import OnlineDecision, category_counts, task_features
from aco.online.verifier import BenchmarkVerifier, Feedback, Verifier
from aco.policies.objective import Objective
from aco.routers.base import objective_for
from aco.routers.online import OnlineRouter
from aco.routers.registry import build_router, router_label

ORDERS = ("dataset", "shuffle")


def stream_order(n_tasks: int, order: str = "dataset", seed: int = 0) -> np.ndarray:
    """Task positions in stream order: the table's own, or a seeded permutation."""
    if order == "dataset":
        return np.arange(n_tasks)
    if order == "shuffle":
        return np.random.default_rng(seed).permutation(n_tasks)
    raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")


@dataclass(frozen=True)
class StreamRun:
    """One router on one stream: per-step choices and outcomes, in stream order."""

    label: str
    kind: str  # "online" or "offline"
    order: np.ndarray
    model_idx: np.ndarray
    score: np.ndarray
    cost_usd: np.ndarray
    regret: np.ndarray
    propensity: np.ndarray | None = None
    verifier: str = ""

    @property
    def cumulative_regret(self) -> np.ndarray:
        return np.cumsum(self.regret)

    def summary(self) -> dict[str, Any]:
        return {
            "router": self.label, "kind": self.kind, "verifier": self.verifier,
            "avg_perf": 100.0 * float(self.score.mean()), "success": float(self.score.mean()),
            "cost_usd": float(self.cost_usd.sum()), "regret": float(self.regret.sum()),
        }


def _regret(table: OutcomeTable, rows: np.ndarray, score: np.ndarray, cost_usd: np.ndarray,
            objective: Objective) -> np.ndarray:
    return metrics.regret_per_task(score, cost_usd, table.score[rows], table.cost_usd[rows], objective.cost_weight)


def offline_stream(run: RouterRun, table: OutcomeTable, order: np.ndarray,
                   objective: Objective | None = None) -> StreamRun:
    """A replayed (k-fold) router's per-task results laid out in stream order (regret: `objective`, default the
    table's)."""
    objective = objective or Objective.of_table(table)
    score, cost = run.decisions.score(table)[order], run.decisions.cost_usd(table)[order]
    return StreamRun(label=run.label, kind="offline", order=order, model_idx=run.decisions.model_idx[order],
                     score=score, cost_usd=cost, regret=_regret(table, order, score, cost, objective))


@dataclass(frozen=True)
class PriorEvidence:
    """An offline prior for a stream, per task: P(success) (n, m), the number of training tasks of the task's
    category behind it (n,) and the training mean cost per model (n, m), all from the folds that held it out."""

    p_success: np.ndarray
    n_train: np.ndarray
    cost_usd: np.ndarray


def online_stream(router: OnlineRouter, table: OutcomeTable, order: np.ndarray, *,
                  verifier: Verifier | None = None, memory: Memory | None = None, label: str | None = None,
                  prior: PriorEvidence | None = None, objective: Objective | None = None) -> StreamRun:
    """Feed tasks one at a time: decide, get feedback (maybe delayed), learn; Memory starts as given and
    `prior` is the offline prior the loop starts from. Reward and regret: `objective` (default: the router's
    value_usd, else the table's default)."""
    judge: Verifier = verifier if verifier is not None else BenchmarkVerifier(table)
    objective = objective or objective_for(router.value_usd, table)
    orch = router.make_orchestrator(table.model_names, memory, objective)
    features = task_features(table.tasks, router.n_features)
    categories = table.tasks["category"].astype(str).to_numpy()
    task_ids = table.task_ids
    chosen, propensity = np.zeros(len(order), dtype=int), np.ones(len(order))
    pending: deque[tuple[int, OnlineDecision, Feedback]] = deque()
    for step, row in enumerate(order.tolist()):
        while pending and pending[0][0] <= step:
            _, old, fb = pending.popleft()
            orch.learn(old, fb)
        dec = orch.decide(task_ids[row], str(categories[row]), features[row], **_prior_at(prior, row))
        chosen[step], propensity[step] = dec.choice.arm, dec.choice.propensity
        fb = judge(row, dec.choice.arm)
        if fb.delay > 0:
            pending.append((step + fb.delay, dec, fb))
        else:
            orch.learn(dec, fb)
    score, cost = table.score[order, chosen], table.cost_usd[order, chosen]
    return StreamRun(label=label or router_label(router), kind="online", order=order, model_idx=chosen,
                     score=score, cost_usd=cost, regret=_regret(table, order, score, cost, objective),
                     propensity=propensity, verifier=judge.name)


def _prior_at(prior: PriorEvidence | None, row: int) -> dict[str, Any]:
    """The prior's keyword arguments of `Orchestrator.decide` for one task."""
    if prior is None:
        return {}
    return {"prior_p": prior.p_success[row], "prior_cost_usd": prior.cost_usd[row],
            "prior_n": float(prior.n_train[row])}


def crossing(curve: np.ndarray, reference: np.ndarray) -> int | None:
    """First step from which `curve` stays strictly below `reference` to the end (None if it never does)."""
    below = np.asarray(curve) < np.asarray(reference)
    if not below[-1]:
        return None
    above = np.flatnonzero(~below)
    return int(above[-1] + 1) if len(above) else 0


@dataclass
class StreamResult:
    """Every router on one stream order."""

    dataset: str
    order_name: str
    seed: int
    runs: list[StreamRun] = field(default_factory=list)

    def rows(self, reference: str | None = None) -> list[dict[str, Any]]:
        """One summary per router; with `reference`, where each online curve crosses below it."""
        ref = next((r for r in self.runs if r.label == reference), None)
        out = []
        for run in self.runs:
            row = run.summary()
            if ref is not None and run.kind == "online":
                row["crosses_" + ref.label] = crossing(run.cumulative_regret, ref.cumulative_regret)
            out.append(row)
        return out


def oof_prior(table: OutcomeTable, spec: str, folds: int, seed: int,
              objective: Objective | None = None) -> np.ndarray | None:
    """Out-of-fold P(success) of an offline router (each task scored by the folds that held it out)."""
    router = build_router(spec, objective or Objective.of_table(table))
    run = replay(router, table, kfold_splits(table.n_tasks, folds, seed), sweep=False)
    return run.p_success


def oof_prior_evidence(table: OutcomeTable, spec: str, folds: int, seed: int,
                       objective: Objective | None = None) -> PriorEvidence | None:
    """`oof_prior` with, per task, the training tasks of its category and the training mean cost per model.

    Both come from the same training folds as the P(success) (labels and costs of training tasks only).
    """
    p = oof_prior(table, spec, folds, seed, objective)
    if p is None:
        return None
    categories = table.tasks["category"].astype(str).to_numpy()
    n_train, cost = np.zeros(table.n_tasks), np.zeros((table.n_tasks, table.n_models))
    for split in kfold_splits(table.n_tasks, folds, seed):
        lookup = category_counts(categories[split.train])
        n_train[split.test] = [lookup.get(c, 0.0) for c in categories[split.test]]
        cost[split.test] = table.cost_usd[split.train].mean(axis=0)
    return PriorEvidence(p, n_train, cost)


def run_stream(table: OutcomeTable, online_specs: Sequence[str], offline_specs: Sequence[str], *,
               order: str = "dataset", seed: int = 0, folds: int = 5,
               verifier_factory: Callable[[OutcomeTable], Verifier] | None = None,
               objective: Objective | None = None) -> StreamResult:
    """Online routers streamed from an empty Memory and offline routers (k-fold) on one order; every router
    tunes, and every regret is counted, with `objective` (default: the table's)."""
    objective = objective or Objective.of_table(table)
    positions = stream_order(table.n_tasks, order, seed)
    result = StreamResult(dataset=table.name, order_name=order, seed=seed)
    splits = kfold_splits(table.n_tasks, folds, seed)
    for spec in offline_specs:
        router = build_router(spec, objective)
        run = replay(router, table, splits, label=router_label(router), sweep=False)
        result.runs.append(offline_stream(run, table, positions, objective))
    for spec in online_specs:
        router = build_router(spec, objective, seed=seed)
        if not isinstance(router, OnlineRouter):
            raise ValueError(f"{spec!r} is not an online router (thompson, orchestrator, linucb)")
        prior = oof_prior_evidence(table, router.prior, folds, seed, objective) if router.prior else None
        verifier = verifier_factory(table) if verifier_factory else None
        result.runs.append(online_stream(router, table, positions, verifier=verifier, prior=prior,
                                         label=router_label(router), objective=objective))
    return result
