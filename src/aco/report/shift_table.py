"""Tables of a shift protocol (`aco bench --holdout-group`): one row per held-out group, then the pooled row.

Columns: every static router's regret, every online loop's regret (mean +- sd over seeds), the best single
model of the training data, the best single model of the held-out group in hindsight, and the oracle. The goal
columns judge the first static router and the first online loop: online below the training data's best single
model and within 10% of the held-out group's best single model in hindsight; static not worse than the
training data's best single model.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table

from aco.evaluation.shift import GroupReport, ShiftResult

WITHIN = 0.10  # the online loop ends within 10% of the held-out group's best single model


@dataclass(frozen=True)
class GoalCheck:
    """The issue's goal on one group (None where there is no static or online router to judge)."""

    online_below_train_best: bool | None
    online_within_hindsight: bool | None
    static_not_worse: bool | None

    @property
    def online_met(self) -> bool | None:
        if self.online_below_train_best is None or self.online_within_hindsight is None:
            return None
        return self.online_below_train_best and self.online_within_hindsight


def goal_check(result: ShiftResult, report: GroupReport) -> GoalCheck:
    """Judge the first static router and the first online loop of a group report."""
    train_best, hindsight = result.reference_regrets(report)
    online = next(iter(report.online), None)
    static = next(iter(report.static), None)
    mean = report.online_regret(online)[0] if online else None
    return GoalCheck(
        online_below_train_best=None if mean is None else mean < train_best,
        online_within_hindsight=None if mean is None else mean <= (1.0 + WITHIN) * hindsight + 1e-9,
        static_not_worse=None if static is None else report.static[static].regret <= train_best + 1e-9,
    )


def _mark(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "no")


def _cells(result: ShiftResult, report: GroupReport) -> list[str]:
    train_best, hindsight = result.reference_regrets(report)
    check = goal_check(result, report)
    pooled = report.group == "pooled"
    cells = [report.group, str(report.n_tasks)]
    cells += [f"{s.regret:.1f}" for s in report.static.values()]
    cells += [f"{m:.1f} +- {sd:.1f}" for m, sd in (report.online_regret(spec) for spec in report.online)]
    cells += [f"{train_best:.1f}" if pooled else f"{report.train_best} {train_best:.1f}",
              f"{hindsight:.1f}" if pooled else f"{report.hindsight_best} {hindsight:.1f}",
              f"{report.oracle.regret:.1f}"]
    if not pooled:
        cells += [_mark(check.online_met), _mark(check.static_not_worse)]
    else:
        met = [goal_check(result, g) for g in result.groups]
        cells += [f"{sum(bool(c.online_met) for c in met)}/{len(met)}",
                  f"{sum(bool(c.static_not_worse) for c in met)}/{len(met)}"]
    return cells


def _headers(result: ShiftResult) -> list[str]:
    first = result.groups[0]
    return (["held-out group", "tasks"] + [f"{s} (static)" for s in first.static]
            + [f"{s} (online, {len(result.seeds)} seeds)" for s in first.online]
            + ["best single of training data", "best single of group (hindsight)", "oracle",
               "online goal met", "static <= training best"])


def shift_table(result: ShiftResult) -> Table:
    """The rich table printed by `aco bench --holdout-group`."""
    table = Table(title=f"aco bench {result.dataset}: {result.protocol} by {result.group_by} "
                        f"(cumulative regret, reward = score - cost_usd / ${result.objective.value_usd:g})",
                  caption="online goal: mean regret below the training data's best single model and within "
                          f"{100 * WITHIN:.0f}% of the group's best single model in hindsight")
    for i, header in enumerate(_headers(result)):
        table.add_column(header, justify="left" if i == 0 else "right")
    for report in [*result.groups, result.pooled()]:
        table.add_row(*_cells(result, report))
    return table


def shift_markdown(result: ShiftResult) -> str:
    """The same table as Markdown (for the docs)."""
    headers = _headers(result)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] * len(headers)) + "|"]
    for report in [*result.groups, result.pooled()]:
        lines.append("| " + " | ".join(_cells(result, report)) + " |")
    return "\n".join(lines)
