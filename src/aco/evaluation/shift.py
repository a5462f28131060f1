"""Shift protocols: leave-one-group-out and cross-dataset transfer, reported per held-out group and pooled.

Leave-one-group-out (`holdout`): for each group of a task column (a category, a source benchmark, a user's
`group`), routers are fitted on every other group and judged on the held-out one. Transfer (`transfer`): fitted
on one table, judged on each group of another. For each held-out group:
- static routers are fitted on the training data and route every held-out task (no feedback);
- online routers are fitted on the training data (their transferred prior), then stream the held-out group's
  tasks one at a time in a seeded shuffled order, learning from each outcome; one run per seed (the seed moves
  the order and the exploration, the prior is fitted once);
- references: every single model on the held-out group, the best single model of the training data (what a
  router that ignores the shift would deploy), the best single model of the held-out group in hindsight (least
  regret on it, ties to the cheaper) and the oracle.
Regret is Agent-as-a-Router's, from recorded outcomes, with reward = score - cost_usd / value_usd (`Objective`:
`--value-usd`, else the table's default; `task_regret` is the one place it is applied here); the routers tune for the
same objective.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from aco.datasets.table import OutcomeTable
from aco.errors import AcoError
from aco.evaluation import metrics
from aco.evaluation.replay import Decisions
from aco.evaluation.stream import PriorEvidence, online_stream, stream_order
from aco.online.orchestrator import category_counts
from aco.online.shift import GroupShift
from aco.policies.objective import Objective
from aco.routers.base import Router
from aco.routers.baselines import BestSingleRouter, OracleRouter
from aco.routers.online import OnlineRouter
from aco.routers.registry import build_router, make_router, router_label

Progress = Callable[[str], None]


def task_regret(table: OutcomeTable, score: np.ndarray, cost_usd: np.ndarray, objective: Objective) -> np.ndarray:
    """Per-task regret of realised (score, cost) on `table`: best single-call reward minus the reward."""
    return metrics.regret_per_task(score, cost_usd, table.score, table.cost_usd, objective.cost_weight)


@dataclass(frozen=True)
class Score:
    """A router's (or a model's) result on one held-out group."""

    regret: float
    success: float
    cost_usd: float
    model_share: dict[str, float] = field(default_factory=dict)  # share of tasks per model (final model)

    @classmethod
    def of(cls, table: OutcomeTable, score: np.ndarray, cost_usd: np.ndarray, objective: Objective,
           model_idx: np.ndarray | None = None) -> Score:
        share = {} if model_idx is None else {
            table.model_names[j]: float(v) for j, v in enumerate(metrics.model_share(model_idx, table.n_models)) if v}
        regret = float(task_regret(table, score, cost_usd, objective).sum())
        return cls(regret, float(np.mean(score)), float(np.sum(cost_usd)), share)

    @classmethod
    def of_decisions(cls, table: OutcomeTable, decisions: Decisions, objective: Objective) -> Score:
        return cls.of(table, decisions.score(table), decisions.cost_usd(table), objective, decisions.model_idx)


@dataclass
class GroupReport:
    """Every router and reference on one held-out group."""

    group: str
    n_tasks: int
    n_train: int
    train_best: str
    hindsight_best: str
    single: dict[str, Score]
    oracle: Score
    static: dict[str, Score] = field(default_factory=dict)
    online: dict[str, list[Score]] = field(default_factory=dict)
    chosen: dict[str, dict[str, Any]] = field(default_factory=dict)  # what each router chose on the training data

    def online_regret(self, spec: str) -> tuple[float, float]:
        """Mean and sample sd of the online router's regret over seeds."""
        regrets = np.array([s.regret for s in self.online[spec]])
        return float(regrets.mean()), float(regrets.std(ddof=1)) if len(regrets) > 1 else 0.0

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["online_mean_sd"] = {spec: list(self.online_regret(spec)) for spec in self.online}
        return row


@dataclass
class ShiftResult:
    """A shift protocol's per-group reports."""

    dataset: str
    protocol: str  # "leave-one-group-out" or "transfer"
    group_by: str
    seeds: list[int]
    models: list[str]
    objective: Objective = field(default_factory=Objective.paper)
    groups: list[GroupReport] = field(default_factory=list)

    def pooled(self) -> GroupReport:
        """Sums over the held-out groups (online: per seed, then mean and sd); success is task-weighted."""
        n = sum(g.n_tasks for g in self.groups)

        def pool(scores: list[Score], sizes: list[int]) -> Score:
            success = sum(s.success * k for s, k in zip(scores, sizes, strict=True)) / n
            return Score(sum(s.regret for s in scores), success, sum(s.cost_usd for s in scores))

        sizes = [g.n_tasks for g in self.groups]
        first = self.groups[0]
        return GroupReport(
            group="pooled", n_tasks=n, n_train=0, train_best="per group", hindsight_best="per group",
            single={m: pool([g.single[m] for g in self.groups], sizes) for m in first.single},
            oracle=pool([g.oracle for g in self.groups], sizes),
            static={s: pool([g.static[s] for g in self.groups], sizes) for s in first.static},
            online={s: [pool([g.online[s][k] for g in self.groups], sizes) for k in range(len(self.seeds))]
                    for s in first.online},
        )

    def reference_regrets(self, report: GroupReport) -> tuple[float, float]:
        """(train-best single, hindsight-best single) regret of a group report (pooled: sums over groups)."""
        if report.group == "pooled":
            return (sum(g.single[g.train_best].regret for g in self.groups),
                    sum(g.single[g.hindsight_best].regret for g in self.groups))
        return report.single[report.train_best].regret, report.single[report.hindsight_best].regret

    def to_json(self) -> dict[str, Any]:
        pooled = self.pooled()
        return {"dataset": self.dataset, "protocol": self.protocol, "group_by": self.group_by, "seeds": self.seeds,
                "models": self.models, "objective": {"value_usd": self.objective.value_usd,
                                                      "source": self.objective.source},
                "groups": [g.to_json() for g in self.groups], "pooled": pooled.to_json(),
                "pooled_references": dict(zip(("train_best_regret", "hindsight_best_regret"),
                                              self.reference_regrets(pooled), strict=True))}


def group_column(table: OutcomeTable, column: str) -> np.ndarray:
    """The task column whose values are the groups; an error names the columns there are."""
    if column not in table.tasks.columns:
        raise AcoError(f"--holdout-group {column!r}: {table.name} has no such task column "
                       f"(have {', '.join(map(str, table.tasks.columns))})")
    return np.asarray(table.tasks[column].fillna("").astype(str))


def _set_group(router: Any, column: str) -> Any:
    if "group_by" in router.get_params():
        router.set_params(group_by=column)
    return router


def _keyed(table: OutcomeTable, column: str) -> OutcomeTable:
    """The table with `category` set to the group column: the key online loops keep their statistics under."""
    if column == "category":
        return table
    from dataclasses import replace

    return replace(table, tasks=table.tasks.assign(category=table.tasks[column].astype(str)))


def _references(train: OutcomeTable, test: OutcomeTable, objective: Objective) -> dict[str, Any]:
    single = {name: Score.of(test, test.score[:, j], test.cost_usd[:, j], objective)
              for j, name in enumerate(test.model_names)}
    regret = np.array([single[m].regret for m in test.model_names])
    hindsight = int(np.lexsort((test.total_cost_usd(), np.round(regret, 9)))[0])
    best = BestSingleRouter().fit(train)
    oracle = OracleRouter().fit(test).route_table(test)
    return {"single": single, "train_best": train.model_names[best.model_idx_],
            "hindsight_best": test.model_names[hindsight],
            "oracle": Score.of_decisions(test, Decisions(oracle.model_idx, oracle.paid(test.n_models)), objective)}


CHOSEN = ("base_spec_", "auto_risk_", "auto_temperature_", "auto_threshold_", "auto_lam_")


def chosen_settings(router: Router) -> dict[str, Any]:
    """What a fitted router chose on its training data (base, knobs) and, for shift models, the offsets' prior."""
    out: dict[str, Any] = {name.rstrip("_"): getattr(router, name) for name in CHOSEN if hasattr(router, name)}
    shift = getattr(router, "shift_", None)
    if isinstance(shift, GroupShift):
        out["offset_mean"] = shift.mean.tolist()
        out["offset_sd"] = np.sqrt(np.diag(shift.cov)).tolist()
    return out


def _static(spec: str, train: OutcomeTable, test: OutcomeTable, column: str, objective: Objective,
            ) -> tuple[Score, dict[str, Any]]:
    router = _set_group(build_router(spec, objective), column).fit(train)
    routing = router.route_table(test)
    decisions = Decisions(routing.model_idx, routing.paid(test.n_models))
    return Score.of_decisions(test, decisions, objective), chosen_settings(router)


def _online(spec: str, train: OutcomeTable, test: OutcomeTable, column: str, seeds: Sequence[int],
            objective: Objective) -> tuple[list[Score], dict[str, Any]]:
    router = _set_group(build_router(spec, objective, seed=seeds[0]), column)
    if not isinstance(router, OnlineRouter):
        raise AcoError(f"{spec!r} is not an online router")
    router.fit(train)
    p = router.prior_p(test.task_set())
    prior = None
    if p is not None:
        counts = category_counts(group_column(train, column)) if column in train.tasks.columns else {}
        n_train = np.array([counts.get(g, 0.0) for g in group_column(test, column)])
        prior = PriorEvidence(p, n_train, np.tile(train.cost_usd.mean(axis=0), (test.n_tasks, 1)))
    keyed = _keyed(test, column)
    scores = []
    for seed in seeds:
        router.set_params(seed=seed)
        run = online_stream(router, keyed, stream_order(test.n_tasks, "shuffle", seed), prior=prior,
                            label=router_label(router), objective=objective)
        scores.append(Score.of(test, run.score, run.cost_usd, objective, run.model_idx))
    return scores, chosen_settings(router)


def evaluate_group(train: OutcomeTable, test: OutcomeTable, group: str, column: str, static: Sequence[str],
                   online: Sequence[str], seeds: Sequence[int], objective: Objective,
                   progress: Progress | None = None) -> GroupReport:
    """Fit on `train`, judge on `test` (one held-out group): references, static routers, online loops."""
    report = GroupReport(group=group, n_tasks=test.n_tasks, n_train=train.n_tasks,
                         **_references(train, test, objective))
    for spec in static:
        if progress:
            progress(f"{group}: {spec}")
        report.static[spec], report.chosen[spec] = _static(spec, train, test, column, objective)
    for spec in online:
        if progress:
            progress(f"{group}: {spec} x {len(seeds)} seeds")
        report.online[spec], report.chosen[spec] = _online(spec, train, test, column, seeds, objective)
    return report


def split_specs(specs: Sequence[str]) -> tuple[list[str], list[str]]:
    """(static, online) router specs."""
    online = [s for s in specs if isinstance(make_router(s), OnlineRouter)]
    return [s for s in specs if s not in online], online


def run_holdout(table: OutcomeTable, column: str, specs: Sequence[str], seeds: Sequence[int],
                progress: Progress | None = None, objective: Objective | None = None) -> ShiftResult:
    """Leave-one-group-out over the groups of `column` (`objective`: default the table's)."""
    objective = objective or Objective.of_table(table)
    labels = group_column(table, column)
    groups = sorted(set(labels.tolist()))
    if len(groups) < 2:
        raise AcoError(f"--holdout-group {column!r}: {table.name} has {len(groups)} group(s); need at least 2")
    static, online = split_specs(specs)
    result = ShiftResult(table.name, "leave-one-group-out", column, list(seeds), table.model_names, objective)
    for g in groups:
        train, test = table.subset(np.flatnonzero(labels != g)), table.subset(np.flatnonzero(labels == g))
        result.groups.append(evaluate_group(train, test, g, column, static, online, seeds, objective, progress))
    return result


def run_transfer(train: OutcomeTable, test: OutcomeTable, column: str, specs: Sequence[str], seeds: Sequence[int],
                 progress: Progress | None = None, objective: Objective | None = None) -> ShiftResult:
    """Fit on `train` (all of it), judge on each group of `column` in `test` (`objective`: default the training
    table's)."""
    objective = objective or Objective.of_table(train)
    if train.model_names != test.model_names:
        raise AcoError(f"--train and --test must list the same models in the same order (after aliases): "
                       f"{train.model_names} vs {test.model_names}")
    labels = group_column(test, column)
    static, online = split_specs(specs)
    result = ShiftResult(f"{train.name} -> {test.name}", "transfer", column, list(seeds), test.model_names, objective)
    for g in sorted(set(labels.tolist())):
        part = test.subset(np.flatnonzero(labels == g))
        result.groups.append(evaluate_group(train, part, g, column, static, online, seeds, objective, progress))
    return result
