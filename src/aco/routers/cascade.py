"""Cascades: run a cheap model first and escalate along a chain when a verifier doubts the result.

The `cascade`'s verifier is the post-hoc estimator (`aco.verifiers.posthoc.PosthocVerifier`, one fitted per chain
position): at position j it reads only what is observable once runs 0..j have finished: numeric run signals (e.g.
SWE-bench `api_calls`, `cost_usd`), response signals (length, refusal and format flags, agreement with the earlier
models' answers), their per-model standardisation and cross-run agreement (`aco.routers.posthoc`) and the task
text. Never the hidden verdict. Replay asks it about every task at once, a live decision about one run: the same
verifier and the same acceptance rule (`aco.verifiers.base.passes`).
A cascade pays for every model it ran. `perfect-verifier` is the evaluation-only upper bound of the same chain.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from aco.datasets.table import OutcomeTable, TaskSet
from aco.errors import AcoError
from aco.evaluation.protocol import kfold_splits
from aco.records import Decision
from aco.routers.base import Router, Routing, objective_for
from aco.routers.decision import NoModelAllowedError, TaskContext
from aco.routers.posthoc import PosthocFeatures, numeric_signals
from aco.routers.registry import register
from aco.routers.state import decode, encode
from aco.trajectories.value_head import ValueHead, select_head
from aco.verifiers.base import passes
from aco.verifiers.posthoc import PosthocVerifier, observed_features, posthoc_frame

CHAIN_SEPARATOR = ">"
CHAIN_ALTERNATIVES = "|"


def perfect_verifier_outcome(success: np.ndarray, cost_usd: np.ndarray, chain: Sequence[int],
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(final position, success, cost) per task when each result's verdict is known exactly."""
    ok = success[:, list(chain)]
    first_ok = np.where(ok.any(axis=1), ok.argmax(axis=1), len(chain) - 1)
    reached = np.arange(len(chain))[None, :] <= first_ok[:, None]
    cost = (cost_usd[:, list(chain)] * reached).sum(axis=1)
    return first_ok, ok[np.arange(len(ok)), first_ok], cost


def learn_chain(table: OutcomeTable, max_length: int, cost_weight: float) -> tuple[int, ...]:
    """Chain (increasing mean cost) maximising perfect-verifier success - cost_weight x cost per task on `table`."""
    mean_cost = table.cost_usd.mean(axis=0)
    order = [int(i) for i in np.argsort(mean_cost, kind="stable")]
    best: tuple[float, tuple[int, ...]] = (-np.inf, (order[-1],))
    for length in range(2, max_length + 1):
        for chain in itertools.combinations(order, length):
            _, ok, cost = perfect_verifier_outcome(table.success, table.cost_usd, chain)
            value = float(ok.mean() - cost_weight * cost.mean())
            if value > best[0] + 1e-12:
                best = (value, chain)
    return best[1]


def parse_chain(chain: str, names: Sequence[str]) -> tuple[int, ...]:
    """Model positions of a `A>B>C` chain; an AcoError names an unknown model."""
    out = []
    for name in (part.strip() for part in chain.split(CHAIN_SEPARATOR)):
        if name not in names:
            raise AcoError(f"cascade chain: unknown model {name!r}; candidates: {', '.join(names)}")
        out.append(list(names).index(name))
    if len(out) < 2:
        raise AcoError(f"cascade chain {chain!r} needs at least two models separated by {CHAIN_SEPARATOR!r}")
    return tuple(out)


class _ChainRouter(Router):
    """Shared parameters and chain learning of the cascade routers."""

    spec_arg: ClassVar[str] = "chain"
    requires: ClassVar[tuple[str, ...]] = ("two_models",)

    def __init__(self, chain: str = "", threshold: float = 0.5, max_length: int = 3, value_usd: float | None = None,
                 use_text: bool = True, seed: int = 0) -> None:
        self.chain = chain
        self.threshold = threshold
        self.max_length = max_length
        self.value_usd = value_usd
        self.use_text = use_text
        self.seed = seed

    def _fit_chain(self, table: OutcomeTable, spec: str | None = None) -> None:
        why = self.unmet_requirement(table)
        if why is not None:
            raise AcoError(f"{self.name}: {why}")
        spec = self.chain if spec is None else spec
        self.objective_ = objective_for(self.value_usd, table)
        self.chain_ = (parse_chain(spec, table.model_names) if spec
                       else learn_chain(table, self.max_length, self.objective_.cost_weight))

    def _routing(self, final_pos: np.ndarray, p_by_pos: dict[int, np.ndarray], n_models: int, why: str) -> Routing:
        chain = np.asarray(self.chain_)
        n = len(final_pos)
        attempts = np.zeros((n, n_models), dtype=bool)
        p_success = np.full((n, n_models), np.nan)
        for pos, model in enumerate(self.chain_):
            ran = final_pos >= pos
            attempts[:, model] |= ran
            if pos in p_by_pos:
                p_success[ran, model] = p_by_pos[pos][ran]
        reasons = [f"{why}: stopped at step {int(k) + 1} of {len(chain)}" for k in final_pos]
        return Routing(model_idx=chain[final_pos], attempts=attempts, p_success=p_success, reasons=reasons)


def cascade_outcome(p_by_pos: Sequence[np.ndarray], chain: Sequence[int], threshold: float | Sequence[float],
                    ) -> np.ndarray:
    """Final chain position per task: the first position whose P(success) >= its threshold, else the last.

    `threshold` is one value shared by every step or one value per step (len(chain) - 1).
    """
    steps = len(p_by_pos)
    thresholds = [float(threshold)] * steps if isinstance(threshold, (int, float)) else [float(t) for t in threshold]
    if len(thresholds) != steps:
        raise ValueError(f"need one threshold per cascade step ({steps}), got {len(thresholds)}")
    final = np.full(len(p_by_pos[0]) if p_by_pos else 0, len(chain) - 1)
    open_ = np.ones(len(final), dtype=bool)
    for pos, (p, cut) in enumerate(zip(p_by_pos, thresholds, strict=True)):
        accept = open_ & passes(p, cut)
        final[accept] = pos
        open_ &= ~accept
    return final


def chain_value(final: np.ndarray, success: np.ndarray, cost_usd: np.ndarray, chain: Sequence[int],
                ) -> tuple[np.ndarray, np.ndarray]:
    """(success, cost paying every attempt) per task when task i stops at chain position final[i]."""
    cols = np.asarray(chain)
    ok = success[np.arange(len(final)), cols[final]]
    reached = np.arange(len(chain))[None, :] <= final[:, None]
    return ok, (cost_usd[:, cols] * reached).sum(axis=1)


@register
class CascadeRouter(_ChainRouter):
    """Cheap model first; escalate while the post-hoc P(success) of the latest result is below the threshold.

    Each chain position's estimator is chosen by inner CV on the training tasks among logistic (log numbers,
    category and task text) and LightGBM (numbers), each on the raw run signals and, with `posthoc`, also on
    the `PosthocFeatures` (per-model z-scores, limit flags, cost per call, cross-run agreement, text stats).
    With `threshold=None` (default) the operating thresholds are chosen by 3-fold CV inside the training tasks
    (always learned in fit, so the knob stays routing-time): one per step with `per_step` (chains of up to
    three models), else one shared; the grid value(s) maximising success - cost / value_usd per task (the
    objective of `aco.policies.objective`; `value_usd` None = the training table's default), or,
    with `budget_usd_per_task`, the highest success whose cost per task stays within the budget (the cheapest
    when none does). Setting `threshold` uses that one value at every step. `chain` may list alternatives
    (`A>B>C|A>C`): the one with the best inner-CV value (same objective) is kept.
    """

    name = "cascade"
    verifier_name = "posthoc"
    requires: ClassVar[tuple[str, ...]] = ("two_models", "run_signals")
    multi_step = True
    knob = "threshold"
    knob_grid = (0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    max_per_step = 2  # steps with their own threshold: the grid is searched jointly (12^2 pairs)

    def __init__(self, chain: str = "", threshold: float | None = None, max_length: int = 3,
                 value_usd: float | None = None, use_text: bool = True, budget_usd_per_task: float | None = None,
                 per_step: bool = True, posthoc: bool = False, seed: int = 0) -> None:
        super().__init__(chain=chain, threshold=0.5, max_length=max_length, value_usd=value_usd,
                         use_text=use_text, seed=seed)
        self.threshold: float | None = threshold  # type: ignore[assignment]
        self.budget_usd_per_task = budget_usd_per_task
        self.per_step = per_step
        self.posthoc = posthoc

    def _frame(self, features: PosthocFeatures | None, tasks: TaskSet, pos: int) -> pd.DataFrame:
        return posthoc_frame(tasks, self.chain_[: pos + 1], features)

    def _candidates(self, frame: pd.DataFrame, n_raw: int) -> list[ValueHead]:
        numeric = [c for c in frame.columns if c not in ("text", "category")]
        sets = {"": numeric[:n_raw], "+posthoc": numeric} if len(numeric) > n_raw else {"": numeric}
        return [head for suffix, columns in sets.items() for head in (
            ValueHead(numeric=columns, categorical=("category",), use_text=self.use_text, seed=self.seed,
                      label=f"logistic{suffix}"),
            ValueHead(numeric=columns, kind="lightgbm", seed=self.seed, label=f"lightgbm{suffix}"))]

    def _heads(self, table: OutcomeTable) -> tuple[PosthocFeatures | None, list[ValueHead]]:
        tasks = table.task_set()
        features = (PosthocFeatures(self.chain_).fit(tasks) if self.posthoc and numeric_signals(tasks) else None)
        heads = []
        for pos in range(len(self.chain_) - 1):
            n_raw = len(observed_features(tasks, self.chain_[: pos + 1]).columns) - 2  # without text, category
            frame = self._frame(features, tasks, pos)
            head, _ = select_head(self._candidates(frame, n_raw), frame, table.success[:, self.chain_[pos]],
                                  seed=self.seed)
            heads.append(head)
        return features, heads

    def _predict(self, features: PosthocFeatures | None, heads: Sequence[ValueHead], tasks: TaskSet,
                 ) -> list[np.ndarray]:
        return [head.predict(self._frame(features, tasks, pos)) for pos, head in enumerate(heads)]

    def _threshold_grid(self) -> list[tuple[float, ...]]:
        steps = len(self.chain_) - 1
        if self.per_step and steps <= self.max_per_step:
            return list(itertools.product(self.knob_grid, repeat=steps))
        return [(t,) * steps for t in self.knob_grid]

    def _choose_thresholds(self, table: OutcomeTable, folds: int = 3) -> tuple[float, tuple[float, ...]]:
        """(inner-CV value, thresholds) of the current chain on these training tasks."""
        p_by_pos: list[np.ndarray] = [np.full(table.n_tasks, np.nan) for _ in range(len(self.chain_) - 1)]
        for split in kfold_splits(table.n_tasks, folds, self.seed):
            features, heads = self._heads(table.subset(split.train))
            for pos, p in enumerate(self._predict(features, heads, table.subset(split.test).task_set())):
                p_by_pos[pos][split.test] = p
        best: tuple[float, tuple[float, ...]] = (-np.inf, (0.5,) * len(p_by_pos))
        for thresholds in self._threshold_grid():
            ok, cost = chain_value(cascade_outcome(p_by_pos, self.chain_, thresholds), table.success,
                                   table.cost_usd, self.chain_)
            if self.budget_usd_per_task is None:
                value = float(ok.mean() - self.objective_.cost_weight * cost.mean())
            else:
                over = cost.mean() > self.budget_usd_per_task  # nothing fits: the cheapest thresholds
                value = float(-1e6 - cost.mean()) if over else float(ok.mean())
            if value > best[0] + 1e-12:
                best = (value, thresholds)
        return best

    def _fit(self, table: OutcomeTable) -> None:
        best: tuple[float, tuple[float, ...], tuple[int, ...]] | None = None
        for spec in self.chain.split(CHAIN_ALTERNATIVES):  # alternatives: chosen by the same inner CV
            self._fit_chain(table, spec.strip())
            enough = min(int(np.bincount(table.success[:, m].astype(int), minlength=2).min()) for m in self.chain_)
            value, thresholds = (self._choose_thresholds(table) if enough >= 6
                                 else (-np.inf, (0.5,) * (len(self.chain_) - 1)))
            if best is None or value > best[0] + 1e-12:
                best = (value, thresholds, self.chain_)
        assert best is not None
        _, self.thresholds_, self.chain_ = best  # thresholds_ are used when threshold is None
        self.features_, self.heads_ = self._heads(table)
        self.signals_ = tuple(sorted(table.task_set().observable))
        self.verifiers_ = self._verifiers()

    def _verifiers(self) -> list[PosthocVerifier]:
        """The post-hoc verifier of each chain position but the last (the cascade's only verifier)."""
        return [PosthocVerifier(head, self.chain_, pos, self.model_specs_, self.signals_, self.features_)
                for pos, head in enumerate(self.heads_)]

    def to_state(self) -> dict[str, Any]:
        """Chain, thresholds, the observable signals and the post-hoc heads (frozen) as JSON values and arrays."""
        return {"chain": [int(j) for j in self.chain_], "thresholds": [float(t) for t in self.thresholds_],
                "signals": list(self.signals_), "heads": [head.to_state() for head in self.heads_],
                "features": None if self.features_ is None else self.features_.to_state(),
                "objective": encode(self.objective_)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.chain_ = tuple(int(j) for j in state["chain"])
        self.thresholds_ = tuple(float(t) for t in state["thresholds"])
        self.signals_ = tuple(str(x) for x in state["signals"])
        self.features_ = None if state["features"] is None else PosthocFeatures.from_state(state["features"])
        self.heads_ = [ValueHead.from_state(h) for h in state["heads"]]
        self.objective_ = decode(state["objective"])
        self.verifiers_ = self._verifiers()  # the candidate models are restored first (`with_models`)

    def describe(self) -> dict[str, Any]:
        return {"policy": {"name": self.name, "chain": [self.models_[j] for j in self.chain_],
                           "thresholds": list(self._thresholds()), "knob": self.knob, "knob_value": self.threshold,
                           "signals": list(self.signals_), "heads": [h.label for h in self.heads_]}}

    def _thresholds(self) -> tuple[float, ...]:
        return tuple(self.thresholds_) if self.threshold is None else (float(self.threshold),) * len(self.heads_)

    def route(self, tasks: TaskSet) -> Routing:
        self.check_fitted(tasks)
        thresholds = self._thresholds()
        p_by_pos = [verifier.p_correct_tasks(tasks) for verifier in self.verifiers_]
        final = cascade_outcome(p_by_pos, self.chain_, thresholds)
        shown = "/".join(f"{t:g}" for t in thresholds)
        routing = self._routing(final, dict(enumerate(p_by_pos)), len(tasks.models), f"cascade (threshold {shown})")
        return replace(routing, verified=routing.p_success)  # every P the cascade has is a verifier's verdict

    def _decide(self, context: TaskContext, allowed: frozenset[str] | None) -> Decision:
        """The next step of one task: run the chain's first model; after each run, stop when its post-hoc
        P(success) reaches the step's threshold (or the chain ends), else escalate to the next model."""
        chain = [self.models_[j] for j in self.chain_]
        for pos, run in enumerate(context.runs):
            if pos >= len(chain) or run.model != chain[pos]:
                raise AcoError(f"cascade: run {pos + 1} of task {context.task_id!r} is {run.model!r}; the chain "
                               f"runs {' > '.join(chain)}")
        thresholds = self._thresholds()
        shown = "/".join(f"{t:g}" for t in thresholds)

        def decision(model: str, action: str, reason: str, p: float | None = None) -> Decision:
            verdict = {} if p is None else {chain[len(context.runs) - 1]: p}
            return Decision(task_id=context.task_id, model=model, action=action, p_success=p,
                            p_success_by_model=verdict, step_kind=context.step_kind,
                            reason=f"cascade (threshold {shown}): {reason}")

        if not context.runs:
            first = next((m for m in chain if allowed is None or m in allowed), None)
            if first is None:
                raise NoModelAllowedError(f"cascade: no model of the chain {' > '.join(chain)} is allowed")
            return decision(first, "continue", f"step 1 of {len(chain)}: {first}")
        pos = len(context.runs) - 1
        here = chain[pos]
        if pos == len(chain) - 1:
            return decision(here, "stop", f"stopped at step {pos + 1} of {len(chain)} (the last model)")
        p = self.verifiers_[pos].verdict(context, context.runs[-1]).p_correct
        assert p is not None  # the post-hoc head never abstains
        if passes(p, thresholds[pos]):
            return decision(here, "stop", f"stopped at step {pos + 1} of {len(chain)}: post-hoc P={p:.2f} >= "
                            f"{thresholds[pos]:g}", p)
        nxt = next((m for m in chain[pos + 1:] if allowed is None or m in allowed), None)
        if nxt is None:
            return decision(here, "stop", f"post-hoc P={p:.2f} < {thresholds[pos]:g} but no stronger model of "
                            "the chain is allowed: keep it", p)
        return decision(nxt, "escalate", f"step {pos + 1} of {len(chain)} post-hoc P={p:.2f} < "
                        f"{thresholds[pos]:g}: escalate to {nxt}", p)


@register
class PerfectVerifierRouter(_ChainRouter):
    """Evaluation only: the same chain with an exact verifier (escalate exactly when the result failed)."""

    name = "perfect-verifier"
    uses_outcomes = True

    def _fit(self, table: OutcomeTable) -> None:
        self._fit_chain(table)

    def route(self, tasks: TaskSet) -> Routing:
        raise TypeError("the perfect verifier reads recorded outcomes: use route_table(table)")

    def route_table(self, table: OutcomeTable) -> Routing:
        self.check_fitted(table)
        final, _, _ = perfect_verifier_outcome(table.success, table.cost_usd, self.chain_)
        return self._routing(final, {}, table.n_models, "perfect verifier")
