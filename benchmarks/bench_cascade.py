"""The swebench-verified cascade at its learned thresholds, under a budget, and its threshold sweep.

Run: .venv/bin/python benchmarks/bench_cascade.py [--budget-usd-per-task 0.288] [--chain "A>B>C"] [--posthoc]
     [--simulate-auc 0.67,0.8] [--value-usd V] [--json PATH]

5-fold CV with the `aco bench` folds (seed 0); every attempt is paid. Per fold, three cascades are fitted on the
training tasks only:
- the default: thresholds (one per step) chosen by 3-fold CV inside the training tasks, maximising
  success - cost / V per task (V: `--value-usd`, default the table's own value of a success, as `aco bench` uses);
- the budget rule: the highest inner-CV success whose cost per task stays within `--budget-usd-per-task`
  ($0.288 x 500 tasks = $144, the issue's target);
- the sweep: one shared threshold at every step, from the knob grid (a curve to read, not an operating point:
  picking from it would tune on the test folds).
Prints success and total cost on the 500 held-out tasks. With `--simulate-auc 0.67,0.8,...` it also prints
`aco.evaluation.ceilings.noisy_verifier_ceiling` for the chain: the best success within the budget of a verifier of
that AUC with thresholds chosen in hindsight (mean and range over 20 noise seeds), i.e. how good the post-hoc
estimator would have to be. `--json PATH` also writes the figures (the docs' generated tables). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from aco.datasets.registry import load_dataset
from aco.datasets.table import OutcomeTable
from aco.evaluation.ceilings import noisy_verifier_ceiling
from aco.evaluation.protocol import kfold_splits
from aco.policies.objective import Objective
from aco.routers.cascade import CascadeRouter, parse_chain

CHAIN = "DeepSeek V3.2 Reasoner>GPT-5 mini (2025-08-07) (medium reasoning)>Gemini 3 Pro Preview (2025-11-18)"


def _outcome(router: CascadeRouter, test: OutcomeTable) -> tuple[np.ndarray, np.ndarray]:
    """Success of the accepted result and the cost of every attempt, per test task."""
    routing = router.route_table(test)
    rows = np.arange(test.n_tasks)
    return test.score[rows, routing.model_idx], (routing.paid(test.n_models) * test.cost_usd).sum(axis=1)


def simulate(table: OutcomeTable, chain_spec: str, aucs: list[float], budget_usd_per_task: float,
             ) -> list[dict[str, Any]]:
    """The noisy-verifier ceiling of the chain at each AUC (printed, and returned as rows)."""
    chain = parse_chain(chain_spec, table.model_names)
    budget_usd = budget_usd_per_task * table.n_tasks
    print(f"simulated verifier, thresholds chosen in hindsight, best success within ${budget_usd:.0f}:\n")
    print("| verifier AUC | success, mean [min, max] over 20 noise seeds | cost USD (mean) |\n|---|---|---|")
    rows = []
    for auc in aucs:
        ceiling = noisy_verifier_ceiling(table.success, table.cost_usd, chain, auc, budget_usd)
        print(f"| {auc:.2f} | {ceiling.success.mean():.3f} [{ceiling.success.min():.3f}, {ceiling.success.max():.3f}] "
              f"| {ceiling.cost_usd.mean():.1f} |")
        rows.append({"auc": auc, "success": float(ceiling.success.mean()), "success_min": float(ceiling.success.min()),
                     "success_max": float(ceiling.success.max()), "cost_usd": float(ceiling.cost_usd.mean())})
    print()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chain", default=CHAIN)
    parser.add_argument("--budget-usd-per-task", type=float, default=0.288)
    parser.add_argument("--posthoc", action="store_true", help="also offer the PosthocFeatures heads")
    parser.add_argument("--simulate-auc", default="", help="comma-separated verifier AUCs to simulate")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--value-usd", type=float, default=None,
                        help="value of a success for the learned thresholds (default: the table's, as aco bench; "
                             "10 = the paper's score - 0.1 x cost)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    table = load_dataset("swebench-verified", args.data_dir)
    value_usd = args.value_usd if args.value_usd is not None else Objective.of_table(table).value_usd
    simulated = []
    if args.simulate_auc:
        simulated = simulate(table, args.chain, [float(a) for a in args.simulate_auc.split(",")],
                             args.budget_usd_per_task)
    rows = ("learned", "budget", *(f"sweep {t:g}" for t in CascadeRouter.knob_grid))
    ok = {r: np.zeros(table.n_tasks) for r in rows}
    paid = {r: np.zeros(table.n_tasks) for r in rows}
    thresholds: dict[str, list[tuple[float, ...]]] = {"learned": [], "budget": []}
    start = time.perf_counter()
    for split in kfold_splits(table.n_tasks, 5, 0):
        train, test = table.subset(split.train), table.subset(split.test)
        for name, budget in (("learned", None), ("budget", args.budget_usd_per_task)):
            router = CascadeRouter(chain=args.chain, budget_usd_per_task=budget, posthoc=args.posthoc,
                                   value_usd=value_usd).fit(train)
            ok[name][split.test], paid[name][split.test] = _outcome(router, test)
            thresholds[name].append(router.thresholds_)
        for value in CascadeRouter.knob_grid:
            router.threshold = value
            ok[f"sweep {value:g}"][split.test], paid[f"sweep {value:g}"][split.test] = _outcome(router, test)
    print(f"swebench-verified cascade {args.chain} (posthoc={args.posthoc}, value of a success ${value_usd:.2f}), "
          f"5-fold CV seed 0, {time.perf_counter() - start:.0f} s\n")
    print("| cascade | success | cost USD | thresholds per fold |\n|---|---|---|---|")
    out = []
    for name in rows:
        per_fold = ", ".join("/".join(f"{t:g}" for t in ts) for ts in thresholds.get(name, []))
        print(f"| {name} | {ok[name].mean():.3f} | {paid[name].sum():.1f} | {per_fold} |")
        out.append({"cascade": name, "success": float(ok[name].mean()), "cost_usd": float(paid[name].sum()),
                    "thresholds_per_fold": per_fold})
    if args.json is not None:
        args.json.write_text(json.dumps({"chain": args.chain, "posthoc": args.posthoc, "value_usd": value_usd,
                                         "budget_usd_per_task": args.budget_usd_per_task, "rows": out,
                                         "simulated": simulated}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
