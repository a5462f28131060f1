"""The default `aco bench` on a user's own outcome table of 12,000 tasks x 4 models: wall time, peak memory, and
where the time goes.

The table is built from real rows: RouterBench's 3,164 prompts (ARC-Challenge, MBPP, Winogrande; 0-shot) and four of
its models (gpt-4-1106-preview, gpt-3.5-turbo-1106, claude-instant-v1, mistralai/mixtral-8x7b-chat), resampled with a
fixed seed to 12,000 tasks (each prompt appears about 3.8 times under its own task id) and written as a plain long
CSV as a user would have it: task_id, model, score, cost_usd, text (the prompt), category (the benchmark); no run
signals; rows shuffled. Then `aco bench that.csv` (every applicable default router, 5-fold CV) runs through the real
console entry point in a child process.

Run: `nice -n 10 .venv/bin/python benchmarks/bench_own_table.py [--tasks 12000] [--profile]`
(`--profile` runs the same bench in this process under cProfile and prints the top functions instead;
`--unique-texts` suffixes every copy of a prompt so that no two tasks share a text).
Prints wall-clock figures; they depend on the machine and its load, and nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from aco.datasets.registry import load_dataset
from aco.datasets.table import OutcomeTable
from aco.settings import AcoSettings

MODELS = ("gpt-4-1106-preview", "gpt-3.5-turbo-1106", "claude-instant-v1", "mistralai/mixtral-8x7b-chat")
SOURCES = ("routerbench-arc", "routerbench-mbpp", "routerbench-winogrande")
TARGET_SECONDS = 180.0


def real_rows(data_dir: Path) -> OutcomeTable:
    """RouterBench's three tables, the four models, one table (task ids stay unique: they carry the benchmark)."""
    tables = [load_dataset(name, data_dir).select_models(list(MODELS)) for name in SOURCES]
    tasks = np.concatenate([t.tasks.index.to_numpy() for t in tables])
    frame = pd.concat([t.tasks[["text", "category"]] for t in tables])
    frame.index = tasks
    return OutcomeTable(name="routerbench-4", tasks=frame, models=tables[0].models,
                        score=np.vstack([t.score for t in tables]), cost_usd=np.vstack([t.cost_usd for t in tables]))


def write_long_csv(table: OutcomeTable, n_tasks: int, path: Path, seed: int = 0, unique_texts: bool = False,
                   ) -> None:
    """`n_tasks` tasks resampled from `table`, as a shuffled long CSV: task_id, model, score, cost_usd, text,
    category. With `unique_texts` every copy of a prompt gets its own suffix ("[copy i]"), so no two tasks share a
    text and nothing is featurised from a cache."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, table.n_tasks, size=n_tasks)
    m = table.n_models
    texts = table.tasks["text"].to_numpy()[rows]
    if unique_texts:
        texts = np.array([f"{t} [copy {i}]" for i, t in enumerate(texts)], dtype=object)
    long = pd.DataFrame({
        "task_id": np.repeat([f"{table.task_ids[r]}#{i}" for i, r in enumerate(rows)], m),
        "model": np.tile(table.model_names, n_tasks),
        "score": table.score[rows].ravel(), "cost_usd": table.cost_usd[rows].ravel(),
        "text": np.repeat(texts, m),
        "category": np.repeat(table.tasks["category"].to_numpy()[rows], m),
    })
    long.sample(frac=1.0, random_state=seed).to_csv(path, index=False)


def run_cli(csv: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MB of `aco bench csv --json out` in a child process."""
    aco = Path(sys.executable).with_name("aco")
    start = time.perf_counter()
    subprocess.run([str(aco), "bench", str(csv), "--json", str(out)], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def profile(csv: Path, top: int) -> None:
    """The same bench in this process under cProfile: the top functions by cumulative and by own time."""
    from aco.cli.app import main

    sys.argv = ["aco", "bench", str(csv)]
    profiler = cProfile.Profile()
    profiler.enable()
    with contextlib.suppress(SystemExit):
        main()
    profiler.disable()
    for key in ("cumulative", "tottime"):
        pstats.Stats(profiler).sort_stats(key).print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--unique-texts", action="store_true", help="no two tasks share a text (no cache hits)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    data_dir = AcoSettings().data_dir
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "own_outcomes.csv"
        write_long_csv(real_rows(data_dir), args.tasks, csv, args.seed, args.unique_texts)
        print(f"{args.tasks} tasks x {len(MODELS)} models resampled from RouterBench (seed {args.seed}"
              f"{', unique texts' if args.unique_texts else ''}): {csv.name}, "
              f"{csv.stat().st_size / 1e6:.1f} MB; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        if args.profile:
            profile(csv, args.top)
            return
        seconds, peak_mb = run_cli(csv, Path(folder) / "out.json")
        result = json.loads((Path(folder) / "out.json").read_text())
    print(f"aco bench own_outcomes.csv: {seconds:.1f} s wall (target < {TARGET_SECONDS:.0f} s), "
          f"peak {peak_mb:.0f} MB")
    print(f"{'router':<40} {'fit s':>8} {'route s':>8}")
    for row in result["rows"]:
        print(f"{row['router']:<40} {row['fit_seconds']:8.2f} {row['route_seconds']:8.2f}")
    for note in result["notes"]:
        print(f"{note['status']} {note['router']}: {note['reason']}")


if __name__ == "__main__":
    main()
