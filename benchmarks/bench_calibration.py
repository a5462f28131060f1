"""Per-model calibration of learned routers on held-out folds, and the conformal policy's empirical coverage.

Run: .venv/bin/python benchmarks/bench_calibration.py DATASET [--routers gbdt,knn] [--targets 0.6,0.7]

- Calibration: 5-fold CV (the `aco bench` folds, seed 0); every task's P(success) comes from the fold that
  held it out; Brier score and ECE (10 bins) per candidate model.
- Coverage: `gbdt:conformal` at each target success (delta 0.1): the realised success on every held-out fold
  and the share of folds that meet the target (the guarantee says >= 1 - delta in expectation over draws).
Prints markdown tables (`--json PATH` also writes the figures: the docs' generated tables); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from aco.datasets.registry import load_dataset
from aco.evaluation import metrics
from aco.evaluation.protocol import kfold_splits
from aco.evaluation.replay import replay
from aco.routers.registry import make_router


def calibration(dataset: str, routers: list[str], data_dir: Path | None) -> list[dict[str, Any]]:
    """Prints the per-model table; returns one row per router (all cells and per model)."""
    table = load_dataset(dataset, data_dir)
    splits = kfold_splits(table.n_tasks, 5, 0)
    runs = {spec: replay(make_router(spec), table, splits, sweep=False) for spec in routers}
    print(f"\n{dataset}: per-model Brier / ECE on held-out folds (5-fold, seed 0)\n")
    print("| model | success | " + " | ".join(f"{s} Brier | {s} ECE" for s in routers) + " |")
    print("|---|---|" + "---|---|" * len(routers))
    y = table.success
    for j, name in enumerate(table.model_names):
        cells = []
        for spec in routers:
            p = runs[spec].p_success
            assert p is not None
            cells += [f"{metrics.brier(p[:, j], y[:, j]):.3f}", f"{metrics.ece(p[:, j], y[:, j]):.3f}"]
        print(f"| {name} | {y[:, j].mean():.3f} | " + " | ".join(cells) + " |")
    rows = []
    for spec in routers:
        p = runs[spec].p_success
        assert p is not None
        row = {"router": spec, "brier": metrics.brier(p.ravel(), y.ravel()), "ece": metrics.ece(p.ravel(), y.ravel()),
               "per_model": [{"model": name, "success": float(y[:, j].mean()),
                              "brier": metrics.brier(p[:, j], y[:, j]), "ece": metrics.ece(p[:, j], y[:, j])}
                             for j, name in enumerate(table.model_names)]}
        rows.append(row)
        print(f"\n{spec}: all cells Brier {row['brier']:.4f}, ECE {row['ece']:.4f}")
    return rows


def coverage(dataset: str, targets: list[float], data_dir: Path | None) -> list[dict[str, Any]]:
    """Prints the coverage table; returns one row per target."""
    table = load_dataset(dataset, data_dir)
    splits = kfold_splits(table.n_tasks, 5, 0)
    print(f"\n{dataset}: gbdt:conformal (delta 0.1) realised success per held-out fold\n")
    print("| target | fold success | folds meeting target | mean cost per task (USD) |")
    print("|---|---|---|---|")
    fitted = [make_router("gbdt:conformal").fit(table.subset(s.train)) for s in splits]
    rows = []
    for target in targets:
        success, cost = [], []
        for split, router in zip(splits, fitted, strict=True):
            router.set_params(target_success=target)
            test = table.subset(split.test)
            idx = router.route_table(test).model_idx
            success.append(float(test.score[np.arange(test.n_tasks), idx].mean()))
            cost.append(float(test.cost_usd[np.arange(test.n_tasks), idx].mean()))
        met = np.mean([s >= target for s in success])
        print(f"| {target:.2f} | {', '.join(f'{s:.3f}' for s in success)} | {met:.0%} | {np.mean(cost):.4f} |")
        rows.append({"target": target, "fold_success": success, "folds_met": int(sum(s >= target for s in success)),
                     "folds": len(success), "cost_per_task_usd": float(np.mean(cost))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--routers", default="gbdt,knn,category-stats,logreg,mf")
    parser.add_argument("--targets", default="0.5,0.6,0.7")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    rows = calibration(args.dataset, args.routers.split(","), args.data_dir)
    covered = coverage(args.dataset, [float(t) for t in args.targets.split(",")], args.data_dir)
    if args.json is not None:
        args.json.write_text(json.dumps({"dataset": args.dataset, "calibration": rows, "coverage": covered},
                                        indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
