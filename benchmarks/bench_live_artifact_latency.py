"""Per-decision latency of live routing with a profile serving a `router` artifact (SDK, in process, SQLite store).

Run:
  .venv/bin/aco train routerbench-mbpp --router gbdt --out /tmp/router.aco
  .venv/bin/python benchmarks/bench_live_artifact_latency.py --artifact /tmp/router.aco [--decisions 300]

The config is examples/aco.toml with one more profile, `served`, whose `router = <artifact>` and whose candidates
are the artifact's models (ACO_DATA_DIR must point at the data: the `default` profile learns its category prior
from it). Task texts are routerbench-mbpp prompts. Timed apart (p50/p99, ms): the artifact router's decision for
one task (`Router.decide`: featurise the text + calibrated GBDT per candidate + policy), a first decision of a
new task through the SDK (that + the decision written to SQLite), a later decision of the same task (sticky, no
featurisation), and a first decision of the `default` profile (category-beta, no artifact). Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from aco.artifacts import load_router
from aco.datasets.registry import load_dataset
from aco.routers.decision import TaskContext
from aco.sdk import Optimizer

EXAMPLE = Path(__file__).parents[1] / "examples" / "aco.toml"


def _config(folder: Path, artifact: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8").replace('store_url = "sqlite:///aco.db"',
                                                       f'store_url = "sqlite:///{folder / "aco.db"}"')
    models = load_router(artifact)[0].models_
    text += f'\n[profiles.served]\ncandidates = {list(models)!r}\nrouter = "{artifact}"\n'.replace("'", '"')
    path = folder / "aco.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _timed_ms(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    samples = []
    for i in range(n):
        start = time.perf_counter_ns()
        fn(i)
        samples.append(time.perf_counter_ns() - start)
    ms = np.asarray(samples, dtype=float) / 1e6
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifact", type=Path, required=True)
    parser.add_argument("--decisions", type=int, default=300)
    args = parser.parse_args()
    texts = [str(t) for t in load_dataset("routerbench-mbpp").tasks["text"].tolist()]
    n = min(args.decisions, len(texts) // 2)
    other = texts[n:]  # a text's hashed n-grams are kept per process: each loop of first decisions gets new texts
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        opt = Optimizer.from_config(_config(folder, args.artifact.resolve()))
        print(f"startup (config, category prior, artifact load + warm-up): {time.perf_counter() - start:.2f} s")
        router = opt.profile("served").router
        figures = {
            "artifact router decision for one task (featurise + predict + policy)": _timed_ms(
                lambda i: router.decide(TaskContext(text=texts[i], category="mbpp", source="routerbench")), n),
            "first decision of a new task (with artifact, store write)": _timed_ms(
                lambda i: opt.start_task(other[i], category="mbpp", task_id=f"a{i}", profile="served",
                                         source="routerbench").route(), n),
            "later decision of the same task (sticky, store write)": _timed_ms(
                lambda i: opt.task(f"a{i}", profile="served").route(), n),
            "first decision of a new task (category-beta, no artifact, store write)": _timed_ms(
                lambda i: opt.start_task(texts[i], category="mbpp", task_id=f"b{i}").route(), n),
        }
        opt.close()
    print(f"{n} decisions each, routerbench-mbpp prompts, p50 / p99 in ms:")
    for name, (p50, p99) in figures.items():
        print(f"  {name}: {p50:.2f} / {p99:.2f}")


if __name__ == "__main__":
    main()
