"""Value rules of multi-step control: escalate when the strong model is worth its extra cost, stop (give up, or
hand to a human) when the expected value of continuing is below its expected cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def should_escalate(p_cheap: np.ndarray, p_strong: np.ndarray | float, extra_cost_usd: np.ndarray | float,
                    value_usd: float) -> np.ndarray:
    """(n,) bool: switch to the strong model where P(cheap) x value < P(strong) x value - the extra cost of
    switching (the value rule of escalate-at-K)."""
    p = np.asarray(p_cheap, dtype=float)
    return np.asarray(p * value_usd < np.asarray(p_strong, dtype=float) * value_usd - np.asarray(extra_cost_usd))


def should_stop(p_success: np.ndarray, value_usd: float, remaining_cost_usd: np.ndarray | float) -> np.ndarray:
    """(n,) bool: stop where P(success) x value < expected cost of continuing."""
    p = np.asarray(p_success, dtype=float)
    return np.asarray(p * value_usd < np.asarray(remaining_cost_usd, dtype=float))


@dataclass(frozen=True)
class StopSavings:
    """What a stop rule would have done on recorded runs."""

    value_usd: float
    n_runs: int
    n_stopped: int
    failed_runs: int
    failed_cut: int
    successes_lost: int
    saved_usd: float
    total_usd: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def stop_savings(stopped: np.ndarray, success: np.ndarray, remaining_cost_usd: np.ndarray, total_cost_usd: np.ndarray,
                 value_usd: float) -> StopSavings:
    """How many failed runs a stop mask cuts early, how many successes it loses, and the USD saved."""
    stop = np.asarray(stopped, dtype=bool)
    ok = np.asarray(success, dtype=bool)
    remaining = np.asarray(remaining_cost_usd, dtype=float)
    return StopSavings(
        value_usd=float(value_usd), n_runs=len(stop), n_stopped=int(stop.sum()), failed_runs=int((~ok).sum()),
        failed_cut=int((stop & ~ok).sum()), successes_lost=int((stop & ok).sum()),
        saved_usd=float(np.clip(remaining[stop], 0.0, None).sum()),
        total_usd=float(np.asarray(total_cost_usd, dtype=float).sum()))
