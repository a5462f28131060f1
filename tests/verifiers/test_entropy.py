from __future__ import annotations

import numpy as np
import pytest

from aco.routers.decision import Run, TaskContext
from aco.verifiers.entropy import EntropyCalibrator, EntropyVerifier, token_stats


def logprobs(confidence: float, tokens: int = 4) -> list[dict[str, object]]:
    """OpenAI `logprobs.content`: each token's chosen logprob and its top alternatives."""
    rest = (1 - confidence) / 2
    top = [{"token": "a", "logprob": float(np.log(confidence))}, {"token": "b", "logprob": float(np.log(rest))},
           {"token": "c", "logprob": float(np.log(rest))}]
    return [{"token": "a", "logprob": float(np.log(confidence)), "top_logprobs": top} for _ in range(tokens)]


def test_token_stats() -> None:
    sure, unsure = token_stats(logprobs(0.99)), token_stats(logprobs(0.4))
    assert sure["mean_entropy"] < unsure["mean_entropy"] and sure["min_logprob"] > unsure["min_logprob"]
    assert unsure["mean_entropy"] == pytest.approx(-(0.4 * np.log(0.4) + 2 * 0.3 * np.log(0.3)))
    assert sure["tokens"] == 4.0 and sure["entropy_std"] == pytest.approx(0.0, abs=1e-12)
    mixed = token_stats(logprobs(0.99, 2) + logprobs(0.4, 2))
    assert mixed["entropy_std"] > 0 and mixed["logprob_std"] > 0
    with pytest.raises(ValueError, match="no token logprobs"):
        token_stats(None)
    with pytest.raises(ValueError, match="token 0 has no logprob"):
        token_stats([{"token": "x"}])


def test_calibrator_separates_confident_from_unsure_answers() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.3, 0.99, 200)
    stats = [token_stats(logprobs(float(c))) for c in confidence]
    success = (confidence + rng.normal(0, 0.1, 200)) > 0.65
    calibrator = EntropyCalibrator.fit(stats, success)
    p = np.array([calibrator(s) for s in stats])
    assert p[confidence > 0.9].mean() > 0.8 > 0.2 > p[confidence < 0.45].mean()
    assert calibrator.n == 200 and set(calibrator.to_json()["features"]) >= {"mean_entropy", "min_logprob"}
    with pytest.raises(ValueError, match="only one outcome"):
        EntropyCalibrator.fit(stats[:5], [True] * 5)


def test_verifier_asks_for_logprobs_abstains_until_calibrated() -> None:
    verifier = EntropyVerifier(min_outcomes=10)
    assert verifier.request_options("m") == {"logprobs": True, "top_logprobs": 5}
    run = Run("m", {"response": "A", "logprobs": logprobs(0.95)})
    waiting = verifier.verdict(TaskContext(), run)
    assert waiting.abstained and "not calibrated yet (0 labelled" in waiting.reason
    assert waiting.signals["mean_entropy"] > 0  # logged all the same: the calibrator is fitted from them later
    none = verifier.verdict(TaskContext(), Run("m", {"response": "A"}))
    assert none.abstained and "no usable logprobs" in none.reason and not none.signals
    stats = [token_stats(logprobs(c)) for c in np.linspace(0.3, 0.99, 20)]
    assert verifier.refit(stats[:5], [True, False] * 2 + [True]) is None  # below min_outcomes
    verifier.refit(stats, [c > 0.6 for c in np.linspace(0.3, 0.99, 20)])
    judged = verifier.verdict(TaskContext(), run)
    assert judged.p_correct is not None and judged.p_correct > 0.5 and "calibrated on 20" in judged.reason
    unsure = verifier.verdict(TaskContext(), Run("m", {"response": "A", "logprobs": logprobs(0.35)}))
    assert unsure.p_correct is not None and unsure.p_correct < 0.5
