"""Speed of the evaluation: the full 5-fold bench of every default baseline, and replay per 1,000 tasks.

Run: `.venv/bin/python benchmarks/bench_speed.py [--dataset swebench-verified] [--folds 5]`.
Prints wall-clock figures (they depend on the machine and its load; nothing is asserted).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from aco.datasets.registry import load_dataset
from aco.datasets.table import OutcomeTable
from aco.evaluation.bench import LEARNED, References, default_router_specs, summarize
from aco.evaluation.protocol import kfold_splits
from aco.evaluation.replay import replay
from aco.routers.registry import make_router, router_label

TARGET_SECONDS = 20.0


def time_bench(table: OutcomeTable, folds: int, seed: int) -> list[tuple[str, float]]:
    """Wall seconds per router spec of `run_bench`'s work: replay (fit, route, sweep) plus summarize."""
    splits = kfold_splits(table.n_tasks, folds, seed)
    refs = References.of(table)
    timings = []
    for spec in [s for s in default_router_specs(table) if s not in LEARNED]:  # the baselines
        start = time.perf_counter()
        router = make_router(spec)
        run = replay(router, table, splits, label=router_label(router))
        summarize(run, table, refs, seed)
        timings.append((spec, time.perf_counter() - start))
    return timings


def replay_seconds_per_1000(table: OutcomeTable, spec: str, n_tasks: int, seed: int) -> float:
    """Seconds to replay `spec` under 5-fold CV on `n_tasks` tasks (resampled rows), per 1,000 tasks."""
    rows = np.random.default_rng(seed).integers(0, table.n_tasks, size=n_tasks)
    tasks = table.tasks.iloc[rows].reset_index(drop=True)
    tasks.index = [f"resampled-{i}" for i in range(n_tasks)]
    signals = {k: np.asarray(v)[rows] for k, v in table.signals.items()}
    big = OutcomeTable(name=table.name, tasks=tasks, models=table.models, score=table.score[rows],
                       cost_usd=table.cost_usd[rows], signals=signals, observable_signals=table.observable_signals)
    splits = kfold_splits(big.n_tasks, 5, seed)
    start = time.perf_counter()
    replay(make_router(spec), big, splits, sweep=False)
    return (time.perf_counter() - start) * 1000.0 / n_tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="swebench-verified")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replay-tasks", type=int, default=20_000)
    args = parser.parse_args()

    start = time.perf_counter()
    table = load_dataset(args.dataset)
    load_s = time.perf_counter() - start
    print(f"aco bench speed: {args.folds}-fold bench of every default baseline on {args.dataset} "
          f"({table.n_tasks} tasks x {table.n_models} models); wall-clock seconds, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"load dataset: {load_s:.2f} s")
    warm = time.perf_counter()
    replay(make_router("best-single"), table, kfold_splits(table.n_tasks, args.folds, args.seed))
    print(f"warm-up (imports, first replay): {time.perf_counter() - warm:.2f} s, not counted")
    timings = time_bench(table, args.folds, args.seed)
    width = max(len(spec) for spec, _ in timings)
    for spec, seconds in sorted(timings, key=lambda t: -t[1]):
        print(f"  {spec:<{width}}  {seconds:7.3f} s")
    total = sum(s for _, s in timings)
    verdict = "within" if total < TARGET_SECONDS else "OVER"
    print(f"total bench ({len(timings)} routers): {total:.2f} s ({verdict} the {TARGET_SECONDS:.0f} s target)")
    for spec in ("best-single", "random", "heuristic", "dimension-best", "oracle"):
        per_1000 = replay_seconds_per_1000(table, spec, args.replay_tasks, args.seed)
        print(f"replay {spec} (5 folds, no sweep) on {args.replay_tasks:,} tasks: {per_1000 * 1000:.1f} ms "
              "per 1,000 tasks")


if __name__ == "__main__":
    main()
