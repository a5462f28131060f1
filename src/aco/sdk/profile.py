"""A live profile: the `Router` it serves and its candidate chain with catalog prices.

The router is either a trained artifact (`router = "x.aco"`: any registered router, served exactly as
`aco bench` replayed it) or the `category-beta` rule built from the profile's keys (`threshold`,
`prior_weight`, `floors`, the outcomes of `datasets` and optionally a `prior = "x.aco"` artifact). Candidates
are listed cheap to strong: the fallback and escalation order. A bad artifact stops startup with an error that
names the profile, the file and what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from aco.catalog import Catalog, PricedModel
from aco.config import ProfileConfig
from aco.datasets.table import OutcomeTable
from aco.errors import AcoError, ArtifactError, ConfigError
from aco.records import ModelSpec
from aco.routers.base import Router
from aco.routers.category_beta import CategoryBetaRouter
from aco.trajectories.steps import StepPolicy
from aco.verifiers import UnknownVerifierError, Verifier, make_verifier

RULE_KEYS = ("threshold", "prior_weight", "floors", "datasets", "prior")  # the built rule's keys
LIVE_SIGNALS = frozenset({"response", "cost_usd"})  # what the live environment observes after a call


@dataclass
class LiveProfile:
    """A profile at run time: its router, candidates (cheap to strong) and prices, and the step rules."""

    name: str
    config: ProfileConfig
    router: Router
    models: tuple[PricedModel, ...]
    source: str = "profile keys"
    verifiers: tuple[Verifier, ...] = ()  # checked after each non-streamed answer (`TaskHandle.verify`)
    expected_cost_usd: dict[str, float] = field(init=False)
    step_rules: StepPolicy = field(init=False)

    def __post_init__(self) -> None:
        self.expected_cost_usd = {m.name: m.expected_cost_usd() for m in self.models}
        self.step_rules = StepPolicy(protected=tuple(self.config.protected_paths),
                                     strong_for_all_edits=not self.config.protected_paths,
                                     sticky_turns=self.config.step_sticky_turns)

    @property
    def strongest(self) -> str:
        """The candidate with the highest expected cost per call (the counterfactual of every call)."""
        return max(self.models, key=lambda m: (self.expected_cost_usd[m.name], m.tier)).name

    @property
    def chain(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    def stronger_than(self, model: str) -> tuple[str, ...]:
        """Candidates after `model` in the chain (escalation targets)."""
        chain = self.chain
        return chain[chain.index(model) + 1:] if model in chain else ()

    def cheaper_than(self, model: str, among: Sequence[str]) -> list[str]:
        """Models of `among` whose expected cost is below `model`'s (budget downgrades)."""
        cost = self.expected_cost_usd[model]
        return [m for m in among if self.expected_cost_usd[m] < cost]


def load_artifact(profile: str, path: Path, role: str = "router") -> Router:
    """A saved router; errors name the profile, the key and the file."""
    from aco.artifacts import load_router

    try:
        router, _ = load_router(path)
    except ArtifactError as exc:
        raise ArtifactError(f"profile {profile!r}: {role} artifact {path}: {exc}") from None
    return router


def _served(name: str, profile: ProfileConfig, candidates: Sequence[str]) -> tuple[Router, str]:
    """The artifact a profile serves exactly, checked against its candidates and what the proxy observes."""
    path = Path(profile.router)
    rule_keys = sorted(k for k in RULE_KEYS if k in profile.model_fields_set)
    if rule_keys:
        raise ConfigError(f"profile {name!r}: `router = {path}` serves the artifact exactly, so {rule_keys} "
                          "cannot apply: train them into the artifact, or use `prior` for a category-beta rule")
    router = load_artifact(name, path)
    where = f"profile {name!r}: router artifact {path}"
    if set(candidates) != set(router.models_):
        raise ArtifactError(f"{where}: candidates {sorted(candidates)} differ from the artifact's models "
                            f"{sorted(router.models_)}; the artifact decides among its own models, list exactly those")
    needs = set(getattr(router, "signals_", ())) - LIVE_SIGNALS
    if router.multi_step and needs:
        raise ArtifactError(f"{where}: the {router.name} router reads signals {sorted(needs)} that a live call "
                            f"does not show (the proxy observes {sorted(LIVE_SIGNALS)})")
    return router, f"artifact {path} ({router.name})"


def profile_table(name: str, datasets: Sequence[str], specs: Sequence[ModelSpec]) -> OutcomeTable:
    """The training outcomes of a profile's `datasets` (their train split where they have one) over its
    candidates, with the config's model specs; an empty table when it lists none."""
    from aco.datasets.registry import load_dataset

    names = [m.name for m in specs]
    parts = []
    for dataset in datasets:
        table = load_dataset(dataset)
        if "split" in table.tasks.columns and (table.tasks["split"] == "train").any():
            table = table.subset(np.flatnonzero((table.tasks["split"] == "train").to_numpy()))
        try:
            parts.append(table.select_models(names))
        except AcoError as exc:
            raise ConfigError(f"profile {name!r}: dataset {dataset!r}: {exc}") from None
    tasks = pd.concat([p.tasks.set_axis([f"{p.name}/{t}" for t in p.task_ids]) for p in parts]) if parts else \
        pd.DataFrame({"text": [], "category": []}, index=pd.Index([], dtype=str))
    m = len(names)
    score = np.vstack([p.score for p in parts]) if parts else np.zeros((0, m))
    cost = np.vstack([p.cost_usd for p in parts]) if parts else np.zeros((0, m))
    return OutcomeTable(name=f"profile {name}", tasks=tasks, models=tuple(specs), score=score, cost_usd=cost)


def load_verifiers(name: str, profile: ProfileConfig) -> tuple[Verifier, ...]:
    """The profile's verifiers (its `verifiers` entries, then `length` for `verify_min_chars`); an unknown verifier
    or parameter is a ConfigError naming the profile."""
    out = []
    for i, entry in enumerate(profile.verifiers):
        try:
            out.append(make_verifier(entry.name, **entry.params()))
        except UnknownVerifierError as exc:
            raise ConfigError(f"profile {name!r}: verifiers[{i}]: {exc}") from None
    if profile.verify_min_chars:
        out.append(make_verifier("length", min_chars=profile.verify_min_chars))
    return tuple(out)


def load_profile(name: str, profile: ProfileConfig, catalog: Catalog, router: Router | None = None) -> LiveProfile:
    """The profile's router (given, the served artifact, or category-beta fitted on its datasets), prices and
    verifiers."""
    models = tuple(catalog.get(c) for c in profile.candidates)
    verifiers = load_verifiers(name, profile)
    if router is not None:
        return LiveProfile(name, profile, router, models, "given", verifiers)
    if profile.router:
        served, source = _served(name, profile, profile.candidates)
        return LiveProfile(name, profile, served, models, source, verifiers)
    prior = load_artifact(name, Path(profile.prior), "prior") if profile.prior else None
    rule = CategoryBetaRouter(threshold=profile.threshold, prior_weight=profile.prior_weight,
                              floors=dict(profile.floors), prior=prior,
                              cost_usd={m.name: m.expected_cost_usd() for m in models})
    try:
        rule.fit(profile_table(name, profile.datasets, [m.spec for m in models]))
    except ConfigError as exc:
        raise ConfigError(f"profile {name!r}: {exc}") from None
    source = "profile keys" + (f", prior {profile.prior}" if profile.prior else "")
    return LiveProfile(name, profile, rule, models, source, verifiers)
