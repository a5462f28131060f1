"""`shift`: a router that knows when a task comes from a group it was not trained on.

`shift:<base>` wraps a learned router (`category-stats` by default, or `gbdt`, `knn`, ...) and a `GroupShift`
measured leave-one-group-out on the training groups (`group_by`, default the category): each training group
is scored by the base router fitted without it, and the mean per-model residual of each group is its offset.
At route time a task's novelty is whether its group was seen in training:
- seen: P(success) is the base router's p0, with the small uncertainty of a mean over the group's tasks;
- unseen (out of distribution): p0 + the mean offset of a new group, with the spread of the offsets across
  training groups (Bayesian shrinkage towards what held across groups);
and the model is the one maximising the lower bound E[P] - risk x sd - cost_usd / value_usd: the more a model's
success varied across training groups, the less an unseen group can count on it. `risk` is the router's knob;
left unset it is chosen by nested leave-one-group-out inside the training groups (each training group scored with
offsets measured on the other training groups only), maximising the objective's reward; with
`shift:category-stats|gbdt` the base router is chosen the same way.

`orchestrator-shift:<base>` is the online loop from the same prior (`aco.online.shift`): a per-group offset
posterior, Thompson sampling with logged propensities, its temperature (and base) chosen by replaying the loop on
each training group from the other training groups' offsets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.errors import ConfigError
from aco.online.bandits import Bandit
from aco.online.memory import InMemoryMemory, Memory
from aco.online.orchestrator import OnlineDecision, Orchestrator
from aco.online.shift import GroupShift, OffsetPosterior, ShiftOrchestrator, ShiftThompson
from aco.online.verifier import BenchmarkVerifier
from aco.policies import chosen_values, utility
from aco.policies.objective import Objective
from aco.routers.base import Router, Routing, objective_for
from aco.routers.learned import LearnedRouter
from aco.routers.online import OnlineRouter
from aco.routers.registry import build_router, register

RISK_GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
TEMPERATURE_GRID = (0.0, 0.015625, 0.0625, 0.25, 1.0)


def group_labels(tasks: Any, column: str) -> np.ndarray:
    """The task column naming each task's group, as strings ('' where the column is absent)."""
    frame = tasks.tasks if isinstance(tasks, TaskSet | OutcomeTable) else tasks
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return np.asarray(frame[column].fillna("").astype(str), dtype=object)


def base_candidates(spec: str) -> list[str]:
    """The base routers a shift router chooses from: `category-stats|gbdt` -> both (chosen on training groups)."""
    candidates = [s.strip() for s in spec.split("|") if s.strip()]
    if not candidates:
        raise ConfigError(f"shift: no base router in {spec!r}")
    return candidates


def make_base(spec: str, seed: int, objective: Objective) -> LearnedRouter:
    """The learned router whose P(success) a shift model corrects (tuned for the same objective)."""
    router = build_router(spec, objective)
    if not isinstance(router, LearnedRouter):
        raise ConfigError(f"shift needs a learned base router with P(success) (category-stats, gbdt, knn, logreg, "
                          f"mf), not {spec!r}")
    return router.set_params(seed=seed)


@dataclass(frozen=True)
class GroupOffsets:
    """Leave-one-group-out residuals of a base router on its training groups."""

    groups: list[str]
    counts: np.ndarray  # (G,) tasks per group
    offsets: np.ndarray  # (G, m) mean residual score - p0 per group and model
    noise_var: np.ndarray  # (m,) residual variance within groups
    oof_p: np.ndarray  # (n, m) each task's p0 from the base fitted without its group
    labels: np.ndarray  # (n,) group of each task

    def shift(self, without: str | None = None) -> GroupShift:
        """The shift model of these groups (leaving out group `without`)."""
        keep = [i for i, g in enumerate(self.groups) if g != without]
        counts = {self.groups[i]: float(self.counts[i]) for i in keep}
        return GroupShift.from_offsets(self.offsets[keep], self.noise_var, counts)


def group_offsets(table: OutcomeTable, base: str, group_by: str, objective: Objective, seed: int = 0,
                  ) -> GroupOffsets:
    """Fit `base` once per training group without it and measure each group's residual offset."""
    labels = group_labels(table, group_by)
    groups = sorted(set(labels.tolist()))
    oof = np.full(table.score.shape, np.nan)
    if len(groups) >= 2:
        for g in groups:
            held = labels == g
            router = make_base(base, seed, objective).fit(table.subset(np.flatnonzero(~held)))
            oof[held] = router.predict(table.subset(np.flatnonzero(held)).task_set())[0]
    residual = table.score - oof
    counts = np.array([(labels == g).sum() for g in groups], dtype=float)
    if len(groups) < 2:
        p = table.score.mean(axis=0)
        return GroupOffsets(groups, counts, np.zeros((len(groups), table.n_models)), p * (1.0 - p), oof, labels)
    offsets = np.stack([residual[labels == g].mean(axis=0) for g in groups])
    position = {g: i for i, g in enumerate(groups)}
    within = residual - offsets[[position[g] for g in labels.tolist()]]
    noise_var = (within ** 2).sum(axis=0) / max(table.n_tasks - len(groups), 1)
    return GroupOffsets(groups, counts, offsets, noise_var, oof, labels)


@register
class ShiftRouter(Router):
    """A learned router plus a leave-one-group-out shift model: robust choices for unseen groups."""

    name = "shift"
    spec_arg: ClassVar[str] = "base"
    knob = "risk"
    knob_grid = RISK_GRID

    def __init__(self, base: str = "category-stats", group_by: str = "category", risk: float | None = None,
                 value_usd: float | None = None, seed: int = 0) -> None:
        self.base = base
        self.group_by = group_by
        self.risk = risk
        self.value_usd = value_usd
        self.seed = seed

    def _fit(self, table: OutcomeTable) -> None:
        self.objective_ = objective_for(self.value_usd, table)
        best: tuple[float, str, GroupOffsets, float] | None = None
        for spec in base_candidates(self.base):
            fit = group_offsets(table, spec, self.group_by, self.objective_, self.seed)
            reward = self._inner_reward(table, fit)
            k = int(np.argmax(np.round(reward, 9)))  # ties: the smallest risk
            if best is None or reward[k] > best[0] + 1e-9:  # ties: the first base
                best = (float(reward[k]), spec, fit, RISK_GRID[k])
        assert best is not None
        _, self.base_spec_, fit, self.auto_risk_ = best
        self.base_ = make_base(self.base_spec_, self.seed, self.objective_).fit(table)
        self.shift_ = fit.shift()

    def _inner_reward(self, table: OutcomeTable, fit: GroupOffsets) -> np.ndarray:
        """Total reward (the objective's) over the training groups, per risk of `RISK_GRID`, each group routed as
        unseen with the offsets of the other training groups (nested leave-one-group-out). With 2 groups the
        other group says nothing about spread (vague prior), so only risk 0 is scored; with 1, nothing is."""
        reward = np.full(len(RISK_GRID), -np.inf)
        if len(fit.groups) < 2:
            reward[0] = 0.0
            return reward
        risks = RISK_GRID if len(fit.groups) >= 3 else RISK_GRID[:1]
        reward[: len(risks)] = 0.0
        for g in fit.groups:
            rows = np.flatnonzero(fit.labels == g)
            shift = fit.shift(without=g)
            cost = table.cost_usd[fit.labels != g].mean(axis=0)
            mean, sd = fit.oof_p[rows] + shift.mean, np.sqrt(np.diag(shift.cov))
            for k, risk in enumerate(risks):
                idx = utility(mean - risk * sd, cost, self.objective_.cost_weight)
                reward[k] += len(rows) * self.objective_.mean_reward(table.score[rows], table.cost_usd[rows], idx)
        return reward

    # --- routing ------------------------------------------------------------------------------------
    def predict(self, tasks: TaskSet) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Shifted P(success), its sd, expected cost (n, m) and whether each task's group is unseen (n,)."""
        p0, cost = self.base_.predict(tasks)
        groups = group_labels(tasks, self.group_by).tolist()
        unseen = np.array([not self.shift_.seen(g) for g in groups], dtype=bool)
        mean = p0 + unseen[:, None] * self.shift_.mean[None, :]
        return mean, self.shift_.sd(groups).reshape(p0.shape), cost, unseen

    def route(self, tasks: TaskSet) -> Routing:
        mean, sd, cost, unseen = self.predict(tasks)
        risk = self.risk if self.risk is not None else self.auto_risk_
        idx = utility(mean - risk * sd, cost, self.objective_.cost_weight)
        names, groups = tasks.model_names, group_labels(tasks, self.group_by)
        p, s = chosen_values(mean, idx), chosen_values(sd, idx)
        rule = f"max P - {risk:g} sd - cost / ${self.objective_.value_usd:g}"
        reasons = []
        for j, g, new, pj, sj in zip(idx.tolist(), groups, unseen.tolist(), p.tolist(), s.tolist(), strict=True):
            where = (f"out of distribution: {self.group_by} {g!r} not seen in training, P shifted and widened "
                     f"by the spread over {len(self.shift_.group_n)} training groups" if new
                     else f"{self.group_by} {g!r} seen in training")
            reasons.append(f"{where}; {rule}: {names[j]} (P={pj:.2f} +- {sj:.2f})")
        return Routing(model_idx=idx, p_success=np.clip(mean, 0.0, 1.0), reasons=reasons)

    # --- state for artifacts ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"base_spec": self.base_spec_, "base": self.base_.to_state(), "shift": self.shift_.to_state(),
                "auto_risk": self.auto_risk_, "value_usd": self.objective_.value_usd,
                "value_source": self.objective_.source}

    def load_state(self, state: dict[str, Any]) -> None:
        self.objective_ = Objective(float(state["value_usd"]), str(state["value_source"]))
        self.base_spec_ = str(state["base_spec"])
        self.base_ = make_base(self.base_spec_, self.seed, self.objective_)
        self.base_.load_state(state["base"])
        self.shift_ = GroupShift.from_state(state["shift"])
        self.auto_risk_ = float(state["auto_risk"])

    def describe(self) -> dict[str, Any]:
        inner = self.base_.describe()
        policy = {"name": "shift", "base": self.base_spec_, "knob": "risk", "knob_value": self.risk,
                  "auto_risk": self.auto_risk_, "value_usd": self.objective_.value_usd,
                  "group_by": self.group_by, "training_groups": sorted(self.shift_.group_n),
                  "base_policy": inner["policy"]}
        return {**inner, "policy": policy}


@register
class ShiftOrchestratorRouter(OnlineRouter):
    """The online loop from a transferred `shift:<prior>` router: Thompson sampling on the prior's P(success)
    plus a per-group offset whose posterior weighs new outcomes against the prior by how far they depart from
    it (`aco.online.shift`). Groups are the `group_by` column; unseen groups start from the offsets of the
    training groups, seen ones from the prior itself.

    `temperature` (1 = Thompson sampling, 0 = posterior-mean greedy) sets how much the loop explores; left unset
    it is chosen by nested leave-one-group-out: the loop is replayed on each training group, from the offsets of
    the other training groups, and the temperature with the highest total reward wins.
    """

    name = "orchestrator-shift"
    spec_arg: ClassVar[str] = "prior"
    fits_empty = False  # the prior and the offsets need every model's outcomes on training groups

    def __init__(self, value_usd: float | None = None, seed: int = 0, n_features: int = 256,
                 prior: str | None = "category-stats", epsilon: float = 0.0, prior_weight: float = 20.0,
                 knn_k: int | None = 0, group_by: str = "category", temperature: float | None = None) -> None:
        super().__init__(value_usd=value_usd, seed=seed, n_features=n_features, prior=prior, epsilon=epsilon,
                         prior_weight=prior_weight, knn_k=knn_k)
        self.group_by = group_by
        self.temperature = temperature

    def make_policy(self, cost_weight: float, temperature: float | None = None) -> Bandit:
        t = temperature if temperature is not None else self.temperature
        t = t if t is not None else getattr(self, "auto_temperature_", 1.0)
        return ShiftThompson(cost_weight=cost_weight, seed=self.seed, epsilon=self.epsilon, temperature=t)

    def make_orchestrator(self, models: Sequence[str], memory: Memory | None = None,
                          objective: Objective | None = None) -> Orchestrator:
        objective = objective or getattr(self, "objective_", None)
        if objective is None:
            if self.value_usd is None:
                raise ValueError(f"{self.name}: give value_usd (or an objective) to start a loop without a table")
            objective = Objective(float(self.value_usd), "router parameter value_usd")
        return self._orchestrator(models, getattr(self, "shift_", None), objective, memory)

    def _orchestrator(self, models: Sequence[str], shift: GroupShift | None, objective: Objective,
                      memory: Memory | None = None, temperature: float | None = None) -> ShiftOrchestrator:
        return ShiftOrchestrator(models=tuple(models), memory=memory or InMemoryMemory(self.n_features),
                                 policy=self.make_policy(objective.cost_weight, temperature),
                                 prior_weight=self.prior_weight, knn_k=self.knn_k or 0, shift=shift)

    def _fit(self, table: OutcomeTable) -> None:
        self.objective_ = objective_for(self.value_usd, table)
        best: tuple[float, str, GroupOffsets, float] | None = None
        candidates = base_candidates(self.prior or "category-stats")
        temperatures = TEMPERATURE_GRID if self.temperature is None else (self.temperature,)
        for spec in candidates:
            fit = group_offsets(table, spec, self.group_by, self.objective_, self.seed)
            choose = len(candidates) > 1 or len(temperatures) > 1
            reward = self._inner_reward(table, fit, temperatures) if choose else np.zeros(1)
            k = int(np.argmax(np.round(reward, 9)))  # ties: the greedier
            if best is None or reward[k] > best[0] + 1e-9:  # ties: the first base
                best = (float(reward[k]), spec, fit, temperatures[k])
        assert best is not None
        _, self.base_spec_, fit, self.auto_temperature_ = best
        self.shift_ = fit.shift()
        self.prior_router_ = make_base(self.base_spec_, self.seed, self.objective_).fit(table)
        self.prior_n_by_category_ = dict(self.shift_.group_n)
        self.prior_cost_usd_ = np.asarray(self.mean_cost_usd_, dtype=float)
        self.orchestrator_ = self.make_orchestrator(table.model_names)
        self.pending_: OrderedDict[str, OnlineDecision] = OrderedDict()

    def _inner_reward(self, table: OutcomeTable, fit: GroupOffsets, temperatures: tuple[float, ...]) -> np.ndarray:
        """Total reward of the loop replayed on each training group from the other groups' offsets (nested
        leave-one-group-out), per temperature; nothing to replay with fewer than 2 groups."""
        reward = np.zeros(len(temperatures))
        if len(fit.groups) < 2:
            return reward
        for g in fit.groups:
            rows = np.flatnonzero(fit.labels == g)
            cost = table.cost_usd[fit.labels != g].mean(axis=0)
            for k, t in enumerate(temperatures):
                orch = self._orchestrator(table.model_names, fit.shift(without=g), self.objective_, temperature=t)
                reward[k] += self._replay(orch, table, rows, fit.oof_p, cost, g)
        return reward

    def _replay(self, orch: ShiftOrchestrator, table: OutcomeTable, rows: np.ndarray, prior_p: np.ndarray,
                cost: np.ndarray, group: str) -> float:
        """Total reward of the loop streaming `rows` (seeded order) from the prior, learning from the scores."""
        judge, blank, ids = BenchmarkVerifier(table), np.zeros(self.n_features), table.task_ids
        total = 0.0
        for row in np.random.default_rng(self.seed).permutation(rows).tolist():
            decision = orch.decide(ids[row], group, blank, prior_p[row], cost, log=False)
            feedback = judge(row, decision.choice.arm)
            orch.learn(decision, feedback)
            total += float(self.objective_.reward(np.array(feedback.score), np.array(feedback.cost_usd)))
        return total

    def group_keys(self, tasks: TaskSet) -> list[str]:
        return [str(g) for g in group_labels(tasks, self.group_by).tolist()]

    def to_state(self) -> dict[str, Any]:
        """The loop's state (`OnlineRouter.to_state`) plus the shift model and every group's offset posterior."""
        orch = self.orchestrator_
        assert isinstance(orch, ShiftOrchestrator)
        return {**super().to_state(), "shift": self.shift_.to_state(), "base_spec": self.base_spec_,
                "auto_temperature": self.auto_temperature_,
                "offsets": {g: post.to_state() for g, post in orch.offsets_.items()}}

    def load_state(self, state: dict[str, Any]) -> None:
        self.shift_ = GroupShift.from_state(state["shift"])
        self.base_spec_ = str(state["base_spec"])
        self.auto_temperature_ = float(state["auto_temperature"])
        super().load_state(state)
        orch = self.orchestrator_
        assert isinstance(orch, ShiftOrchestrator)
        orch.offsets_.update({str(g): OffsetPosterior.from_state(v) for g, v in state["offsets"].items()})

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["policy"].update(base=self.base_spec_, temperature=self.auto_temperature_, group_by=self.group_by,
                             training_groups=sorted(self.shift_.group_n))
        return out
