"""The unit of distributed work, one (router spec, fold) replay, and how fold results merge into a run.

`run_fold` replays one router on one fold through the public `replay` (fit on the fold's training tasks,
route its test tasks, sweep the knob); `merge_fold_runs` puts the folds back into table order exactly as
`replay` does over all folds, so a merged run equals the sequential one (timings aside).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from aco.datasets.table import OutcomeTable
from aco.evaluation.bench import BenchResult
from aco.evaluation.protocol import Split
from aco.evaluation.replay import Decisions, RouterRun, SweepPoint, replay
from aco.policies.objective import Objective
from aco.routers.registry import build_router, make_router, router_label

StepCallback = Callable[[str, int], None]


class Engine(Protocol):
    """Runs `aco bench`'s grid; same signature and result as `aco.evaluation.bench.run_bench`."""

    name: str

    def run_bench(self, table: OutcomeTable, specs: Sequence[str], *, folds: int = 5, seed: int = 0,
                  groups: np.ndarray | None = None, splits: Sequence[Split] | None = None,
                  test_table: OutcomeTable | None = None, on_step: StepCallback | None = None,
                  objective: Objective | None = None) -> BenchResult:
        """Replay every spec on the same splits and summarise."""
        ...


@dataclass(frozen=True)
class FoldJob:
    """One cell of the grid: a router spec on one fold; `rows` are the target-table positions it routes."""

    spec: str
    split: Split
    rows: np.ndarray
    objective: Objective | None = None  # None: each router's own default


@dataclass(frozen=True)
class FoldRun:
    """The replay of one fold: the run covers exactly `rows` of the target table, in that order; `error` says why
    a fold failed (its run is then None)."""

    spec: str
    fold: int
    rows: np.ndarray
    run: RouterRun | None
    error: str | None = None


def fold_jobs(specs: Sequence[str], splits: Sequence[Split], n_target_tasks: int, transfer: bool,
              objective: Objective | None = None) -> list[FoldJob]:
    """The grid in spec-major order; with `transfer` every fold routes the whole target table."""
    every = np.arange(n_target_tasks)
    return [FoldJob(spec, split, every if transfer else split.test, objective) for spec in specs for split in splits]


def run_fold(job: FoldJob, table: OutcomeTable, test_table: OutcomeTable | None = None) -> FoldRun:
    """Replay `job.spec` on its fold: fit on the training tasks of `table`, route `job.rows` of the target.

    A router that raises gives a FoldRun with `error` set (one failing router never discards the others)."""
    router = make_router(job.spec) if job.objective is None else build_router(job.spec, job.objective)
    target = test_table if test_table is not None else table
    fold_target = target.subset(job.rows)
    one = Split(job.split.fold, job.split.train, np.arange(len(job.rows)))
    try:
        run = replay(router, table, [one], label=router_label(router), test_table=fold_target)
    except Exception as exc:
        return FoldRun(job.spec, job.split.fold, job.rows, None, f"{type(exc).__name__}: {exc}")
    return FoldRun(job.spec, job.split.fold, job.rows, run)


def _merge_optional(parts: Sequence[FoldRun], n_tasks: int, attr: str, fill: float) -> np.ndarray | None:
    present = [p for p in parts if getattr(p.run, attr) is not None]
    if not present:
        return None
    first = np.asarray(getattr(present[0].run, attr))
    out = np.full((n_tasks, *first.shape[1:]), fill)
    for part in present:
        out[part.rows] = getattr(part.run, attr)
    return out


def _merge_decisions(decisions: Sequence[Decisions], parts: Sequence[FoldRun], n_tasks: int,
                     n_models: int) -> Decisions:
    model_idx = np.full(n_tasks, -1, dtype=int)
    paid = np.zeros((n_tasks, n_models), dtype=bool)
    extra = np.zeros(n_tasks) if any(d.extra_cost_usd is not None for d in decisions) else None
    no_result = np.zeros(n_tasks, dtype=bool) if any(d.no_result is not None for d in decisions) else None
    for part, d in zip(parts, decisions, strict=True):
        model_idx[part.rows] = d.model_idx
        paid[part.rows] = d.paid
        if extra is not None and d.extra_cost_usd is not None:
            extra[part.rows] = d.extra_cost_usd
        if no_result is not None and d.no_result is not None:
            no_result[part.rows] = d.no_result
    if (model_idx < 0).any():
        raise RuntimeError("some tasks were never routed: the folds do not cover the table")
    return Decisions(model_idx, paid, extra, no_result)


def merge_fold_runs(parts: Sequence[FoldRun], n_tasks: int, n_models: int) -> RouterRun:
    """One router's fold runs (in fold order) as the single run `replay` would return over all folds.

    A failed fold raises a RuntimeError carrying its error."""
    if not parts:
        raise ValueError("no fold runs to merge")
    runs: list[RouterRun] = []
    for part in parts:
        if part.run is None:
            raise RuntimeError(part.error or "a fold failed")
        runs.append(part.run)
    first = runs[0]
    fold_of = np.full(n_tasks, -1, dtype=int)
    reasons: list[str] | None = None
    for part, run in zip(parts, runs, strict=True):
        fold_of[part.rows] = part.fold
        if run.reasons is not None:
            reasons = reasons if reasons is not None else [""] * n_tasks
            for row, reason in zip(part.rows.tolist(), run.reasons, strict=True):
                reasons[row] = reason
    sweep = tuple(
        SweepPoint(point.knob_value, _merge_decisions([r.sweep[k].decisions for r in runs], parts,
                                                      n_tasks, n_models))
        for k, point in enumerate(first.sweep)
    )
    return RouterRun(
        label=first.label, decisions=_merge_decisions([r.decisions for r in runs], parts, n_tasks, n_models),
        fold=fold_of, p_success=_merge_optional(parts, n_tasks, "p_success", np.nan),
        propensity=_merge_optional(parts, n_tasks, "propensity", 1.0), reasons=reasons, knob=first.knob,
        sweep=sweep, fit_seconds=sum(r.fit_seconds for r in runs),
        route_seconds=sum(r.route_seconds for r in runs),
    )
