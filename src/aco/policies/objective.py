"""What a success is worth: the one objective that knob tuning, regret and the online reward share.

reward = score - cost_usd / value_usd, in successes per task (scale-free: it reads the same on a table where a call
costs $0.0001 and on one where a task costs $300). Agent-as-a-Router's reward, score - 0.1 x cost_usd, is the
objective with value_usd = 10 (`Objective.paper()`).

Default rule (`Objective.of_table`): a table that carries a published objective (metadata `value_usd`, set by the
CodeRouterBench loader to the paper's $10 so its published regrets stay comparable) uses it; any other table uses
the break-even value: what one extra success costs when moving from the cheapest model to the best single model,
(cost_best - cost_cheapest) / (success_best - success_cheapest), mean cost per task. At that value always-cheapest
and always-best earn the same reward, so a router only scores above both by routing. When the best model is also
the cheapest (no trade-off between single models), the cost spread over the success headroom is used instead,
(cost_dearest - cost_cheapest) / (oracle success - success_cheapest); without either, the dearest model's mean
cost per task (and $1 when every cost is zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from aco.catalog import format_usd
from aco.datasets.table import OutcomeTable
from aco.policies.rules import best_index, cheapest_index, chosen_values

PAPER_VALUE_USD = 10.0
PAPER_SOURCE = "Agent-as-a-Router's reward score - 0.1 x cost_usd"


@dataclass(frozen=True)
class Objective:
    """reward = score - cost_usd / value_usd; `source` says where value_usd came from (shown in outputs)."""

    value_usd: float
    source: str = "given"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value_usd) and self.value_usd > 0):
            raise ValueError(f"the value of a success must be a positive number of USD, got {self.value_usd!r}")

    @classmethod
    def paper(cls) -> Objective:
        """Agent-as-a-Router's reward, score - 0.1 x cost_usd (value of a success: $10)."""
        return cls(PAPER_VALUE_USD, PAPER_SOURCE)

    @classmethod
    def given(cls, value_usd: float) -> Objective:
        """A value chosen by the user (`--value-usd`)."""
        return cls(float(value_usd), "--value-usd")

    @classmethod
    def of_table(cls, table: OutcomeTable) -> Objective:
        """The table's published objective, else the break-even value of its cheapest and best single models."""
        published = table.metadata.get("value_usd")
        if published is not None:
            return cls(float(published), str(table.metadata.get("value_source", "the dataset's published objective")))
        score, cost = table.mean_score(), table.cost_usd.mean(axis=0)
        names = table.model_names
        best, cheap = best_index(score, cost, names), cheapest_index(cost, score, names)
        gain, extra_usd = float(score[best] - score[cheap]), float(cost[best] - cost[cheap])
        if gain > 0 and extra_usd > 0:
            return cls(extra_usd / gain, f"break-even of {names[cheap]} -> {names[best]} on {table.name}")
        dear = int(np.argmax(cost))
        headroom, spread_usd = float(table.score.max(axis=1).mean() - score[cheap]), float(cost[dear] - cost[cheap])
        if headroom > 0 and spread_usd > 0:
            return cls(spread_usd / headroom, f"cost spread {names[cheap]} -> {names[dear]} over the oracle's "
                                              f"headroom on {table.name} (the best model is the cheapest)")
        if cost[dear] > 0:
            return cls(float(cost[dear]), f"mean cost per task of {names[dear]} (no trade-off on {table.name})")
        return cls(1.0, "every cost is zero: $1")

    @property
    def cost_weight(self) -> float:
        """Reward lost per USD spent (0.1 for the paper's reward)."""
        return 1.0 / self.value_usd

    def reward(self, score: np.ndarray, cost_usd: np.ndarray) -> np.ndarray:
        """score - cost_usd / value_usd, element-wise."""
        return np.asarray(score, dtype=float) - np.asarray(cost_usd, dtype=float) / self.value_usd

    def mean_reward(self, score: np.ndarray, cost_usd: np.ndarray, model_idx: np.ndarray) -> float:
        """Mean reward of the chosen cells of (n, m) score and cost tables."""
        return float(self.reward(chosen_values(score, model_idx), chosen_values(cost_usd, model_idx)).mean())

    def describe(self) -> str:
        """One line for outputs: the value used and where it came from."""
        return f"value of a success ${format_usd(self.value_usd)} ({self.source}): reward = score - cost_usd / value"


def best_on_grid(grid: Sequence[float], value_of: Callable[[float], float], *, low: float | None = None,
                 high: float | None = None, prefer_high: bool = False, max_extensions: int = 8) -> float:
    """The grid value maximising `value_of`; when it lands on an edge, the grid is extended past that edge.

    Past an edge the next point is halfway to the bound (`low` / `high`) or, without a bound, twice as far out,
    for as long as that strictly improves the value (at most `max_extensions` points per edge). Ties go to the
    lower value (`prefer_high`: the higher).
    """
    values = {float(x): value_of(float(x)) for x in sorted(grid)}

    def best() -> float:
        ordered = sorted(values, reverse=prefer_high)
        return max(ordered, key=lambda x: values[x])

    for _ in range(max_extensions):
        chosen, points = best(), sorted(values)
        if chosen == points[-1] and (high is None or chosen < high):
            step = chosen if chosen > 0 else (points[-1] - points[0] or 1.0)
            nxt = (chosen + high) / 2 if high is not None else chosen + step
        elif chosen == points[0] and (low is None or chosen > low) and len(points) > 1:
            nxt = (chosen + low) / 2 if low is not None else chosen - (points[1] - points[0])
        else:
            break
        value = value_of(float(nxt))
        if value <= values[chosen]:
            break
        values[float(nxt)] = value
    return best()
