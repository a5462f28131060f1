"""`agreement`: a best-of-N cascade. A panel of cheap models answers; when their answers agree, keep the answer
the selector picks; when they disagree, escalate to a stronger model. Every answer is paid.

The verifier is `aco.verifiers.agreement` (the same comparison of answers, scores and selector live and in replay):
choices for multiple-choice prompts (ARC, Winogrande), normalised code for code answers (MBPP), words for prose.
P(correct) of the selected answer is an `AgreementCalibrator` (a logistic regression on its agreement score, which
panel model gave it and every answer's score) fitted on the training tasks' recorded verdicts. Panel (`A+B+C`),
escalation target (`>D`) and threshold are chosen on the training tasks only (3-fold inner CV: the calibrator is
fitted on two inner folds and the grid scored on the third), maximising success - cost / value_usd per task;
given in the spec, panel and target are kept.
Live, the router asks for the panel's models one after the other (`escalate` actions), then stops on the selected
answer's model or escalates to the target.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.errors import AcoError
from aco.estimators.calibration import inner_folds
from aco.records import Decision
from aco.routers.base import Router, Routing, objective_for
from aco.routers.cascade import CascadeRouter
from aco.routers.decision import NoModelAllowedError, TaskContext
from aco.routers.registry import register
from aco.routers.state import decode, encode
from aco.verifiers.agreement import AgreementCalibrator, agreement_scores, select, similarity_matrix
from aco.verifiers.answers import check_kind, forms, kind_of
from aco.verifiers.base import answer_of, passes

PANEL_SEPARATOR = "+"
TARGET_SEPARATOR = ">"


def parse_panel(spec: str, names: Sequence[str]) -> tuple[tuple[int, ...], int | None]:
    """(panel positions, target position or None) of `A+B+C>D`; an AcoError names an unknown model."""
    panel_part, _, target_part = spec.partition(TARGET_SEPARATOR)

    def position(name: str) -> int:
        if name not in names:
            raise AcoError(f"agreement panel: unknown model {name!r}; candidates: {', '.join(names)}")
        return list(names).index(name)

    panel = tuple(position(p.strip()) for p in panel_part.split(PANEL_SEPARATOR) if p.strip())
    if len(panel) < 2 or len(set(panel)) < len(panel):
        raise AcoError(f"agreement panel {spec!r} needs at least two different models joined by "
                       f"{PANEL_SEPARATOR!r}")
    target = position(target_part.strip()) if target_part.strip() else None
    if target is not None and target in panel:
        raise AcoError(f"agreement panel {spec!r}: the escalation target is in the panel")
    return panel, target


def panel_forms(tasks: TaskSet, models: Sequence[int], kind: str) -> tuple[np.ndarray, list[str]]:
    """(n, k) answers of `models` in comparable form and each task's answer kind."""
    responses = np.asarray(tasks.observable["response"])[:, list(models)]
    texts = tasks.tasks["text"].tolist()
    kinds = [kind_of(t, list(r)) if kind == "auto" else kind for t, r in zip(texts, responses, strict=True)]
    out = np.empty(responses.shape, dtype=object)
    for i, (text, row, k) in enumerate(zip(texts, responses, kinds, strict=True)):
        out[i] = forms([str(a) for a in row], k, text)
    return out, kinds


def pairwise(comparable: np.ndarray, kinds: Sequence[str]) -> np.ndarray:
    """(n, k, k) similarity of each task's answers."""
    return np.stack([similarity_matrix(list(row), kind) for row, kind in zip(comparable, kinds, strict=True)]) \
        if len(comparable) else np.zeros((0, comparable.shape[1], comparable.shape[1]))


@register
class AgreementRouter(Router):
    """Best-of-N cascade: the panel's answers agree -> keep the selected one, else escalate (every answer paid)."""

    name = "agreement"
    verifier_name = "agreement"
    requires: ClassVar[tuple[str, ...]] = ("two_models", "responses")
    multi_step = True
    knob = "threshold"
    knob_grid = CascadeRouter.knob_grid
    spec_arg: ClassVar[str] = "panel"

    def __init__(self, panel: str = "", threshold: float | None = None, max_panel: int = 3, pool: int = 6,
                 kind: str = "auto", value_usd: float | None = None, seed: int = 0) -> None:
        check_kind(kind)
        self.panel = panel
        self.threshold = threshold
        self.max_panel = max_panel
        self.pool = pool
        self.kind = kind
        self.value_usd = value_usd
        self.seed = seed

    # --- fitting -----------------------------------------------------------------------------------------
    def _candidates(self, table: OutcomeTable) -> list[tuple[tuple[int, ...], list[int]]]:
        """(panel, escalation targets) to choose from: the given spec, else every panel of 2..max_panel of the
        `pool` cheapest models with every dearer model as target."""
        cost = table.cost_usd.mean(axis=0)
        if self.panel:
            panel, target = parse_panel(self.panel, table.model_names)
            dearer = [j for j in range(table.n_models) if j not in panel and cost[j] > cost[list(panel)].max()]
            return [(panel, [target] if target is not None else dearer or
                     [j for j in range(table.n_models) if j not in panel])]
        order = [int(j) for j in np.argsort(cost, kind="stable")][: max(self.pool, 2)]
        out = []
        for size in range(2, max(self.max_panel, 2) + 1):
            for panel in itertools.combinations(order, size):
                dearer = [j for j in range(table.n_models) if j not in panel and cost[j] > cost[list(panel)].max()]
                if dearer:
                    out.append((tuple(panel), dearer))
        if not out:
            raise AcoError(f"agreement: {table.name} has no model dearer than a panel of its cheapest models")
        return out

    def _selected(self, sim: np.ndarray, panel: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(selected panel position, every answer's agreement score) per task."""
        scores = agreement_scores(sim)
        chosen = select(scores, self.preference_[list(panel)]) if len(scores) else np.zeros(0, dtype=int)
        return chosen, scores

    def _fit(self, table: OutcomeTable) -> None:
        why = self.unmet_requirement(table)
        if why is not None:
            raise AcoError(f"{self.name}: {why}")
        self.objective_ = objective_for(self.value_usd, table)
        self.preference_ = table.success.mean(axis=0)
        tasks = table.task_set()
        candidates = self._candidates(table)
        pool = sorted({j for panel, _ in candidates for j in panel})
        comparable, kinds = panel_forms(tasks, pool, self.kind)
        sim_all = pairwise(comparable, kinds)
        grid = np.array(self.knob_grid)
        folds = inner_folds(table.n_tasks, 3, self.seed)
        rows = np.arange(table.n_tasks)
        best: tuple[float, tuple[int, ...], int, float, AgreementCalibrator] | None = None
        for panel, targets in candidates:
            at = [pool.index(j) for j in panel]
            chosen, scores = self._selected(sim_all[:, at][:, :, at], panel)
            model = np.asarray(panel)[chosen]
            ok = table.success[rows, model].astype(float)
            p_oof = np.empty(table.n_tasks)
            for k in range(3):
                held = folds == k
                p_oof[held] = AgreementCalibrator.fit(scores[~held], chosen[~held], ok[~held])(scores[held],
                                                                                             chosen[held])
            paid = table.cost_usd[:, list(panel)].sum(axis=1)
            escalate = ~passes(p_oof[:, None], grid[None, :])
            for target in targets:
                success = np.where(escalate, table.success[:, [target]], ok[:, None]).mean(axis=0)
                cost = (paid[:, None] + escalate * table.cost_usd[:, [target]]).mean(axis=0)
                values = success - self.objective_.cost_weight * cost
                i = int(np.argmax(values))
                if best is None or values[i] > best[0] + 1e-12:
                    best = (float(values[i]), panel, target, float(grid[i]),
                            AgreementCalibrator.fit(scores, chosen, ok))
        assert best is not None
        _, self.panel_, self.target_, self.threshold_, self.calibration_ = best

    # --- state ---------------------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Panel, target, learned threshold, the selector's preference and the calibration map."""
        return {"panel": [int(j) for j in self.panel_], "target": int(self.target_), "threshold": self.threshold_,
                "preference": np.asarray(self.preference_, dtype=float), "calibration": self.calibration_.to_json(),
                "objective": encode(self.objective_)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.panel_ = tuple(int(j) for j in state["panel"])
        self.target_ = int(state["target"])
        self.threshold_ = float(state["threshold"])
        self.preference_ = np.asarray(state["preference"], dtype=float)
        self.calibration_ = AgreementCalibrator.from_json(dict(state["calibration"]))
        self.objective_ = decode(state["objective"])

    def describe(self) -> dict[str, Any]:
        names = self.models_
        return {"policy": {"name": self.name, "panel": [names[j] for j in self.panel_],
                           "escalate_to": names[self.target_], "threshold": self._threshold(),
                           "knob": self.knob, "knob_value": self.threshold, "verifier": "agreement"}}

    def _threshold(self) -> float:
        return float(self.threshold_ if self.threshold is None else self.threshold)

    # --- routing ---------------------------------------------------------------------------------------------
    def route(self, tasks: TaskSet) -> Routing:
        self.check_fitted(tasks)
        comparable, kinds = panel_forms(tasks, self.panel_, self.kind)
        chosen, scores = self._selected(pairwise(comparable, kinds), self.panel_)
        score = scores[np.arange(len(chosen)), chosen]
        p = self.calibration_(scores, chosen)
        escalate = ~passes(p, self._threshold())
        model = np.where(escalate, self.target_, np.asarray(self.panel_)[chosen])
        n, m = tasks.n_tasks, len(tasks.models)
        attempts = np.zeros((n, m), dtype=bool)
        attempts[:, list(self.panel_)] = True
        attempts[escalate, self.target_] = True
        verified = np.full((n, m), np.nan)
        verified[np.arange(n), np.asarray(self.panel_)[chosen]] = p
        names = self.models_
        reasons = [f"agreement (threshold {self._threshold():g}): "
                   + self._why(float(q), float(s), names[int(model[i])], bool(escalate[i]))
                   for i, (q, s) in enumerate(zip(p, score, strict=True))]
        return Routing(model_idx=model, attempts=attempts, p_success=verified, reasons=reasons, verified=verified)

    def _why(self, p: float, score: float, model: str, escalated: bool) -> str:
        what = f"escalate to {model}" if escalated else f"keep {model}'s answer"
        sign = "<" if escalated else ">="
        return f"panel of {len(self.panel_)} agrees {score:.2f}, P={p:.2f} {sign} {self._threshold():g}: {what}"

    def _decide(self, context: TaskContext, allowed: frozenset[str] | None) -> Decision:
        """The next step of one task: the panel's models one by one, then stop on the selected answer or escalate."""
        names = self.models_
        panel = [names[j] for j in self.panel_]
        target = names[self.target_]
        ran = [r.model for r in context.runs]
        unexpected = [m for m in ran if m not in (*panel, target)]
        if unexpected or len(set(ran)) < len(ran):
            raise AcoError(f"agreement: task {context.task_id!r} ran {ran}; the panel is {panel}, then {target}")

        def decision(model: str, action: str, reason: str, p: float | None = None) -> Decision:
            return Decision(task_id=context.task_id, model=model, action=action, p_success=p,
                            p_success_by_model={} if p is None else {model: p}, step_kind=context.step_kind,
                            reason=f"agreement (threshold {self._threshold():g}): {reason}")

        if target in ran:
            return decision(target, "stop", f"{target} answered after the panel disagreed")
        left = [m for m in panel if m not in ran and (allowed is None or m in allowed)]
        if left:
            action = "escalate" if ran else "continue"
            return decision(left[0], action, f"panel answer {len(ran) + 1} of {len(panel)}: {left[0]}")
        answered = [r for r in context.runs if r.model in panel]
        if not answered:
            raise NoModelAllowedError(f"agreement: no model of the panel {panel} is allowed")
        answers = [answer_of(r) for r in answered]
        kind = kind_of(context.text, answers) if self.kind == "auto" else self.kind
        sim = similarity_matrix(forms(answers, kind, context.text), kind)[None]
        chosen, scores = self._selected(sim, [names.index(r.model) for r in answered])
        keep, score = answered[int(chosen[0])].model, float(scores[0, chosen[0]])
        if len(answered) < len(panel):  # a panel model failed: its answer is missing (agreement of those present)
            p = score
        else:
            p = float(self.calibration_(scores, chosen)[0])
        if passes(p, self._threshold()) or (allowed is not None and target not in allowed):
            return decision(keep, "stop", self._why(p, score, keep, False), p)
        return decision(target, "escalate", self._why(p, score, target, True), p)
