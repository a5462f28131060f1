"""`posthoc`: the cascade's learned estimator of P(this result is right) as a verifier.

It reads only what is observable once the chain's runs up to this one have finished: numeric run signals
(e.g. SWE-bench `api_calls`, `cost_usd`), response signals (length, refusal and format flags, agreement with the
earlier models' answers), optionally their per-model standardisation (`aco.routers.posthoc.PosthocFeatures`) and
the task text; never the hidden verdict. The head (a `ValueHead`) is fitted by the `cascade` router on its
training tasks, one per chain position; `p_correct_tasks` is the vectorised replay of `verdict`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from aco.datasets.table import TaskSet
from aco.records import ModelSpec
from aco.routers.decision import Run, TaskContext
from aco.routers.posthoc import PosthocFeatures
from aco.trajectories.value_head import ValueHead
from aco.verifiers.base import Reply, Verdict, Verifier
from aco.verifiers.registry import register_verifier

_REFUSAL = re.compile(r"I'm sorry|I am sorry|I cannot|I can't|as an AI|unable to", re.I)
_ANSWER = re.compile(r"(?:answer\s*(?:is)?\s*[:\-]?\s*\(?)([A-E1-5])\b|^\s*\(?([A-E1-5])[).:\s]", re.I | re.M)


def _answer(text: str) -> str:
    match = _ANSWER.search(text)
    if match:
        return (match.group(1) or match.group(2)).upper()
    return " ".join(text.lower().split())[:200]


def _response_features(responses: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Features of the latest response plus its agreement with each earlier one in the chain."""
    latest = [str(r) for r in responses[-1]]
    out = {
        "resp_chars": np.array([len(r) for r in latest], dtype=float),
        "resp_refusal": np.array([bool(_REFUSAL.search(r)) for r in latest], dtype=float),
        "resp_code": np.array([("```" in r) or ("def " in r) for r in latest], dtype=float),
        "resp_empty": np.array([not r.strip() for r in latest], dtype=float),
    }
    answers = [_answer(r) for r in latest]
    for pos, earlier in enumerate(responses[:-1]):
        out[f"agree_{pos}"] = np.array([a == _answer(str(e)) for a, e in zip(answers, earlier, strict=True)],
                                       dtype=float)
    return out


def observed_features(tasks: TaskSet, runs: Sequence[int]) -> pd.DataFrame:
    """What is observable once the models `runs` (in chain order) have run: their signals and the task text."""
    columns: dict[str, np.ndarray] = {}
    responses = []
    for pos, model in enumerate(runs):
        for signal in sorted(tasks.observable):
            values = tasks.observe(signal, model)
            if values.dtype.kind in "fiub":
                columns[f"{signal}_{pos}"] = values.astype(float)
            else:
                responses.append(values)
        if responses and len(responses) == pos + 1:
            columns.update({f"{k}_{pos}": v for k, v in _response_features(responses).items()})
    frame = pd.DataFrame(columns, index=tasks.tasks.index)
    frame["text"] = tasks.tasks["text"].to_numpy()
    frame["category"] = tasks.tasks["category"].to_numpy()
    return frame


def posthoc_frame(tasks: TaskSet, runs: Sequence[int], features: PosthocFeatures | None) -> pd.DataFrame:
    """The head's input after the runs `runs`: the observed features, plus the `PosthocFeatures` when given."""
    frame = observed_features(tasks, runs)
    return frame if features is None else pd.concat([frame, features.transform(tasks, runs)], axis=1)


@register_verifier
class PosthocVerifier(Verifier):
    """P(correct) of the run at `position` of the cascade's `chain` from its fitted post-hoc `head`."""

    name = "posthoc"

    def __init__(self, head: ValueHead | None = None, chain: Sequence[int] = (), position: int = 0,
                 models: Sequence[ModelSpec] = (), signals: Sequence[str] = (),
                 features: PosthocFeatures | None = None, threshold: float = 0.5) -> None:
        if head is None:
            raise ValueError("the posthoc verifier is a cascade's fitted estimator: fit a `cascade` router (it has "
                             "no configuration of its own)")
        self.head = head
        self.chain = tuple(chain)
        self.position = position
        self.models = tuple(models)
        self.signals = tuple(signals)
        self.features = features
        self.threshold = threshold

    def p_correct_tasks(self, tasks: TaskSet) -> np.ndarray:
        """The verdicts on every task at once (replay): P(correct) of each task's run at this position."""
        return np.asarray(self.head.predict(posthoc_frame(tasks, self.chain[: self.position + 1], self.features)))

    def verdict(self, context: TaskContext, run: Run, replies: Sequence[Reply] = ()) -> Verdict:
        if not context.runs or context.runs[-1] is not run:
            context = context.with_run(run)
        tasks = context.task_set(self.models, self.signals)
        p = float(self.p_correct_tasks(tasks)[0])
        return Verdict(self.name, min(max(p, 0.0), 1.0), reason=f"post-hoc {self.head.label or 'head'} "
                                                                f"P={p:.2f} at step {self.position + 1}")
