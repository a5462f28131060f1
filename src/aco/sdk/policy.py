"""The live policy of one profile: P(success) per category and model (a Beta prior learned from recorded
outcomes, updated by reported outcomes), safety floors, and "cheapest model with P >= threshold".

Everything the decision needs is precomputed at startup, so a decision is a few dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from aco.catalog import Catalog, PricedModel
from aco.config import ProfileConfig
from aco.errors import ConfigError
from aco.sdk.artifact_prior import ArtifactPrior
from aco.trajectories.steps import StepPolicy

CategoryModel = tuple[str, str]
_ANY = "*"  # the all-categories row of the prior


@dataclass(frozen=True, slots=True)
class Prior:
    """Recorded success counts per (category, model); category `*` holds the totals per model."""

    counts: Mapping[CategoryModel, tuple[float, float]]  # -> (n, successes)
    source: str = "uninformed (P = 0.5)"


def prior_from_outcomes(categories: Sequence[str], models: Sequence[str], success: Sequence[Sequence[float]],
                        source: str) -> Prior:
    """Counts from a tasks x models success matrix (rows = tasks, in `categories` order)."""
    counts: dict[CategoryModel, tuple[float, float]] = {}
    for category, row in zip(categories, success, strict=True):
        for model, value in zip(models, row, strict=True):
            for key in ((category, model), (_ANY, model)):
                n, s = counts.get(key, (0.0, 0.0))
                counts[key] = (n + 1.0, s + float(value))
    return Prior(counts, source)


def load_prior(datasets: Sequence[str]) -> Prior:
    """Prior counts from aco outcome datasets (the dataset registry is imported only when needed)."""
    if not datasets:
        return Prior({})
    try:
        from aco.datasets.registry import load_dataset
    except ImportError as exc:
        raise ConfigError(f"profile datasets {list(datasets)} need aco.datasets.registry ({exc})") from None
    counts: dict[CategoryModel, tuple[float, float]] = {}
    n_tasks = 0
    for name in datasets:
        table = load_dataset(name)
        if "split" in table.tasks.columns and (table.tasks["split"] == "train").any():
            table = table.subset(np.flatnonzero((table.tasks["split"] == "train").to_numpy()))
        categories = [str(c) for c in table.tasks["category"].tolist()]
        part = prior_from_outcomes(categories, table.model_names, table.success.astype(float).tolist(), name)
        for key, (n, s) in part.counts.items():
            n0, s0 = counts.get(key, (0.0, 0.0))
            counts[key] = (n0 + n, s0 + s)
        n_tasks += table.n_tasks
    return Prior(counts, f"{', '.join(datasets)} ({n_tasks} recorded tasks)")


@dataclass(frozen=True, slots=True)
class Choice:
    """What the policy picked and why."""

    model: str
    p_success_by_model: dict[str, float]
    reason: str
    expected_cost_usd: float
    allowed: tuple[str, ...]


class LivePolicy:
    """Routing rule of one profile over its candidate chain (ordered cheap to strong)."""

    def __init__(self, name: str, profile: ProfileConfig, catalog: Catalog, prior: Prior,
                 artifact: ArtifactPrior | None = None) -> None:
        self.name = name
        self.profile = profile
        self.prior = prior
        self.artifact = artifact
        self.models: tuple[PricedModel, ...] = tuple(catalog.get(c) for c in profile.candidates)
        self.expected_cost_usd = {m.name: m.expected_cost_usd() for m in self.models}
        self._by_cost = sorted(self.models, key=lambda m: (self.expected_cost_usd[m.name], m.tier))
        self._online: dict[CategoryModel, tuple[float, float]] = {}
        self._p_cache: dict[str, dict[str, float]] = {}
        self._allowed_cache: dict[str, tuple[str, ...]] = {}
        self.step_rules = StepPolicy(protected=tuple(profile.protected_paths),
                                     strong_for_all_edits=not profile.protected_paths,
                                     sticky_turns=profile.step_sticky_turns)

    @property
    def strongest(self) -> str:
        """The candidate with the highest expected cost per call (the counterfactual of every call)."""
        return self._by_cost[-1].name

    # --- estimates ---------------------------------------------------------------------------------
    def _prior_p(self, category: str, model: str) -> float:
        n, s = self.prior.counts.get((category, model)) or self.prior.counts.get((_ANY, model)) or (0.0, 0.0)
        return (s + 1.0) / (n + 2.0)

    def task_prior(self, text: str, category: str) -> dict[str, float] | None:
        """The artifact's P(success) per candidate for one task (None without an artifact)."""
        return None if self.artifact is None else self.artifact.p_success(text, category)

    def p_success(self, category: str, task_prior: Mapping[str, float] | None = None) -> dict[str, float]:
        """P(success) per candidate: prior mean (weight `prior_weight`) updated by reported outcomes.

        The prior mean is the task's artifact prediction when given, else the category's recorded rate.
        """
        if task_prior is not None:
            weight = self.profile.prior_weight
            online = [self._online.get((category, m.name), (0.0, 0.0)) for m in self.models]
            return {m.name: (task_prior[m.name] * weight + s) / (weight + n)
                    for m, (n, s) in zip(self.models, online, strict=True)}
        cached = self._p_cache.get(category)
        if cached is not None:
            return cached
        weight = self.profile.prior_weight
        out = {}
        for m in self.models:
            n, s = self._online.get((category, m.name), (0.0, 0.0))
            out[m.name] = (self._prior_p(category, m.name) * weight + s) / (weight + n)
        self._p_cache[category] = out
        return out

    def set_online_stats(self, stats: Iterable[tuple[str, str, int, float, float]]) -> None:
        """Replace the online counts with the store's (category, model, n, successes, cost) aggregates."""
        self._online = {(c, m): (float(n), float(s)) for c, m, n, s, _ in stats}
        self._p_cache.clear()

    def add_outcome(self, category: str, model: str, success: bool) -> None:
        n, s = self._online.get((category, model), (0.0, 0.0))
        self._online[(category, model)] = (n + 1.0, s + float(success))
        self._p_cache.pop(category, None)

    # --- the rule ----------------------------------------------------------------------------------
    def allowed(self, category: str) -> tuple[str, ...]:
        """Candidates at or above the category's minimum tier (cheap to strong)."""
        cached = self._allowed_cache.get(category)
        if cached is None:
            floor = self.profile.floors.get(category, 0)
            cached = tuple(m.name for m in self.models if m.tier >= floor)
            if not cached:
                raise ConfigError(f"profile {self.name!r}: no candidate meets the tier floor {floor} of "
                                  f"category {category!r}")
            self._allowed_cache[category] = cached
        return cached

    def choose(self, category: str, *, exclude: Sequence[str] = (), above: str | None = None,
               task_prior: Mapping[str, float] | None = None) -> Choice:
        """Cheapest allowed model with P >= threshold, else the most likely one (cheaper on ties).

        `exclude` drops models (failed upstreams); `above` keeps only models stronger in the chain (escalation).
        """
        allowed = self.allowed(category)
        if above is not None and above in allowed:
            allowed = allowed[allowed.index(above) + 1:]
        pool = [m for m in self._by_cost if m.name in allowed and m.name not in exclude]
        p = self.p_success(category, task_prior)
        source = f"{self.artifact.label}: " if task_prior is not None and self.artifact is not None else ""
        if not pool:
            raise NoCandidateError(f"no model left for category {category!r} in profile {self.name!r}")
        threshold = self.profile.threshold
        for m in pool:
            if p[m.name] >= threshold:
                reason = f"{source}cheapest with P(success)={p[m.name]:.2f} >= {threshold:.2f}"
                return Choice(m.name, p, reason, self.expected_cost_usd[m.name], allowed)
        best = max(pool, key=lambda m: (p[m.name], -self.expected_cost_usd[m.name]))
        reason = f"{source}no model reaches {threshold:.2f}; most likely P(success)={p[best.name]:.2f}"
        return Choice(best.name, p, reason, self.expected_cost_usd[best.name], allowed)

    def cheaper_than(self, model: str, category: str, exclude: Sequence[str] = ()) -> list[str]:
        """Allowed models cheaper than `model`, most expensive first (budget downgrades)."""
        cost = self.expected_cost_usd[model]
        allowed = self.allowed(category)
        return [m.name for m in reversed(self._by_cost)
                if m.name in allowed and m.name not in exclude and self.expected_cost_usd[m.name] < cost]


class NoCandidateError(ConfigError):
    """Every candidate was excluded (all failed, or none is allowed)."""
