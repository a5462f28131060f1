"""`entropy`: the model's own uncertainty while it wrote the answer, from the upstream's token logprobs.

The environment asks upstreams that support it for logprobs (`request_options`: OpenAI chat completions'
`logprobs` with the top alternatives per token). `token_stats` turns them into the mean token entropy (over each
token's top alternatives, renormalised), the min logprob of the chosen tokens and the spread (std) of both.
`EntropyCalibrator` maps those four numbers to P(correct) by a logistic regression fitted on answers whose task
outcome was reported (`fit_from_store`: the store's logged verdicts joined with the outcomes, SQLite or
PostgreSQL). Until enough labelled answers exist, and whenever a reply carries no logprobs, the verifier abstains
and says why, but still logs the numbers, so that the calibrator can be fitted from them once outcomes arrive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aco.estimators.calibration import sigmoid
from aco.routers.decision import Run, TaskContext
from aco.verifiers.base import Reply, Verdict, Verifier
from aco.verifiers.registry import register_verifier

SIGNAL = "logprobs"  # the run signal holding the reply's `choices[0].logprobs.content`
FEATURES = ("mean_entropy", "entropy_std", "min_logprob", "logprob_std")
TOP_LOGPROBS = 5


def token_stats(content: Any) -> dict[str, float]:
    """Mean token entropy, its std, the min and the std of the chosen tokens' logprobs (and the token count) of an
    OpenAI `logprobs.content` list; a ValueError says what is missing."""
    if not isinstance(content, list) or not content:
        raise ValueError("no token logprobs")
    entropies, chosen = [], []
    for i, token in enumerate(content):
        if not isinstance(token, Mapping) or not isinstance(token.get("logprob"), int | float):
            raise ValueError(f"token {i} has no logprob")
        top = [t.get("logprob") for t in token.get("top_logprobs") or [] if isinstance(t, Mapping)]
        values = np.array([float(v) for v in top if isinstance(v, int | float)] or [float(token["logprob"])])
        p = np.exp(values - values.max())
        p /= p.sum()
        entropies.append(float(-(p * np.log(np.maximum(p, 1e-300))).sum()))
        chosen.append(float(token["logprob"]))
    e, lp = np.array(entropies), np.array(chosen)
    return {"mean_entropy": float(e.mean()), "entropy_std": float(e.std()), "min_logprob": float(lp.min()),
            "logprob_std": float(lp.std()), "tokens": float(len(lp))}


@dataclass(frozen=True)
class EntropyCalibrator:
    """P(correct) = sigmoid(coef . standardised features + intercept), fitted on `n` labelled answers."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    n: int

    def __call__(self, stats: Mapping[str, float]) -> float:
        x = (np.array([stats[f] for f in FEATURES]) - np.array(self.mean)) / np.array(self.scale)
        return float(sigmoid(np.array(float(x @ np.array(self.coef)) + self.intercept)))

    @classmethod
    def fit(cls, stats: Sequence[Mapping[str, float]], success: Sequence[bool], c: float = 1.0) -> EntropyCalibrator:
        """Logistic regression of success on the four features (standardised); both outcomes must occur."""
        from sklearn.linear_model import LogisticRegression

        x = np.array([[s[f] for f in FEATURES] for s in stats], dtype=float)
        y = np.asarray(success, dtype=bool)
        if len(set(y.tolist())) < 2:
            raise ValueError("the labelled answers hold only one outcome")
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
        model = LogisticRegression(C=c).fit((x - mean) / scale, y)
        return cls(tuple(mean.tolist()), tuple(scale.tolist()), tuple(model.coef_[0].tolist()),
                   float(model.intercept_[0]), len(y))

    def to_json(self) -> dict[str, Any]:
        return {"features": list(FEATURES), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept, "n": self.n}


@register_verifier
class EntropyVerifier(Verifier):
    """P(correct) from token entropy and logprobs, through a calibrator fitted on reported outcomes."""

    name = "entropy"

    def __init__(self, threshold: float = 0.5, min_outcomes: int = 20, refit_every: int = 20) -> None:
        if min_outcomes < 2:
            raise ValueError(f"min_outcomes must be >= 2, got {min_outcomes}")
        self.threshold = threshold
        self.min_outcomes = min_outcomes
        self.refit_every = refit_every
        self.calibrator_: EntropyCalibrator | None = None
        self.labelled_ = 0  # labelled answers seen at the last fit

    def request_options(self, model: str) -> dict[str, Any]:
        return {"logprobs": True, "top_logprobs": TOP_LOGPROBS}

    def refit(self, stats: Sequence[Mapping[str, float]], success: Sequence[bool]) -> EntropyCalibrator | None:
        """Fit the calibrator on labelled answers (kept unfitted below `min_outcomes` or with one outcome only)."""
        self.labelled_ = len(stats)
        if len(stats) < self.min_outcomes or len(set(bool(s) for s in success)) < 2:
            self.calibrator_ = None
        else:
            self.calibrator_ = EntropyCalibrator.fit(stats, success)
        return self.calibrator_

    def verdict(self, context: TaskContext, run: Run, replies: Sequence[Reply] = ()) -> Verdict:
        try:
            stats = token_stats(run.signals.get(SIGNAL))
        except ValueError as exc:
            return Verdict(self.name, None, reason=f"the upstream returned no usable logprobs ({exc})")
        shown = f"mean entropy {stats['mean_entropy']:.3f}, min logprob {stats['min_logprob']:.2f}"
        if self.calibrator_ is None:
            return Verdict(self.name, None, stats, reason=f"{shown}; not calibrated yet ({self.labelled_} labelled "
                                                          f"answers, needs {self.min_outcomes} with both outcomes)")
        p = self.calibrator_(stats)
        return Verdict(self.name, p, stats, reason=f"{shown}: P={p:.2f} (calibrated on {self.calibrator_.n})")
