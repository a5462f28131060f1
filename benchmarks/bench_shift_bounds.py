"""What a loop that adapts to a held-out group can reach: per-group bounds for the shift protocol.

Run: .venv/bin/python benchmarks/bench_shift_bounds.py [DATASET] [--column category] [--seeds 5] [--value-usd V]
     [--data-dir DIR]

For each group of COLUMN held out (leave-one-group-out) it prints, in cumulative regret on the held-out group
(reward = score - cost_usd / value_usd; default the table's objective, as in `aco bench`):
- the training data's best single model (what a router that ignores the shift deploys) and the held-out group's
  best single model in hindsight, and the goal line 1.1 x that;
- hindsight per source: the best model per source benchmark of the group, chosen on the scored tasks (the most a
  router that sees the source can reach without luck);
- what the 10% allowance buys: 0.1 x the hindsight regret divided by the regret per task of running another model
  instead of the best, i.e. how many tasks may go to the runner-up (and to the median other model) in total;
- full-information stream: the group's tasks in a shuffled order (mean and sd over seeds), each routed to the model
  with the best running mean reward on the group's past tasks, after which EVERY model's outcome is revealed (far
  more feedback than a bandit gets, which sees only the model it ran), from an empty memory;
  per group, and per source within the group.
Prints a Markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from aco.datasets.registry import load_dataset
from aco.evaluation.ceilings import Ceiling, full_information_stream, hindsight_cell_choice
from aco.evaluation.shift import group_column
from aco.evaluation.stream import stream_order
from aco.policies.objective import Objective
from aco.routers.baselines import BestSingleRouter


def _regret(score: np.ndarray, cost: np.ndarray, chosen: np.ndarray, weight: float) -> float:
    return Ceiling("choice", chosen).summary(score, cost, weight)["regret"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", nargs="?", default="coderouterbench")
    parser.add_argument("--column", default="category")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--value-usd", type=float, default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    table = load_dataset(args.dataset, args.data_dir)
    objective = Objective.given(args.value_usd) if args.value_usd else Objective.of_table(table)
    weight = objective.cost_weight
    labels = group_column(table, args.column)
    sources = table.tasks["source"].astype(str).to_numpy() + "|" + table.tasks.get(
        "language", table.tasks["source"]).astype(str).to_numpy()
    print(f"{args.dataset}, leave-one-{args.column}-out, cumulative regret on the held-out group "
          f"(full-information streams: mean +- sd over {args.seeds} shuffled orders; {objective.describe()})\n")
    print("| held-out group | tasks | training best single | group best single (hindsight) | 1.1 x hindsight | "
          "hindsight per source | 10% allows (tasks to runner-up / median model) | full-information stream | "
          "full-information stream per source |")
    print("|---|---|---|---|---|---|---|---|---|")
    for g in sorted(set(labels.tolist())):
        rows = np.flatnonzero(labels == g)
        test, train = table.subset(rows), table.subset(np.flatnonzero(labels != g))
        single = [_regret(test.score, test.cost_usd, np.full(test.n_tasks, j), weight) for j in range(test.n_models)]
        best = int(np.argmin(single))
        gaps = np.sort([(r - single[best]) / test.n_tasks for j, r in enumerate(single) if j != best])
        allowed = [0.1 * single[best] / max(gap, 1e-12) for gap in (gaps[0], float(np.median(gaps)))]
        train_best = BestSingleRouter().fit(train).model_idx_
        per_source = hindsight_cell_choice(test.score, test.cost_usd, sources[rows], weight).chosen
        streams: dict[str, list[float]] = {"group": [], "source": []}
        for seed in range(args.seeds):
            order = stream_order(test.n_tasks, "shuffle", seed)
            s, c = test.score[order], test.cost_usd[order]
            for name, keys in (("group", np.zeros(len(order))), ("source", sources[rows][order])):
                streams[name].append(_regret(s, c, full_information_stream(s, c, keys, cost_weight=weight).chosen,
                                             weight))
        print(f"| {g} | {test.n_tasks} | {test.model_names[train_best]} {single[train_best]:.1f} | "
              f"{test.model_names[best]} {single[best]:.1f} | {1.1 * single[best]:.1f} | "
              f"{_regret(test.score, test.cost_usd, per_source, weight):.1f} | {allowed[0]:.0f} / {allowed[1]:.0f} | "
              f"{np.mean(streams['group']):.1f} +- {np.std(streams['group'], ddof=1):.1f} | "
              f"{np.mean(streams['source']):.1f} +- {np.std(streams['source'], ddof=1):.1f} |")


if __name__ == "__main__":
    main()
