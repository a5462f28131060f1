"""`agreement` (best-of-N): do other answers to the same task agree with this one?

The answers are put in comparable form (`aco.verifiers.answers`: the option a multiple-choice answer picks, the
normalised code of a code answer, the words of prose) and compared pairwise (1 for the same choice; token similarity
of code and prose). An answer's agreement score is its mean similarity to the other answers; the selector keeps the
answer that agrees most with the others (the majority's answer for choices, the medoid for code). As a profile's
verifier, P(correct) is the raw score (the share of other answers that agree, for choices); the `agreement` cascade
fits an `AgreementCalibrator` on its training tasks (which panel model was selected, and every answer's score).

The other answers come from calls the verifier asks for (one answer from each of `models`, and `samples - 1` more
samples of the candidate's own model in one call with n > 1 where the upstream supports it), or, when the
environment already ran several models on the task (the `agreement` cascade's panel), from those runs. Every
answer is paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aco.estimators.calibration import logit, sigmoid
from aco.routers.decision import Run, TaskContext
from aco.verifiers.answers import check_kind, forms, kind_of, similarity
from aco.verifiers.base import Call, Reply, Verdict, Verifier, answer_of, task_messages
from aco.verifiers.registry import register_verifier


def similarity_matrix(comparable: Sequence[str | None], kind: str) -> np.ndarray:
    """(k, k) pairwise similarity of answers in comparable form (exact match for choices), 1 on the diagonal."""
    k = len(comparable)
    out = np.eye(k)
    for a in range(k):
        for b in range(a + 1, k):
            x, y = comparable[a], comparable[b]
            value = float(x is not None and x == y) if kind == "choice" else similarity(x, y)
            out[a, b] = out[b, a] = value
    return out


def agreement_scores(sim: np.ndarray) -> np.ndarray:
    """Each answer's mean similarity to the other answers: (..., k, k) -> (..., k); 0 with no other answer."""
    k = sim.shape[-1]
    if k < 2:
        return np.zeros(sim.shape[:-1])
    return np.asarray((sim.sum(axis=-1) - np.diagonal(sim, axis1=-2, axis2=-1)) / (k - 1))


def select(scores: np.ndarray, preference: np.ndarray) -> np.ndarray:
    """The selector: per row the answer with the highest agreement score, ties to the higher `preference`
    (e.g. the model's training success rate), then the first."""
    scores = np.atleast_2d(scores)
    order = np.lexsort((-np.arange(scores.shape[-1])[None, :].repeat(len(scores), 0),
                        np.broadcast_to(preference, scores.shape), np.round(scores, 9)), axis=-1)
    return np.asarray(order[:, -1])


@dataclass(frozen=True)
class AgreementCalibrator:
    """P(selected answer is right) = sigmoid(coef . [its score, one-hot of the selected panel position, every
    answer's score] + intercept): logistic regression fitted on a panel's training tasks."""

    coef: tuple[float, ...]
    intercept: float

    @staticmethod
    def design(scores: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """(n, 1 + 2k) features of (n, k) agreement scores and the selected positions."""
        n, k = scores.shape
        rows = np.arange(n)
        return np.column_stack([scores[rows, chosen], np.eye(k)[chosen], scores]) if n else np.zeros((0, 1 + 2 * k))

    @classmethod
    def fit(cls, scores: np.ndarray, chosen: np.ndarray, correct: np.ndarray, c: float = 1.0) -> AgreementCalibrator:
        """Fit on training tasks (an intercept-only model when they hold one outcome only)."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(correct, dtype=bool)
        x = cls.design(scores, chosen)
        if y.all() or not y.any():
            return cls(tuple([0.0] * x.shape[1]), float(logit(np.array([y.mean() if len(y) else 0.5]))[0]))
        model = LogisticRegression(C=c, max_iter=1000).fit(x, y)
        return cls(tuple(model.coef_[0].tolist()), float(model.intercept_[0]))

    def __call__(self, scores: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        return np.asarray(sigmoid(self.design(scores, chosen) @ np.array(self.coef) + self.intercept))

    def to_json(self) -> dict[str, Any]:
        return {"coef": list(self.coef), "intercept": self.intercept}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgreementCalibrator:
        return cls(tuple(float(c) for c in data["coef"]), float(data["intercept"]))


@register_verifier
class AgreementVerifier(Verifier):
    """Best-of-N agreement: P(correct) = the answer's agreement with `models`' answers and `samples - 1` more samples
    of its own model (or with the other runs of the task when no calls are configured)."""

    name = "agreement"

    def __init__(self, models: Sequence[str] = (), samples: int = 1, kind: str = "auto", threshold: float = 0.5,
                 max_tokens: int | None = None) -> None:
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        check_kind(kind)
        self.models = models
        self.samples = samples
        self.kind = kind
        self.threshold = threshold
        self.max_tokens = max_tokens

    def calls(self, context: TaskContext, run: Run) -> tuple[Call, ...]:
        messages = task_messages(context)
        options = {"max_tokens": self.max_tokens} if self.max_tokens else {}
        out = [Call(m, messages, purpose="agreement", options=options) for m in self.models if m != run.model]
        if self.samples > 1:
            out.append(Call(run.model, messages, n=self.samples - 1, purpose="agreement", options=options))
        return tuple(out)

    def verdict(self, context: TaskContext, run: Run, replies: Sequence[Reply] = ()) -> Verdict:
        cost_usd = float(sum(r.cost_usd for r in replies))
        failed = [f"{r.model}: {r.error}" for r in replies if r.error]
        others = [t for r in replies if not r.error for t in r.texts]
        if not replies:
            others = [answer_of(r) for r in context.runs if r is not run and r.model != run.model]
        if not others:
            why = "no other answer to compare with" + (f" (calls failed: {'; '.join(failed)})" if failed else "")
            return Verdict(self.name, None, reason=why, cost_usd=cost_usd)
        answers = [answer_of(run), *others]
        kind = kind_of(context.text, answers) if self.kind == "auto" else self.kind
        comparable = forms(answers, kind, context.text)
        score = float(agreement_scores(similarity_matrix(comparable, kind))[0])
        p = min(max(score, 0.0), 1.0)
        agreeing = sum(1 for form in comparable[1:] if form is not None and form == comparable[0])
        signals = {"agreement": score, "answers": float(len(answers)), "agreeing": float(agreeing)}
        note = f"; calls failed: {'; '.join(failed)}" if failed else ""
        return Verdict(self.name, p, signals, cost_usd=cost_usd,
                       reason=f"agreement {score:.2f} with {len(others)} other {kind} answers "
                              f"({agreeing} identical){note}")
