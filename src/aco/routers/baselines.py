"""Reference routers every benchmark shows: single models, random, oracle, heuristic, dimension-best."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.features.text import keyword_flags
from aco.policies.rules import cheapest_of
from aco.records import Decision
from aco.routers.base import Router, Routing, best_index, cheapest_index
from aco.routers.decision import TaskContext, decision_from_row
from aco.routers.registry import register


def _constant(n: int, model: int, reason: str) -> Routing:
    return Routing(model_idx=np.full(n, model, dtype=int), reasons=[reason] * n)


@register
class AlwaysRouter(Router):
    """Always the named model (`always:<model>`)."""

    name = "always"
    spec_arg: ClassVar[str] = "model"
    spec_arg_required: ClassVar[bool] = True

    def __init__(self, model: str = "") -> None:
        self.model = model

    def unmet_requirement(self, table: OutcomeTable) -> str | None:
        """The table must have the named model."""
        if self.model in table.model_names:
            return None
        return f"needs model {self.model!r}; {table.name} has: {', '.join(table.model_names)}"

    def _fit(self, table: OutcomeTable) -> None:
        self.model_idx_ = table.model_index(self.model)

    def route(self, tasks: TaskSet) -> Routing:
        return _constant(tasks.n_tasks, self.model_idx_, f"always {self.model}")


@register
class BestSingleRouter(Router):
    """The model with the best mean score on the training tasks (ties to the cheaper)."""

    name = "best-single"

    def _fit(self, table: OutcomeTable) -> None:
        self.model_idx_ = best_index(table.mean_score(), table.cost_usd.mean(axis=0), table.model_names)

    def route(self, tasks: TaskSet) -> Routing:
        model = tasks.models[self.model_idx_].name
        return _constant(tasks.n_tasks, self.model_idx_, f"best single model on training tasks: {model}")


@register
class CheapestRouter(Router):
    """The model with the lowest mean cost per task on the training tasks."""

    name = "cheapest"

    def _fit(self, table: OutcomeTable) -> None:
        self.model_idx_ = cheapest_index(table.cost_usd.mean(axis=0), table.mean_score(), table.model_names)

    def route(self, tasks: TaskSet) -> Routing:
        return _constant(tasks.n_tasks, self.model_idx_, "cheapest model on training tasks")


@register
class RandomRouter(Router):
    """Seeded random choice.

    With `expensive_share` None: uniform over all models. Otherwise a mix of the cheapest model and the
    best single model, sending that share of tasks to the best one (the knob, swept to match any cost);
    `target_cost_usd` (mean per task on the training tasks) sets that share when given.
    """

    name = "random"
    transient = ("rng_",)
    knob = "expensive_share"
    knob_grid = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))

    def __init__(self, expensive_share: float | None = None, target_cost_usd: float | None = None,
                 seed: int = 0) -> None:
        self.expensive_share = expensive_share
        self.target_cost_usd = target_cost_usd
        self.seed = seed

    def _fit(self, table: OutcomeTable) -> None:
        mean_cost = table.cost_usd.mean(axis=0)
        self.cheap_idx_ = cheapest_index(mean_cost, table.mean_score(), table.model_names)
        self.strong_idx_ = best_index(table.mean_score(), mean_cost, table.model_names)
        self.share_from_target_: float | None = None
        if self.target_cost_usd is not None:
            lo, hi = mean_cost[self.cheap_idx_], mean_cost[self.strong_idx_]
            share = 1.0 if hi <= lo else (self.target_cost_usd - lo) / (hi - lo)
            self.share_from_target_ = float(np.clip(share, 0.0, 1.0))
        self.rng_ = np.random.default_rng(self.seed)

    def reseed(self) -> None:
        self.rng_ = np.random.default_rng(self.seed)

    def _draw(self, rng: np.random.Generator, n: int, m: int) -> Routing:
        share = self.share_from_target_ if self.share_from_target_ is not None else self.expensive_share
        if share is None:
            idx = rng.integers(0, m, size=n)
            return Routing(model_idx=idx, propensity=np.full(n, 1.0 / m))
        strong = rng.random(n) < share
        idx = np.where(strong, self.strong_idx_, self.cheap_idx_)
        if self.strong_idx_ == self.cheap_idx_:
            propensity = np.ones(n)
        else:
            propensity = np.where(strong, share, 1.0 - share)
        return Routing(model_idx=idx, propensity=propensity)

    def route(self, tasks: TaskSet) -> Routing:
        return self._draw(np.random.default_rng(self.seed), tasks.n_tasks, len(tasks.models))

    def _decide(self, context: TaskContext, allowed: frozenset[str] | None) -> Decision:
        """One draw from the router's continuing random stream (restarted by `reseed`)."""
        return decision_from_row(self._draw(self.rng_, 1, len(self.models_)), 0, self.models_, context, allowed,
                                 self.mean_cost_usd_)


@register
class OracleRouter(Router):
    """Evaluation only: for each task the cheapest model with the best recorded score.

    On tasks that no model solves (best score 0) the oracle abstains: it runs nothing and pays nothing, as
    the published oracle figures do (e.g. SWE-bench Verified: 0.872 for $37.04, the cheapest resolving
    system per task). `abstain_unsolved=False` runs the cheapest model there instead.
    """

    name = "oracle"
    uses_outcomes = True

    def __init__(self, abstain_unsolved: bool = True) -> None:
        self.abstain_unsolved = abstain_unsolved

    def route(self, tasks: TaskSet) -> Routing:
        raise TypeError("the oracle reads recorded outcomes: use route_table(table)")

    def route_table(self, table: OutcomeTable) -> Routing:
        self.check_fitted(table)
        best = table.score.max(axis=1, keepdims=True)
        idx, _ = cheapest_of(np.isclose(table.score, best), table.score, table.cost_usd, table.model_names)
        unsolved = best[:, 0] <= 0.0
        abstain = unsolved if self.abstain_unsolved else None
        reasons = ["no model solves this task: abstain" if u and self.abstain_unsolved
                   else "cheapest model with the best recorded score" for u in unsolved]
        return Routing(model_idx=idx, abstain=abstain, reasons=reasons)


def keyword_difficulty(texts: list[str]) -> np.ndarray:
    """ACO's difficulty estimate in {0, 1, 2, 3}: length bucket, -1 for 'simple/typo', +1 for 'critical/security'."""
    lengths = np.array([len(t) for t in texts])
    base = np.where(lengths < 400, 0, np.where(lengths < 2000, 1, 2))
    flags = np.array([keyword_flags(t) for t in texts], dtype=int).reshape(-1, 2)
    return np.asarray(np.clip(base - flags[:, 0] + flags[:, 1], 0, 3))


@register
class HeuristicRouter(Router):
    """ACO's "difficulty + 1": a keyword/length difficulty mapped to a price tier, one tier above it.

    Within a tier, the model with the best training score (ties to the cheaper). Tasks without text get
    difficulty 1. The knob `tier_offset` (default 1) is the escalation margin.
    """

    name = "heuristic"
    knob = "tier_offset"
    knob_grid = (-1.0, 0.0, 1.0, 2.0, 3.0)

    def __init__(self, tier_offset: float = 1.0) -> None:
        self.tier_offset = tier_offset

    def _fit(self, table: OutcomeTable) -> None:
        tiers = np.array([m.tier for m in table.models])
        self.tiers_ = np.unique(tiers)
        score, cost = table.mean_score(), table.cost_usd.mean(axis=0)
        names = np.asarray(table.model_names)
        self.tier_model_ = np.array([
            np.flatnonzero(tiers == t)[best_index(score[tiers == t], cost[tiers == t], names[tiers == t])]
            for t in self.tiers_
        ])

    def route(self, tasks: TaskSet) -> Routing:
        texts = tasks.tasks["text"].tolist()
        has_text = np.array([bool(t.strip()) for t in texts])
        difficulty = np.where(has_text, keyword_difficulty(texts), 1)
        level = np.clip(difficulty + int(self.tier_offset), 0, len(self.tiers_) - 1)
        idx = self.tier_model_[level]
        reasons = [f"difficulty {d} + {int(self.tier_offset)} -> tier {self.tiers_[lv]}"
                   for d, lv in zip(difficulty, level, strict=True)]
        return Routing(model_idx=idx, reasons=reasons)


@register
class DimensionBestRouter(Router):
    """The best model per category on the training tasks (ties to the cheaper); best-single elsewhere."""

    name = "dimension-best"

    def _fit(self, table: OutcomeTable) -> None:
        mean_cost = table.cost_usd.mean(axis=0)
        self.default_idx_ = best_index(table.mean_score(), mean_cost, table.model_names)
        self.by_category_: dict[str, int] = {}
        categories = table.tasks["category"].to_numpy()
        for category in np.unique(categories):
            rows = categories == category
            self.by_category_[str(category)] = best_index(
                table.score[rows].mean(axis=0), table.cost_usd[rows].mean(axis=0), table.model_names)

    def route(self, tasks: TaskSet) -> Routing:
        categories = tasks.tasks["category"].tolist()
        idx = np.array([self.by_category_.get(c, self.default_idx_) for c in categories], dtype=int)
        reasons = [f"best model for category {c!r} on training tasks" if c in self.by_category_
                   else f"category {c!r} unseen in training: best single model" for c in categories]
        return Routing(model_idx=idx, reasons=reasons)
