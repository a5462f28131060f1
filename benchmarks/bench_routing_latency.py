"""Decision latency of a fitted `gbdt` router, in process, and its fit time on the largest table.

Run: .venv/bin/python benchmarks/bench_routing_latency.py [--decisions 10000] [--data-dir DIR]

- Latency: the router is fitted on swebench-verified (24 candidate systems: the 25th, Claude 3.7 Sonnet, is
  excluded because its per-instance rows contradict its aggregate). Features are precomputed per request;
  one decision = calibrated P(success) for every model (compiled trees + isotonic maps), expected cost,
  the threshold policy. p50/p99 over single decisions; featurising the text per request is timed apart.
- Fit time: the gbdt router on routellm-mmlu (14,042 tasks x 2 models), the largest table.
Prints figures; asserts nothing (timings depend on the machine).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from aco.datasets.registry import load_dataset
from aco.routers.learned import LearnedRouter
from aco.routers.registry import make_router


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ms = np.asarray(samples_ns, dtype=float) / 1e6
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def latency(data_dir: Path | None, decisions: int) -> None:
    table = load_dataset("swebench-verified", data_dir)
    start = time.perf_counter()
    router = make_router("gbdt").fit(table)
    fit_s = time.perf_counter() - start
    assert isinstance(router, LearnedRouter)
    X = router.features_.transform(table.tasks)
    categories = table.tasks["category"].to_numpy()
    samples: list[int] = []
    cpu_samples: list[int] = []  # CPU time of this thread: excludes time the OS ran other processes
    for k in range(decisions):
        row = k % table.n_tasks
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        x = X[row: row + 1]
        p = router.estimator_.predict_proba(x)
        cost = router.estimator_.expected_cost_usd(x)
        router.apply_policy(p, cost, categories[row: row + 1])
        samples.append(time.perf_counter_ns() - t0)
        cpu_samples.append(time.thread_time_ns() - c0)
    p50, p99 = _percentiles(samples)
    c50, c99 = _percentiles(cpu_samples)
    print(f"swebench-verified: {table.n_tasks} tasks x {table.n_models} models; gbdt fit {fit_s:.1f} s")
    print(f"decision latency (precomputed features), {decisions} decisions: p50 {p50:.3f} ms, p99 {p99:.3f} ms "
          f"wall; p50 {c50:.3f} ms, p99 {c99:.3f} ms thread CPU (load average {os.getloadavg()[0]:.1f})")
    featurise: list[int] = []
    for k in range(min(decisions, 1000)):
        row = k % table.n_tasks
        t0 = time.perf_counter_ns()
        router.features_.transform(table.tasks.iloc[row: row + 1])
        featurise.append(time.perf_counter_ns() - t0)
    f50, f99 = _percentiles(featurise)
    print(f"text featurisation per request, {len(featurise)} requests: p50 {f50:.3f} ms, p99 {f99:.3f} ms")


def fit_time(data_dir: Path | None) -> None:
    table = load_dataset("routellm-mmlu", data_dir)
    start = time.perf_counter()
    make_router("gbdt").fit(table)
    print(f"gbdt fit on routellm-mmlu ({table.n_tasks} tasks x {table.n_models} models): "
          f"{time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    latency(args.data_dir, args.decisions)
    fit_time(args.data_dir)


if __name__ == "__main__":
    main()
