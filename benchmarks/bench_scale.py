"""Scale benchmark: bench sweeps and LightGBM training on large RESAMPLED real outcome tables, local vs Dask.

The large tables are built by drawing tasks of a real table (default: coderouterbench, 2,919 tasks x 8 models)
with replacement: every (task, model) row is a real recorded outcome, repeated; nothing is new data.

    .venv/bin/python benchmarks/bench_scale.py --rows 250000,500000,1000000,2000000

Prints, per size: wall seconds of a 5-fold bench sweep and of LightGBM training on the local engine and on a
LocalCluster of 2 worker processes, their ratio, and the peak RSS of the process tree (this process plus
the Dask workers) during each phase.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from aco.datasets.registry import load_dataset
from aco.engines import LocalEngine
from aco.engines.dask import DaskEngine, dask_client, train_lightgbm_dask, train_lightgbm_local
from aco.engines.outcomes import long_features, resample_table, write_parquet
from aco.evaluation.bench import BASELINES

TIMING_FIELDS = ("fit_seconds", "route_seconds")


class PeakRss:
    """Samples the RSS of this process and all its descendants every 50 ms; `peak_mb` is the maximum."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, peak process-tree RSS in MB)."""
    with PeakRss() as rss:
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
    return out, seconds, rss.peak_mb


def comparable(doc: dict[str, Any]) -> str:
    rows = [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in doc["rows"]]
    return json.dumps({**doc, "rows": rows}, sort_keys=True, default=str)


def one_size(table: Any, n_rows: int, client: Any, folds: int, n_estimators: int, workdir: Path) -> dict[str, Any]:
    big = resample_table(table, n_rows // table.n_models, seed=0)
    specs = [f"always:{m}" for m in big.model_names] + list(BASELINES) + ["category-stats"]
    local, local_s, local_mb = timed(lambda: LocalEngine().run_bench(big, specs, folds=folds, seed=0))
    dask, dask_s, dask_mb = timed(lambda: DaskEngine(client=client).run_bench(big, specs, folds=folds, seed=0))
    same = comparable(local.to_json()) == comparable(dask.to_json())
    folder = workdir / f"rows{n_rows}"
    write_parquet(long_features(big), folder, rows_per_partition=250_000)
    tl, tl_s, tl_mb = timed(lambda: train_lightgbm_local(folder, n_estimators=n_estimators))
    td, td_s, td_mb = timed(lambda: train_lightgbm_dask(folder, client=client, n_estimators=n_estimators))
    return {"rows": big.n_tasks * big.n_models, "tasks": big.n_tasks, "routers": len(specs), "folds": folds,
            "sweep_local_s": local_s, "sweep_dask_s": dask_s, "sweep_ratio": local_s / dask_s,
            "sweep_identical": same, "sweep_local_peak_mb": local_mb, "sweep_dask_peak_mb": dask_mb,
            "train_local_s": tl_s, "train_dask_s": td_s, "train_ratio": tl_s / td_s,
            "train_local_peak_mb": tl_mb, "train_dask_peak_mb": td_mb, "train_rows": [tl.n_rows, td.n_rows]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="coderouterbench")
    parser.add_argument("--rows", default="250000,500000,1000000,2000000")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    table = load_dataset(args.dataset)
    print(f"RESAMPLED REAL DATA, NOT NEW DATA: tasks of {args.dataset} ({table.n_tasks} tasks x "
          f"{table.n_models} models) drawn with replacement (seed 0) up to each size below.", flush=True)
    results = []
    start = time.perf_counter()
    with dask_client(n_workers=args.workers) as client, tempfile.TemporaryDirectory() as tmp:
        print(f"LocalCluster of {args.workers} worker processes up in {time.perf_counter() - start:.1f} s "
              "(not included below)", flush=True)
        for n_rows in (int(x) for x in args.rows.split(",")):
            res = one_size(table, n_rows, client, args.folds, args.n_estimators, Path(tmp))
            results.append(res)
            print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in res.items()}), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps({"resampled_real_data": True, "dataset": args.dataset,
                                         "results": results}, indent=2))


if __name__ == "__main__":
    main()
