"""The shift protocol's table: goal columns judge the first static router and the first online loop."""

from __future__ import annotations

from rich.console import Console

from aco.evaluation.shift import GroupReport, Score, ShiftResult
from aco.report.shift_table import goal_check, shift_markdown, shift_table


def _report(group: str, static: float, online: list[float], train_best: float, hindsight: float) -> GroupReport:
    single = {"t": Score(train_best, 0.5, 1.0), "h": Score(hindsight, 0.6, 2.0)}
    return GroupReport(group=group, n_tasks=10, n_train=30, train_best="t", hindsight_best="h", single=single,
                       oracle=Score(0.0, 0.9, 0.5), static={"shift": Score(static, 0.5, 1.0)},
                       online={"orchestrator-shift": [Score(r, 0.5, 1.0) for r in online]})


def test_goal_is_below_training_best_and_within_ten_percent_of_hindsight() -> None:
    result = ShiftResult("x", "leave-one-group-out", "category", [0, 1], ["t", "h"], groups=[
        _report("met", 9.0, [10.5, 10.9], 20.0, 10.0),      # 10.7 <= 11.0 and < 20
        _report("too far", 9.0, [11.5, 11.7], 20.0, 10.0),  # 11.6 > 11.0
        _report("not below", 21.0, [10.0, 10.0], 10.0, 10.0),  # the training best is the hindsight best
    ])
    checks = [goal_check(result, g) for g in result.groups]
    assert [c.online_met for c in checks] == [True, False, False]
    assert [c.static_not_worse for c in checks] == [True, True, False]
    markdown = shift_markdown(result)
    assert "| met | 10 | 9.0 | 10.7 +- 0.3 | t 20.0 | h 10.0 | 0.0 | yes | yes |" in markdown
    assert markdown.splitlines()[-1].endswith("| 1/3 | 2/3 |")
    console = Console(width=250, record=True)
    console.print(shift_table(result))
    assert "pooled" in console.export_text()
