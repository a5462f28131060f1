"""The Dask engine: each (router, fold) replay is a Dask task; LightGBM trains with its own Dask estimator.

With no scheduler address a `LocalCluster` starts (and stops) per call; `scheduler="tcp://host:8786"`
connects to a running cluster. Dask is an optional extra (`pip install aco[dask]`), imported lazily here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aco.datasets.table import OutcomeTable
from aco.engines.base import FoldRun, StepCallback, fold_jobs, merge_fold_runs, run_fold
from aco.engines.outcomes import LABEL, feature_columns
from aco.errors import ConfigError, DataError
from aco.evaluation.bench import BenchResult, Note, References, summarize, transfer_tables
from aco.evaluation.protocol import Split, kfold_splits
from aco.policies.objective import Objective
from aco.routers.registry import build_router


def _require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise ConfigError("the dask engine needs the optional extra: pip install 'aco[dask]'") from exc


@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int = 2, processes: bool = True) -> Iterator[Any]:
    """A `distributed.Client`: to `scheduler` if given, else to a fresh `LocalCluster` of `n_workers`."""
    _require_dask()
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    cluster_cm = LocalCluster(n_workers=n_workers, threads_per_worker=1,  # type: ignore[no-untyped-call]
                              processes=processes, dashboard_address=None)
    with cluster_cm as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client


class DaskEngine:
    """Runs every (router spec, fold) replay as a Dask task and merges them into the local engine's result."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, n_workers: int = 2, processes: bool = True,
                 client: Any | None = None) -> None:
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.processes = processes
        self.client = client

    @contextmanager
    def _client(self) -> Iterator[Any]:
        if self.client is not None:
            yield self.client
            return
        with dask_client(self.scheduler, self.n_workers, self.processes) as client:
            yield client

    def run_bench(self, table: OutcomeTable, specs: Sequence[str], *, folds: int = 5, seed: int = 0,
                  groups: np.ndarray | None = None, splits: Sequence[Split] | None = None,
                  test_table: OutcomeTable | None = None, on_step: StepCallback | None = None,
                  objective: Objective | None = None) -> BenchResult:
        """Replay every spec on the same splits on the cluster and summarise (same result as local)."""
        notes: list[Note] = []
        if test_table is not None:
            table, test_table, notes = transfer_tables(table, test_table)
        objective = objective or Objective.of_table(table)
        if splits is None:
            splits = kfold_splits(table.n_tasks, 1 if test_table is not None else folds, seed, groups)
        for spec in specs:  # fail on a bad spec here, before anything is shipped to the cluster
            build_router(spec, objective)
        target = test_table if test_table is not None else table
        jobs = fold_jobs(specs, splits, target.n_tasks, transfer=test_table is not None, objective=objective)
        with self._client() as client:
            parts = self._run_jobs(client, jobs, table, test_table, on_step)
        refs = References.of(target)
        result = BenchResult(dataset=target.name, table=target, refs=refs, folds=len(splits), seed=seed,
                             objective=objective, notes=notes,
                             trained_on=table.name if test_table is not None else "")
        for spec in specs:  # merge in spec order, folds in split order: the local engine's order
            mine = sorted((p for p in parts if p.spec == spec), key=lambda p: p.fold)
            try:
                run = merge_fold_runs(mine, target.n_tasks, target.n_models)
                row = summarize(run, target, refs, seed, objective)
            except Exception as exc:  # one failing router never discards the others' results
                result.notes.append(Note(spec, "failed", str(exc) if isinstance(exc, RuntimeError)
                                         else f"{type(exc).__name__}: {exc}"))
                continue
            result.runs.append(run)
            result.rows.append(row)
        return result

    @staticmethod
    def _run_jobs(client: Any, jobs: Sequence[Any], table: OutcomeTable, test_table: OutcomeTable | None,
                  on_step: StepCallback | None) -> list[FoldRun]:
        from distributed import as_completed

        table_ref = client.scatter(table, broadcast=True)
        test_ref = client.scatter(test_table, broadcast=True) if test_table is not None else None
        futures = [client.submit(run_fold, job, table_ref, test_ref, pure=False) for job in jobs]
        parts: list[FoldRun] = []
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            part: FoldRun = future.result()
            parts.append(part)
            if on_step is not None:
                on_step(part.spec if part.run is None else part.run.label, part.fold)
        return parts


@dataclass(frozen=True)
class TrainReport:
    """What a training run did: rows and partitions seen, wall time, and the fitted (local) model."""

    engine: str
    n_rows: int
    n_partitions: int
    train_seconds: float
    model: Any


def _lgbm_params(n_estimators: int, seed: int) -> dict[str, Any]:
    return {"n_estimators": n_estimators, "learning_rate": 0.1, "num_leaves": 31, "random_state": seed,
            "verbose": -1}


def train_lightgbm_dask(parquet_path: Path, *, client: Any | None = None, scheduler: str | None = None,
                        n_workers: int = 2, n_estimators: int = 100, seed: int = 0) -> TrainReport:
    """Fit `lightgbm.DaskLGBMClassifier` on a partitioned Parquet outcome table without collecting it.

    Each worker reads its own partitions (dask.dataframe) and LightGBM's Dask integration trains across the
    workers; only the fitted booster comes back (`.to_local()`). Columns: `feature_columns()` and `success`.
    """
    _require_dask()
    import dask.dataframe as dd
    import lightgbm

    files = sorted(str(f) for f in Path(parquet_path).glob("*.parquet"))
    if not files:
        raise DataError("no *.parquet partitions", path=str(parquet_path))
    features = feature_columns()

    def fit(active: Any) -> TrainReport:
        # One partition per file, read on the worker that holds it (from_map never fuses files).
        frame = dd.from_map(pd.read_parquet, files, columns=[*features, LABEL])  # type: ignore[no-untyped-call]
        # One array for features and label, so both keep the same chunks (dask-expr may fuse column
        # projections of small files differently); lengths=True lets LightGBM pair the chunks.
        values = frame.to_dask_array(lengths=True).astype("float32")
        n_rows = int(sum(values.chunks[0]))
        start = time.perf_counter()
        model = lightgbm.DaskLGBMClassifier(client=active, **_lgbm_params(n_estimators, seed))
        model.fit(values[:, :-1], values[:, -1])
        seconds = time.perf_counter() - start
        return TrainReport("dask", n_rows, len(values.chunks[0]), seconds, model.to_local())

    if client is not None:
        return fit(client)
    with dask_client(scheduler, n_workers) as active:
        return fit(active)


def train_lightgbm_local(parquet_path: Path, *, n_estimators: int = 100, seed: int = 0) -> TrainReport:
    """The single-node baseline: read every partition into one frame and fit `lightgbm.LGBMClassifier`."""
    import lightgbm

    from aco.engines.outcomes import read_parquet_local

    features = feature_columns()
    frame = read_parquet_local(Path(parquet_path), [*features, LABEL])
    start = time.perf_counter()
    model = lightgbm.LGBMClassifier(n_jobs=1, **_lgbm_params(n_estimators, seed))
    model.fit(frame[features], frame[LABEL])
    seconds = time.perf_counter() - start
    n_parts = len(list(Path(parquet_path).glob("*.parquet")))
    return TrainReport("local", len(frame), n_parts, seconds, model)
