from __future__ import annotations

import numpy as np
import pytest

from aco.routers.decision import Run, TaskContext
from aco.verifiers import Call, Reply, fails, make_verifier
from aco.verifiers.agreement import (
    AgreementCalibrator,
    AgreementVerifier,
    agreement_scores,
    select,
    similarity_matrix,
)

PROMPT = "Which is heavier?\nA) A feather\nB) A brick\nC) Air\nAnswer:"


def test_scores_and_selector() -> None:
    sim = similarity_matrix(["B", "B", "A", None], "choice")
    assert sim[0, 1] == 1.0 and sim[0, 2] == 0.0 and sim[3, 3] == 1.0 and sim[3, 0] == 0.0
    scores = agreement_scores(sim)
    np.testing.assert_allclose(scores, [1 / 3, 1 / 3, 0.0, 0.0])
    assert select(scores, np.array([0.1, 0.9, 0.5, 0.5]))[0] == 1  # a tie goes to the preferred model
    assert select(scores, np.array([0.5, 0.5, 0.5, 0.5]))[0] == 0  # then to the first
    assert agreement_scores(np.eye(1)).tolist() == [0.0]


def test_verdict_from_calls_to_other_models_and_samples() -> None:
    verifier = make_verifier("agreement", models=["m1", "m2", "cand"], samples=3, threshold=0.5)
    context = TaskContext(task_id="t", text=PROMPT)
    calls = verifier.calls(context, Run("cand", {"response": "B"}))
    assert [(c.model, c.n) for c in calls] == [("m1", 1), ("m2", 1), ("cand", 2)]  # never asks the candidate twice
    assert calls[0].messages == ({"role": "user", "content": PROMPT},)
    answers = {"m1": ("A brick",), "m2": ("A",), "cand": ("B", "B")}

    def caller(call: Call) -> Reply:
        return Reply(call.model, answers[call.model], cost_usd=0.001 * call.n)

    verdict = verifier.verify(context, Run("cand", {"response": "B)"}), caller)
    assert verdict.p_correct == pytest.approx(0.75) and verdict.signals["agreeing"] == 3.0
    assert verdict.cost_usd == pytest.approx(0.004) and not fails(verdict, 0.5)
    lone = verifier.verify(context, Run("cand", {"response": "C"}), caller)
    assert lone.p_correct == 0.0 and fails(lone, 0.5) and "0 identical" in lone.reason


def test_failed_calls_abstain_and_other_runs_are_used_without_calls() -> None:
    verifier = AgreementVerifier(models=["m1"])
    context = TaskContext(task_id="t", text=PROMPT)
    down = verifier.verify(context, Run("c", {"response": "B"}), lambda call: Reply(call.model, error="HTTP 503"))
    assert down.abstained and "calls failed: m1: HTTP 503" in down.reason
    runs = (Run("x", {"response": "B"}), Run("y", {"response": "A brick"}), Run("z", {"response": "B"}))
    verdict = AgreementVerifier().verdict(TaskContext(text=PROMPT, runs=runs), runs[-1])
    assert verdict.p_correct == 1.0  # the panel's other runs agree


def test_calibrator_uses_which_model_was_selected() -> None:
    scores = np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]] * 20)
    chosen = np.array([0, 0, 1, 1] * 20)
    correct = np.array([1, 0, 1, 1] * 20)  # model 1's answers are right even when the panel disagrees
    calibrator = AgreementCalibrator.fit(scores, chosen, correct)
    p = calibrator(scores[:4], chosen[:4])
    assert p[3] > 0.5 > p[1]
    again = AgreementCalibrator.from_json(calibrator.to_json())
    np.testing.assert_allclose(again(scores, chosen), calibrator(scores, chosen))
    flat = AgreementCalibrator.fit(scores[:4], chosen[:4], np.ones(4))
    assert np.all(flat(scores[:4], chosen[:4]) > 0.99)
