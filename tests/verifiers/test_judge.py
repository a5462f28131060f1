from __future__ import annotations

import pytest

from aco.routers.decision import Run, TaskContext
from aco.verifiers import Call, Reply, Verdict, fails
from aco.verifiers.judge import PROMPT_VERSION, JudgeVerifier, judge_messages, parse_score


@pytest.mark.parametrize(("text", "score"), [
    ("SCORE: 7", 7.0), ("score = 3/10", 3.0), ('{"score": 9}', 9.0), ("8/10", 8.0), ("10", 10.0),
    ("Reasoning... **Score:** 2", 2.0), ("SCORE: 6\nThe answer is mostly right.", 6.0)])
def test_scores_are_read_robustly(text: str, score: float) -> None:
    assert parse_score(text) == score


@pytest.mark.parametrize(("text", "why"), [
    ("The answer looks fine.", "no score"), ("SCORE: 11", "outside 0-10"), ("SCORE: 3 ... SCORE: 8", "several"),
    ("", "no score"), ('{"score": true}', "no score")])
def test_malformed_output_is_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_score(text)


def test_the_prompt_is_fixed_and_clipped() -> None:
    system, user = judge_messages("task " * 5000, "answer", max_chars=100)
    assert "SCORE: <an integer" in system["content"] and "[...]" in user["content"] and len(user["content"]) < 400
    assert PROMPT_VERSION == "aco-judge-v1"


def _verify(reply: Reply) -> tuple[list[Call], Verdict]:
    asked: list[Call] = []

    def caller(call: Call) -> Reply:
        asked.append(call)
        return reply

    verdict = JudgeVerifier(model="judge-m").verify(TaskContext(task_id="t", text="2+2?"), Run("m", {"response": "4"}),
                                                    caller)
    return asked, verdict


def test_the_judge_grades_pays_and_abstains_on_garbage() -> None:
    asked, verdict = _verify(Reply("judge-m", ("SCORE: 3",), cost_usd=0.001))
    assert asked[0].model == "judge-m" and asked[0].purpose == "judge" and "2+2?" in asked[0].messages[1]["content"]
    assert verdict.p_correct == pytest.approx(0.3) and verdict.cost_usd == 0.001
    assert fails(verdict, 0.5)
    _, garbage = _verify(Reply("judge-m", ("I think it is good!!",), cost_usd=0.002))
    assert garbage.abstained and garbage.cost_usd == 0.002
    assert "malformed judge output: no score" in garbage.reason
    assert not fails(garbage, 0.5)  # the decision stands
    _, failed = _verify(Reply("judge-m", error="HTTP 500"))
    assert failed.abstained and "judge judge-m failed: HTTP 500" in failed.reason


def test_without_an_environment_that_calls_it_abstains() -> None:
    verdict = JudgeVerifier(model="j").verify(TaskContext(), Run("m", {"response": "x"}))
    assert verdict.abstained and "makes none" in verdict.reason
    with pytest.raises(ValueError, match="needs a `model`"):
        JudgeVerifier()
