"""What prompt caching does to real agent bills, priced by aco's catalog from the recorded usage.

Gemini 3 Pro under mini-SWE-agent records, for each of its first 6 calls on each of the 500 SWE-bench Verified
tasks, the prompt tokens, the cached prompt tokens, the completion tokens and the USD cost it was billed. This
script prices every call with aco (`PricedModel.cost_usd` on a `Usage`, Gemini 3 Pro list prices: USD 2 / 1M input,
0.20 / 1M cached input, 12 / 1M output), checks it against the recorded cost, and compares each task's bill with
what the same tokens would cost without a cache discount.

    .venv/bin/python benchmarks/bench_cache_savings.py
"""

from __future__ import annotations

import statistics

from aco.catalog import PricedModel
from aco.datasets.location import resolve_data_dir
from aco.records import ModelSpec, Usage
from aco.server.replay_trajectories import TrajectoryBook

MODEL = "mini-gemini-3-pro"
GEMINI = PricedModel(ModelSpec("gemini-3-pro", usd_per_mtok_input=2.0, usd_per_mtok_output=12.0),
                     usd_per_mtok_cached_input=0.2)


def main() -> None:
    book = TrajectoryBook.from_data_dir(resolve_data_dir())
    calls = matched = 0
    billed_total = uncached_total = 0.0
    ratios: list[tuple[float, str, float, float]] = []
    for instance in book.instances(MODEL):
        billed = uncached = 0.0
        for turn in book.runs[MODEL][instance].turns:
            found = book.turn(MODEL, instance, turn.index)
            assert found is not None
            usage = found.usage
            cost = GEMINI.cost_usd(usage)
            calls += 1
            matched += abs(cost - turn.cost_usd) < 1e-9
            billed += cost
            uncached += GEMINI.cost_usd(Usage(input_tokens=usage.input_tokens + usage.cached_input_tokens,
                                              output_tokens=usage.output_tokens))
        billed_total += billed
        uncached_total += uncached
        ratios.append((billed / uncached, instance, billed, uncached))
    ratios.sort()
    half = min(ratios, key=lambda r: abs(r[0] - 0.5))
    print(f"{calls} recorded calls of {len(ratios)} tasks; aco's price equals the recorded cost on {matched} "
          "to the 1e-9 USD")
    print(f"first-6-turn bill, all tasks: USD {billed_total:.4f} with cached-input pricing, USD {uncached_total:.4f} "
          f"without (ratio {billed_total / uncached_total:.3f})")
    print(f"per task ratio: median {statistics.median(r[0] for r in ratios):.3f}, min {ratios[0][0]:.3f} "
          f"({ratios[0][1]}), max {ratios[-1][0]:.3f}")
    print(f"closest to half: {half[1]}: USD {half[2]:.6f} vs USD {half[3]:.6f} (ratio {half[0]:.4f})")


if __name__ == "__main__":
    main()
