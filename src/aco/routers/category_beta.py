"""`category-beta`: the live profile's rule as a router, learning from reported outcomes.

P(success | category, model) is a Beta posterior: the prior mean is the model's smoothed training success rate
in the task's category ((s + 1) / (n + 2), the all-categories rate for an unseen category), or, with a `prior`
router (e.g. a trained gbdt artifact), that router's calibrated P(success) for the task; it weighs as
`prior_weight` outcomes against the outcomes reported online for the category: p = (p0 x w + s) / (w + n).
Rule: the cheapest allowed model with P >= `threshold`, else the most likely one; `floors` give categories a
minimum tier. Everything a decision needs is precomputed, so a decision is a few look-ups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.errors import ConfigError
from aco.policies import threshold, tier_floors
from aco.records import Decision, Outcome
from aco.routers.base import Router, Routing
from aco.routers.decision import NoModelAllowedError, TaskContext, allowed_mask
from aco.routers.learned import THRESHOLD_GRID
from aco.routers.registry import make_router, register, router_label

ALL = "*"  # the all-categories row of the training counts


@register
class CategoryBetaRouter(Router):
    """Per-category Beta statistics (or a prior router's P(success)) updated online; cheapest with P >= threshold."""

    name = "category-beta"
    knob = "threshold"
    knob_grid = THRESHOLD_GRID
    spec_arg: ClassVar[str] = "prior"
    fits_empty = True

    def __init__(self, threshold: float = 0.7, prior_weight: float = 2.0, floors: dict[str, int] | None = None,
                 prior: str | Router | None = None, cost_usd: dict[str, float] | None = None) -> None:
        self.threshold = threshold
        self.prior_weight = prior_weight
        self.floors = floors
        self.prior = prior
        self.cost_usd = cost_usd

    # --- fitting -------------------------------------------------------------------------------------
    def _fit(self, table: OutcomeTable) -> None:
        self.tiers_ = np.array([m.tier for m in table.models], dtype=int)
        self.floors_ = {str(k): int(v) for k, v in (self.floors or {}).items()}
        for category, tier in self.floors_.items():
            if tier > int(self.tiers_.max()):
                raise ConfigError(f"category-beta: no candidate meets the tier floor {tier} of category {category!r}")
        self.expected_cost_usd_ = self._costs(table)
        self.counts_ = self._counts(table)
        self.prior_router_ = self._prior(table)
        self.prior_columns_ = self._prior_columns()
        self.online_: dict[str, np.ndarray] = {}  # category -> (2, m): outcomes and successes reported

    def _costs(self, table: OutcomeTable) -> np.ndarray:
        if self.cost_usd is None:
            return np.asarray(self.mean_cost_usd_, dtype=float)
        missing = [m for m in table.model_names if m not in self.cost_usd]
        if missing:
            raise ConfigError(f"category-beta: no expected cost for models {missing}")
        return np.array([float(self.cost_usd[m]) for m in table.model_names])

    @staticmethod
    def _counts(table: OutcomeTable) -> dict[str, np.ndarray]:
        success = table.success.astype(float)
        categories = table.tasks["category"].astype(str).to_numpy()
        counts = {ALL: np.vstack([np.full(table.n_models, float(table.n_tasks)), success.sum(axis=0)])}
        for category in np.unique(categories):
            rows = categories == category
            counts[str(category)] = np.vstack([np.full(table.n_models, float(rows.sum())), success[rows].sum(axis=0)])
        return counts

    def _prior(self, table: OutcomeTable) -> Router | None:
        if self.prior is None or self.prior == "":
            return None
        if isinstance(self.prior, Router):
            return self.prior  # already fitted (a loaded artifact)
        return make_router(self.prior).fit(table)

    def _prior_columns(self) -> np.ndarray | None:
        if self.prior_router_ is None:
            return None
        names = list(self.prior_router_.models_)
        missing = [m for m in self.models_ if m not in names]
        if missing:
            raise ConfigError(f"category-beta: models {missing} are not among the prior router's models {names}")
        return np.array([names.index(m) for m in self.models_])

    # --- estimates -----------------------------------------------------------------------------------
    @property
    def prior_label(self) -> str:
        return "" if self.prior_router_ is None else f"prior {router_label(self.prior_router_)}"

    def p_success(self, category: str, prior_p: np.ndarray | None = None) -> np.ndarray:
        """(m,) P(success) per model: the prior mean (weight `prior_weight`) updated by reported outcomes."""
        cache: dict[str, np.ndarray] = self.__dict__.setdefault("_p_cache", {})
        if prior_p is None and category in cache:
            return cache[category]
        n_on, s_on = self.online_.get(category, np.zeros((2, len(self.models_))))
        if prior_p is None:
            n, s = self.counts_.get(category, self.counts_.get(ALL, np.zeros((2, len(self.models_)))))
            p0 = (s + 1.0) / (n + 2.0)
        else:
            p0 = np.asarray(prior_p, dtype=float)
        p = (p0 * self.prior_weight + s_on) / (self.prior_weight + n_on)
        if prior_p is None:
            cache[category] = p
        return np.asarray(p)

    def _prior_rows(self, tasks: TaskSet) -> np.ndarray | None:
        if self.prior_router_ is None or self.prior_columns_ is None:
            return None
        inner = TaskSet(tasks=tasks.tasks, models=self.prior_router_.model_specs_)
        p = self.prior_router_.route(inner).p_success
        if p is None:
            raise ConfigError(f"category-beta: prior {router_label(self.prior_router_)} gives no P(success)")
        return np.asarray(np.clip(np.asarray(p, dtype=float)[:, self.prior_columns_], 0.0, 1.0))

    def set_online_stats(self, stats: Iterable[tuple[str, str, int, float, float]]) -> None:
        """Replace the online counts by aggregates (category, model, n, successes, cost) from the store."""
        position = {m: j for j, m in enumerate(self.models_)}
        online: dict[str, np.ndarray] = {}
        for category, model, n, successes, _cost in stats:
            if model in position:
                cell = online.setdefault(category, np.zeros((2, len(self.models_))))
                cell[:, position[model]] += (float(n), float(successes))
        self.online_ = online
        self.__dict__.pop("_p_cache", None)

    def _learn_one(self, context: TaskContext, decision: Decision, outcome: Outcome) -> None:
        cell = self.online_.setdefault(context.category, np.zeros((2, len(self.models_))))
        cell[:, self.models_.index(decision.model)] += (1.0, float(outcome.success))
        self.__dict__.get("_p_cache", {}).pop(context.category, None)

    def permitted(self, context: TaskContext) -> tuple[str, ...]:
        mask = tier_floors([context.category], self.floors_, self.tiers_)[0]
        return tuple(m for m, ok in zip(self.models_, mask, strict=True) if ok)

    # --- the rule ------------------------------------------------------------------------------------
    def _choose(self, p: np.ndarray, categories: Any, permitted: np.ndarray | None,
                ) -> tuple[np.ndarray, list[str]]:
        allowed = tier_floors(categories, self.floors_, self.tiers_)
        if permitted is not None:
            allowed = allowed & permitted
            if not allowed.any(axis=1).all():
                raise NoModelAllowedError("no permitted model meets the tier floor of this category")
        idx = threshold(p, self.expected_cost_usd_, self.threshold, allowed)
        source = f"{self.prior_label}: " if self.prior_label else ""
        chosen = p[np.arange(len(idx)), idx]
        reasons = [f"{source}cheapest with P(success)={q:.2f} >= {self.threshold:.2f}" if q >= self.threshold else
                   f"{source}no model reaches {self.threshold:.2f}; most likely P(success)={q:.2f}"
                   for q in chosen.tolist()]
        return idx, reasons

    def route(self, tasks: TaskSet) -> Routing:
        self.check_fitted(tasks)
        categories = tasks.tasks["category"].astype(str).tolist()
        prior = self._prior_rows(tasks)
        p = np.vstack([self.p_success(c, None if prior is None else prior[i]) for i, c in enumerate(categories)])
        p = p.reshape(len(categories), len(self.models_))
        idx, reasons = self._choose(p, categories, None)
        return Routing(model_idx=idx, p_success=p, reasons=reasons)

    def _decide(self, context: TaskContext, allowed: frozenset[str] | None) -> Decision:
        prior = None
        if self.prior_router_ is not None and self.prior_columns_ is not None:
            by_model = self.prior_router_.decide(context).p_success_by_model
            prior = np.clip(np.array([by_model.get(m, np.nan) for m in self.models_]), 0.0, 1.0)
        p = self.p_success(context.category, prior)
        idx, reasons = self._choose(p[None, :], [context.category], allowed_mask(allowed, self.models_))
        j = int(idx[0])
        by_model = dict(zip(self.models_, p.tolist(), strict=True))
        return Decision(task_id=context.task_id, model=self.models_[j], p_success=float(p[j]), reason=reasons[0],
                        step_kind=context.step_kind, p_success_by_model=by_model,
                        expected_cost_usd=float(self.expected_cost_usd_[j]))

    def expected_costs(self) -> Mapping[str, float]:
        """The expected cost per model the rule compares."""
        return dict(zip(self.models_, self.expected_cost_usd_.tolist(), strict=True))
