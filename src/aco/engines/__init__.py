"""Engines that run the benchmark grid of (router, fold) replays: in this process or on a Dask cluster.

Both produce the same `BenchResult` for the same seed (timing fields aside). Dask is an optional extra
(`pip install aco[dask]`) imported only when the Dask engine is used.
"""

from __future__ import annotations

from aco.engines.base import Engine, FoldJob, FoldRun, fold_jobs, merge_fold_runs, run_fold
from aco.engines.local import LocalEngine
from aco.errors import ConfigError

ENGINES = ("local", "dask")


def make_engine(name: str, scheduler: str | None = None, n_workers: int = 2) -> Engine:
    """`local` or `dask` (a `LocalCluster` of `n_workers` unless `scheduler` names a running cluster)."""
    if name == "local":
        if scheduler is not None:
            raise ConfigError("--scheduler needs --engine dask")
        return LocalEngine()
    if name == "dask":
        from aco.engines.dask import DaskEngine

        return DaskEngine(scheduler=scheduler, n_workers=n_workers)
    raise ConfigError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "Engine", "FoldJob", "FoldRun", "LocalEngine", "fold_jobs", "make_engine",
           "merge_fold_runs", "run_fold"]
