"""The dashboard's aggregate queries, on SQLite and PostgreSQL, against figures worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from aco.records import Usage
from aco.store import DecisionRecord, OutcomeRecord, RefusalRecord, Store
from aco.store import aggregates as agg

T0 = 1_700_000_000.0


def _decision(i: int, task: str, model: str, *, p: float = 0.5, created: float = T0, **kw: object) -> DecisionRecord:
    fields: dict[str, object] = {"profile": "p", "category": "c", "reserved_usd": 0.0, "step_kind": "",
                                 "p_success_by_model": {model: p, "other": 0.1}}
    fields.update(kw)
    return DecisionRecord(decision_id=f"d{i:03d}", task_id=task, chosen_model=model, created_at=created,
                          **fields)  # type: ignore[arg-type]


@pytest.fixture
def filled(any_store: Store) -> Store:
    """t1: two settled calls on 'small' ($1 + $2, counterfactual $5 + $6), success; t2: one call on 'big' ($4,
    counterfactual $4), failed outcome; t3: a failed call then a fallback, an escalation (by column), an open
    call and an expired one; 'x%_y': an escalation known only from its reason."""
    s = any_store
    s.open_budget("t1", 10.0)
    recs = [
        _decision(1, "t1", "small", p=0.8, step_kind="read", reserved_usd=1.0),
        _decision(2, "t1", "small", p=0.8, step_kind="edit", created=T0 + 30, reserved_usd=1.0),
        _decision(3, "t2", "big", p=0.9, created=T0 + 3600, profile="q"),
        _decision(4, "t3", "small", created=T0 + 7200),
        _decision(5, "t3", "mid", created=T0 + 7201, fallback_from="small"),
        _decision(6, "t3", "big", created=T0 + 7202, escalated_from="mid"),
        _decision(7, "t3", "big", created=T0 + 7203, reserved_usd=0.5),
        _decision(8, "t3", "big", created=T0 + 7204, reserved_usd=0.25),
        _decision(9, "x%_y", "big", created=T0 + 7205, reason="escalated from small: cheapest with P >= 0.7"),
    ]
    for rec in recs:
        assert s.reserve_and_record(rec)
    s.settle_decision("d001", 1.0, counterfactual_usd=5.0, usage=Usage(10, 5))
    s.settle_decision("d002", 2.0, counterfactual_usd=6.0)
    s.settle_decision("d003", 4.0, counterfactual_usd=4.0)
    s.settle_decision("d004", 0.0, status="failed")
    s.settle_decision("d005", 0.5, counterfactual_usd=1.5)
    s.settle_decision("d006", 1.0)  # no counterfactual known: counts as its own cost
    s.settle_decision("d008", 0.25, status="expired")
    s.record_outcome(OutcomeRecord(task_id="t1", model="small", score=1.0, success=True))
    s.record_outcome(OutcomeRecord(task_id="t2", model="big", score=0.0, success=False, decision_id="d003"))
    s.record_refusal(RefusalRecord(task_id="t1", profile="p", model="small", needed_usd=2.0, remaining_usd=1.0))
    return s


def test_totals_follow_the_money_conventions(filled: Store) -> None:
    t = agg.totals(filled)
    assert (t.decisions, t.tasks) == (9, 4)
    assert t.spent_usd == pytest.approx(1 + 2 + 4 + 0 + 0.5 + 1 + 0.25)
    assert t.counterfactual_usd == pytest.approx(5 + 6 + 4 + 0 + 1.5 + 1 + 0.25)
    assert t.open_reserved_usd == pytest.approx(0.5)  # d007 (d009 reserved nothing)
    assert (t.escalations, t.fallbacks) == (2, 1)
    assert t.by_status == {"settled": 5, "failed": 1, "open": 2, "expired": 1}
    assert (t.outcomes, t.successes) == (2, 1)


def test_rollup_buckets_by_decision_time(filled: Store) -> None:
    rolled = agg.rollup(filled)
    assert rolled.bucket_s == 60  # 7,205 s span: 1 s, 5 s and 15 s buckets would be more than 240
    points = rolled.spend_series()
    assert sum(p[1] for p in points) == pytest.approx(agg.totals(filled).spent_usd)
    assert sum(p[3] for p in points) == 9
    first = points[0]
    assert first[0] == pytest.approx(T0 // 60 * 60) and first[1] == pytest.approx(3.0) and first[3] == 2
    profiles = {k: (n, s, c) for k, n, s, c in rolled.by("profile")}
    assert profiles["q"] == (1, 4.0, 4.0) and profiles["p"][0] == 8
    assert {k: n for k, n, _, _ in rolled.by("model")} == {"small": 3, "mid": 1, "big": 5}
    empty = agg.rollup(Store.open("sqlite://"))
    assert empty.cells == empty.series == [] and empty.spend_series() == []
    assert agg.totals(Store.open("sqlite://")).decisions == 0
    assert agg.bucket_seconds(0, 100) == 1 and agg.bucket_seconds(0, 86400 * 2) == 900


def test_task_results_pair_spend_prediction_and_the_last_outcome(filled: Store) -> None:
    r = agg.task_results(filled)
    got = sorted(zip(r.spent_usd.tolist(), r.counterfactual_usd.tolist(), r.success.tolist(), r.p_success.tolist(),
                     strict=True))
    # t1: its last decision (d002, small, P 0.8); t2: the decision its outcome names (d003, big, P 0.9)
    assert got == [(3.0, 11.0, 1.0, 0.8), (4.0, 4.0, 0.0, 0.9)]
    filled.record_outcome(OutcomeRecord(task_id="t2", model="big", score=1.0, success=True))  # no decision named
    filled.record_outcome(OutcomeRecord(task_id="t1", model="mid", score=1.0, success=True))  # not its model
    filled.record_outcome(OutcomeRecord(task_id="nobody", model="small", score=1.0, success=True))
    r = agg.task_results(filled)
    rows = sorted(zip(r.spent_usd.tolist(), r.success.tolist(), r.p_success.tolist(), strict=True))
    assert rows[0] == (0.0, 1.0, rows[0][2]) and np.isnan(rows[0][2])  # a task without decisions
    assert np.isnan(rows[1][2]) and rows[1][:2] == (3.0, 1.0)
    assert rows[2] == (4.0, 1.0, 0.9)  # t2's last decision is d003 (big)


def test_task_results_count_a_task_once_when_its_last_decisions_tie(any_store: Store) -> None:
    for i in (1, 2):  # two last decisions at the same instant
        any_store.record_decision(_decision(i, "tie", "small", p=0.6, created=T0 + 5))
        any_store.settle_decision(f"d{i:03d}", 1.0, counterfactual_usd=2.0)
    any_store.record_outcome(OutcomeRecord(task_id="tie", model="small", score=1.0, success=False))
    r = agg.task_results(any_store)
    assert (r.spent_usd.tolist(), r.counterfactual_usd.tolist(), r.success.tolist(), r.p_success.tolist()) == (
        [2.0], [4.0], [0.0], [0.6])


def test_success_escalations_fallbacks_failures_and_splits(filled: Store) -> None:
    assert agg.success_cells(filled) == [("big", "c", 1, 0), ("small", "c", 1, 1)]
    assert agg.escalations(filled) == [("mid", "big", 1), ("small", "big", 1)]
    assert agg.fallbacks(filled) == [("small", "mid", 1)]
    assert agg.failures(filled) == [("small", 1)]


def test_budgets_and_refusals(filled: Store) -> None:
    b = agg.budget_totals(filled)
    assert b["tasks"] == 1 and b["budget_usd"] == 10.0
    assert b["spent_usd"] == pytest.approx(3.0) and b["reserved_usd"] == pytest.approx(0.0)
    assert (b["refusals"], b["refused_tasks"], b["refused_needed_usd"]) == (1, 1, 2.0)
    assert agg.refusals_by(filled) == [("p", "small", 1)]


def test_fingerprint_changes_with_every_write(filled: Store) -> None:
    marks = [agg.fingerprint(filled)]
    filled.settle_decision("d007", 0.5)
    marks.append(agg.fingerprint(filled))
    filled.record_outcome(OutcomeRecord(task_id="t3", model="big", score=1.0, success=True))
    marks.append(agg.fingerprint(filled))
    filled.record_refusal(RefusalRecord(task_id="t3", profile="p", model="small", needed_usd=1.0))
    marks.append(agg.fingerprint(filled))
    filled.record_decision(_decision(99, "t9", "small"))
    marks.append(agg.fingerprint(filled))
    filled.open_budget("t9", 1.0)
    marks.append(agg.fingerprint(filled))
    assert len(set(marks)) == len(marks) and agg.fingerprint(filled) == marks[-1]


def test_decision_page_filters_and_paginates(filled: Store) -> None:
    total, rows = agg.decision_page(filled, agg.DecisionFilter(), 0, 4)
    assert total == 9 and [r.decision_id for r in rows] == ["d009", "d008", "d007", "d006"]
    total, rows = agg.decision_page(filled, agg.DecisionFilter(), 8, 4)
    assert total == 9 and [r.decision_id for r in rows] == ["d001"]
    assert agg.decision_page(filled, agg.DecisionFilter(model="big", task_prefix="t"), 0, 50)[0] == 4
    assert agg.decision_page(filled, agg.DecisionFilter(profile="q"), 0, 50)[0] == 1
    assert agg.decision_page(filled, agg.DecisionFilter(step_kind="edit"), 0, 50)[0] == 1
    assert agg.decision_page(filled, agg.DecisionFilter(step_kind=agg.NO_STEP), 0, 50)[0] == 7
    # LIKE wildcards in the prefix are literal: 'x%' matches only the task 'x%_y', 't_' matches nothing
    assert agg.decision_page(filled, agg.DecisionFilter(task_prefix="x%"), 0, 50)[0] == 1
    assert agg.decision_page(filled, agg.DecisionFilter(task_prefix="t_"), 0, 50)[0] == 0
    assert agg.filter_options(filled) == {"profiles": ["p", "q"], "models": ["big", "mid", "small"],
                                          "steps": [agg.NO_STEP, "edit", "read"]}
