"""The trajectory value head, evaluated: escalate after K turns (K = 0..6) on SWE-bench Verified trajectories.

At turn K a calibrated classifier reads features of turns 1..K (plus the task text) and predicts
P(cheap run succeeds). Rule: continue cheap if P(cheap) x value >= P(strong) x value - extra cost, else
escalate. Escalating costs the cheap turns 1..K (per-turn tokens at the stated price) plus the strong
model's full run. Out-of-fold predictions use the protocol's 5 folds (seed 0) over the tasks with turns;
K = 0 is the description-only router on the very same tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from aco.controllers.stop import should_escalate, should_stop, stop_savings
from aco.evaluation import metrics
from aco.evaluation.protocol import kfold_splits
from aco.trajectories.candidates import candidates_upto
from aco.trajectories.features import cost_so_far_usd, feature_frame
from aco.trajectories.pairs import Pair
from aco.trajectories.steps import StepPolicy, classify_step, switches
from aco.trajectories.value_head import ValueHead, nested_oof

VALUE_GRID_USD = (0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)
STOP_VALUES_USD = (1.0, 2.0, 5.0, 10.0)
SHARE_GRID = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))


HEAD_FAMILIES = ("base", "localisation", "reproduction", "semantics")


def candidate_heads(k: int, seed: int = 0, heads: str = "base") -> list[ValueHead]:
    """The value heads `select_head` chooses among at turn k (by inner CV on the training rows only): the original
    ones ("base"), or they plus the families of `aco.trajectories.candidates` up to `heads` (localisation,
    reproduction, turn semantics: slower to select, and no better under nested CV; see
    docs/results/execution-feedback.md)."""
    if heads not in HEAD_FAMILIES:
        raise ValueError(f"unknown head family {heads!r}; choose one of {', '.join(HEAD_FAMILIES)}")
    return candidates_upto(heads, k, seed)


def bow_baseline(k: int, seed: int = 0) -> ValueHead:
    """SWE-Router-style baseline: TF-IDF of turns 1..k (thoughts, actions, observations) + logistic, C = 1
    (K = 0: TF-IDF of the task text)."""
    if k == 0:
        return ValueHead(numeric=(), use_text=True, c=1.0, seed=seed, label="bow-task")
    return ValueHead(numeric=(), use_text=True, task_text=False, extra_text=("turns_full_text",), c=1.0,
                     seed=seed, label="bow-turns")


def out_of_fold_p(pair: Pair, rows: np.ndarray, k: int, folds: int = 5, seed: int = 0,
                  baseline: bool = False, heads: str = "base") -> tuple[np.ndarray, list[str]]:
    """P(cheap succeeds | turns 1..k, task text) for `rows`, each predicted by the outer fold holding it out.

    The head is chosen among `candidate_heads` by 3-fold CV inside that fold's training rows (nested CV) and
    recalibrated on its inner out-of-fold predictions; with `baseline`, the fixed bag-of-words head instead.
    Also returns the chosen head's label per outer fold.
    """
    ids = [pair.task_ids[i] for i in rows]
    frame = feature_frame(ids, pair.trajectories, pair.texts, k)
    y = pair.cheap_success[rows].astype(int)
    if baseline:
        p = np.full(len(rows), np.nan)
        for split in kfold_splits(len(rows), folds, seed):
            head = bow_baseline(k, seed).fit(frame.iloc[split.train], y[split.train])
            p[split.test] = head.predict(frame.iloc[split.test])
        return p, [head.label] * folds
    return nested_oof(frame, y, candidate_heads(k, seed, heads), folds, seed)


def escalation_curve(pair: Pair, rows: np.ndarray, p_cheap: np.ndarray, k: int, folds: int = 5, seed: int = 0,
                     values_usd: Sequence[float] = VALUE_GRID_USD) -> list[dict[str, Any]]:
    """Success and total cost of escalate-at-K on `rows`: by escalated share, and by the value rule.

    Share rule: escalate the given share of tasks with the lowest P(cheap). Value rule: escalate when
    P(cheap) x value < P(strong) x value - extra cost; P(strong) and the extra cost of escalating are
    means over each fold's training tasks.
    """
    ids = [pair.task_ids[i] for i in rows]
    so_far = cost_so_far_usd(pair.trajectories, ids, k)
    cheap_ok, strong_ok = pair.cheap_success[rows], pair.strong_success[rows]
    cheap_cost, strong_cost = pair.cheap_cost_usd[rows], pair.strong_cost_usd[rows]
    p_strong, extra = np.zeros(len(rows)), np.zeros(len(rows))
    for split in kfold_splits(len(rows), folds, seed):
        tr = split.train
        p_strong[split.test] = strong_ok[tr].mean()
        extra[split.test] = strong_cost[tr].mean() - (cheap_cost[tr] - so_far[tr]).mean()
    curve = []
    rank = np.argsort(np.argsort(p_cheap, kind="stable"), kind="stable")  # 0 = least likely to succeed
    for share in SHARE_GRID:
        escalate = rank < round(share * len(rows))
        success = np.where(escalate, strong_ok, cheap_ok)
        cost = np.where(escalate, so_far + strong_cost, cheap_cost)
        curve.append({"rule": "share", "value_usd": float("nan"), "escalated_share": float(escalate.mean()),
                      "success": float(success.mean()), "cost_usd": float(cost.sum())})
    for value in values_usd:
        escalate = should_escalate(p_cheap, p_strong, extra, value)
        success = np.where(escalate, strong_ok, cheap_ok)
        cost = np.where(escalate, so_far + strong_cost, cheap_cost)
        curve.append({"rule": "value", "value_usd": float(value), "escalated_share": float(escalate.mean()),
                      "success": float(success.mean()), "cost_usd": float(cost.sum())})
    return curve


@dataclass(frozen=True)
class KResult:
    """Route-AUC (escalation needed = the cheap run fails) with its 95% CI, calibration and the curve at one K."""

    k: int
    route_auc: float
    route_auc_ci: tuple[float, float]
    route_auc_strict: float
    route_auc_strict_ci: tuple[float, float]
    brier: float
    ece: float
    curve: list[dict[str, Any]]
    chosen_heads: list[str] = field(default_factory=list)
    bow_auc: float = float("nan")
    bow_auc_ci: tuple[float, float] = (float("nan"), float("nan"))


def evaluate_k(pair: Pair, rows: np.ndarray, k: int, seed: int = 0, heads: str = "base",
               ) -> tuple[KResult, np.ndarray]:
    """Evaluate the value head at turn K on `rows` (and the bag-of-words baseline on the same rows and folds);
    also returns the head's out-of-fold P(cheap succeeds)."""
    p, chosen = out_of_fold_p(pair, rows, k, seed=seed, heads=heads)
    p_bow, _ = out_of_fold_p(pair, rows, k, seed=seed, baseline=True)
    fail = ~pair.cheap_success[rows]
    needed = fail & pair.strong_success[rows]
    auc, lo, hi = metrics.roc_auc_ci(1.0 - p, fail, seed)
    strict, slo, shi = metrics.roc_auc_ci(1.0 - p, needed, seed)
    bow, blo, bhi = metrics.roc_auc_ci(1.0 - p_bow, fail, seed)
    y = pair.cheap_success[rows]
    return KResult(k=k, route_auc=auc, route_auc_ci=(lo, hi), route_auc_strict=strict, route_auc_strict_ci=(slo, shi),
                   brier=metrics.brier(p, y), ece=metrics.ece(p, y),
                   curve=escalation_curve(pair, rows, p, k, seed=seed), chosen_heads=chosen,
                   bow_auc=bow, bow_auc_ci=(blo, bhi)), p


def selection_bias(pair: Pair, seed: int = 0) -> dict[str, Any]:
    """Outcomes of tasks with and without turns, and the description-only (bag-of-words of the task text) AUC
    on all tasks vs on those with turns."""
    has = pair.has_turns
    out: dict[str, Any] = {
        "n_with_turns": int(has.sum()), "n_missing": int((~has).sum()),
        "cheap_success_with_turns": float(pair.cheap_success[has].mean()),
        "strong_success_with_turns": float(pair.strong_success[has].mean()),
    }
    if (~has).any():
        everything = np.arange(len(pair.task_ids))
        p_all, _ = out_of_fold_p(pair, everything, 0, seed=seed, baseline=True)
        fail = ~pair.cheap_success
        out.update({
            "cheap_success_missing": float(pair.cheap_success[~has].mean()),
            "strong_success_missing": float(pair.strong_success[~has].mean()),
            "description_auc_all_tasks": metrics.roc_auc(1.0 - p_all, fail),
            "description_auc_all_tasks_on_turn_subset": metrics.roc_auc(1.0 - p_all[has], fail[has]),
        })
    return out


def step_routing(pair: Pair, policy: StepPolicy | None = None) -> dict[str, Any]:
    """Share of recorded steps per kind and the share a per-step policy could send to the cheap model."""
    policy = policy or StepPolicy()
    protected_only = StepPolicy(protected=policy.protected, strong_for_all_edits=False,
                                sticky_turns=policy.sticky_turns)
    kinds_all: list[str] = []
    strong_all, strong_prot, loose = [], [], []
    n_switch = {"all_edits_sticky": 0, "all_edits_no_sticky": 0}
    for traj in pair.trajectories.values():
        actions = [t.action for t in traj.turns]
        kinds = [classify_step(a) for a in actions]
        kinds_all += kinds
        sticky = policy.route(kinds, actions)
        bare = StepPolicy(policy.protected, policy.strong_for_all_edits, 0).route(kinds, actions)
        strong_all.append(sticky)
        loose.append(bare)
        strong_prot.append(protected_only.route(kinds, actions))
        n_switch["all_edits_sticky"] += switches(sticky)
        n_switch["all_edits_no_sticky"] += switches(bare)
    n = len(kinds_all)
    return {
        "n_steps": n, "kind_share": {kd: kinds_all.count(kd) / n for kd in sorted(set(kinds_all))} if n else {},
        "cheap_share_all_edits_strong": 1.0 - float(np.concatenate(strong_all).mean()) if n else float("nan"),
        "cheap_share_no_sticky": 1.0 - float(np.concatenate(loose).mean()) if n else float("nan"),
        "cheap_share_protected_edits_strong": 1.0 - float(np.concatenate(strong_prot).mean()) if n else float("nan"),
        "model_switches": n_switch, "sticky_turns": policy.sticky_turns,
    }


def stop_rule_report(pair: Pair, rows: np.ndarray, p_by_k: dict[int, np.ndarray],
                     values_usd: Sequence[float] = STOP_VALUES_USD) -> list[dict[str, Any]]:
    """At each K >= 1: stop the cheap run where P(success) x value < expected remaining cost (training mean)."""
    ids = [pair.task_ids[i] for i in rows]
    out: list[dict[str, Any]] = []
    for k, p in sorted(p_by_k.items()):
        if k == 0:
            continue
        remaining = pair.cheap_cost_usd[rows] - cost_so_far_usd(pair.trajectories, ids, k)
        expected = np.zeros(len(rows))
        for split in kfold_splits(len(rows), 5, 0):
            expected[split.test] = remaining[split.train].mean()
        for value in values_usd:
            stop = should_stop(p, value, expected)
            saving = stop_savings(stop, pair.cheap_success[rows], remaining, pair.cheap_cost_usd[rows], value)
            out.append({"k": k, **saving.as_dict()})
    return out


@dataclass
class PairReport:
    """Everything `aco trajectories` prints for one pair."""

    pair: str
    description: str
    n_tasks: int
    cheap_success: float
    strong_success: float
    cheap_cost_usd: float
    strong_cost_usd: float
    by_k: list[KResult] = field(default_factory=list)
    selection_bias: dict[str, Any] = field(default_factory=dict)
    step_routing: dict[str, Any] = field(default_factory=dict)
    stop_rule: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_pair(pair: Pair, ks: Sequence[int] = tuple(range(7)), seed: int = 0, heads: str = "base",
                  ) -> PairReport:
    """Route-AUC per K, the escalate-at-K curves, selection bias, per-step routing and stop-rule savings."""
    rows = np.flatnonzero(pair.has_turns)
    report = PairReport(
        pair=pair.name, description=pair.description, n_tasks=len(rows),
        cheap_success=float(pair.cheap_success[rows].mean()), strong_success=float(pair.strong_success[rows].mean()),
        cheap_cost_usd=float(pair.cheap_cost_usd[rows].sum()), strong_cost_usd=float(pair.strong_cost_usd[rows].sum()))
    p_by_k: dict[int, np.ndarray] = {}
    for k in ks:
        result, p_by_k[k] = evaluate_k(pair, rows, k, seed, heads)
        report.by_k.append(result)
    report.selection_bias = selection_bias(pair, seed)
    report.step_routing = step_routing(pair)
    report.stop_rule = stop_rule_report(pair, rows, p_by_k)
    return report
