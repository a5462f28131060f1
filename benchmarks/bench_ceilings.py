"""What the information a router sees can buy: cell-routing ceilings on recorded outcomes.

Run: .venv/bin/python benchmarks/bench_ceilings.py [DATASET] [--data-dir DIR]   (default coderouterbench)

For cells of growing granularity (category; category + source; category + source + language; the task id with
its digits removed, e.g. `dim2_lcb_abc_e` from `dim2_lcb_abc338_e`) it prints
- hindsight: the best fixed model per cell chosen on the scored tasks themselves (no cell router can beat it);
- 5-fold CV (the `aco bench` folds, seed 0): the per-cell choice learned on training folds, each level shrunk
  towards the coarser one with 10 pseudo-tasks (fixed a priori);
- the full-information stream in the dataset's order from an empty memory (every model's outcome revealed after
  each task), with no discounting and with discounts 0.99 / 0.95 (does recency help?).
Prints a markdown table (`--json PATH` also writes its figures: the docs' generated table); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from aco.datasets.registry import load_dataset
from aco.evaluation.ceilings import cv_cell_choice, full_information_stream, hindsight_cell_choice
from aco.evaluation.protocol import kfold_splits

COLUMNS = ("hindsight", "cv", "stream", "stream_discount_99", "stream_discount_95")  # discount 0.99, 0.95


def cell_levels(tasks: pd.DataFrame) -> dict[str, list[np.ndarray]]:
    """Cells from coarse to fine, each as the list of levels it is shrunk through."""
    def column(name: str) -> np.ndarray:
        return tasks[name].fillna("").astype(str).to_numpy() if name in tasks else np.full(len(tasks), "")

    category = column("category")
    source = np.char.add(np.char.add(category, "|"), column("source"))
    language = np.char.add(np.char.add(source, "|"), column("language"))
    id_stem = tasks.index.astype(str).str.replace(r"\d+", "", regex=True).to_numpy().astype(str)
    return {"category": [category], "category+source": [category, source],
            "category+source+language": [category, source, language],
            "id stem (digits removed)": [category, source, id_stem]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dataset", nargs="?", default="coderouterbench")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    table = load_dataset(args.dataset, args.data_dir)
    score, cost = table.score, table.cost_usd
    splits = kfold_splits(table.n_tasks, 5, 0)
    print(f"{args.dataset}: {table.n_tasks} tasks x {table.n_models} models; AvgPerf / regret "
          "(reward = score - 0.1 x cost_usd)\n")
    print("| cells | n cells | hindsight | 5-fold CV | full-info stream | stream, discount 0.99 | discount 0.95 |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name, levels in cell_levels(table.tasks).items():
        finest = levels[-1]
        figures = [hindsight_cell_choice(score, cost, finest), cv_cell_choice(score, cost, levels, splits),
                   *(full_information_stream(score, cost, finest, discount=d) for d in (1.0, 0.99, 0.95))]
        summaries = dict(zip(COLUMNS, (f.summary(score, cost) for f in figures), strict=True))
        cells = " | ".join("{avg_perf:.2f} / {regret:.1f}".format(**f) for f in summaries.values())
        print(f"| {name} | {len(np.unique(finest))} | {cells} |")
        rows.append({"cells": name, "n_cells": len(np.unique(finest)), **summaries})
    if args.json is not None:
        args.json.write_text(json.dumps({"dataset": args.dataset, "n_tasks": table.n_tasks, "rows": rows}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
