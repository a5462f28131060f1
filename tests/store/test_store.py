"""The store: round trips, SQL aggregates, atomic budgets under concurrency, crash safety, migrations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from aco.errors import ConfigError
from aco.records import Usage
from aco.store import DecisionRecord, OutcomeRecord, RefusalRecord, Store
from aco.store.schema import LATEST_VERSION


@pytest.fixture
def store(any_store: Store) -> Store:
    return any_store


def _decision(i: int, task: str = "t1", category: str = "arc") -> DecisionRecord:
    return DecisionRecord(decision_id=f"d{i}", task_id=task, profile="p", chosen_model="m-cheap", step_kind="edit",
                          category=category, candidates=("m-cheap", "m-big"), propensity=0.5,
                          p_success_by_model={"m-cheap": 0.6, "m-big": 0.9}, features={"len": 3.0},
                          reason="cheapest above threshold", reserved_usd=0.01, created_at=1000.0 + i)


def test_decision_round_trip(store: Store) -> None:
    store.record_decision(_decision(1))
    got = store.get_decision("d1")
    assert got == _decision(1)
    assert store.get_decision("nope") is None
    store.record_decision(_decision(2, task="t2"))
    assert [d.decision_id for d in store.decisions()] == ["d1", "d2"]
    assert [d.decision_id for d in store.decisions(task_id="t2")] == ["d2"]
    assert len(store.decisions(limit=1)) == 1


def test_outcomes_and_stats(store: Store) -> None:
    store.record_decision(_decision(1, category="arc"))
    store.record_outcome(OutcomeRecord(task_id="t1", decision_id="d1", model="m-cheap", score=1.0, success=True,
                                       cost_usd=0.5, verifier="benchmark"))
    store.record_outcome(OutcomeRecord(task_id="t1", model="m-cheap", score=0.0, success=False, cost_usd=0.25))
    store.record_outcome(OutcomeRecord(task_id="t9", model="m-big", score=1.0, success=True, cost_usd=2.0,
                                       category="mbpp"))
    outs = store.outcomes("t1")
    assert [o.category for o in outs] == ["arc", "arc"]  # filled from the decision
    assert store.category_model_stats() == [("arc", "m-cheap", 2, 1.0, 0.75), ("mbpp", "m-big", 1, 1.0, 2.0)]


def test_bad_records_are_refused() -> None:
    with pytest.raises(ValueError, match="score"):
        OutcomeRecord(task_id="t", model="m", score=2.0, success=True)
    with pytest.raises(ValueError, match="verifier"):
        OutcomeRecord(task_id="t", model="m", score=1.0, success=True, verifier="vibes")
    with pytest.raises(ConfigError, match="unsupported"):
        Store.open("mysql://x/y")


def test_budget_reserve_settle(store: Store) -> None:
    assert store.reserve("free", 5.0)  # no budget: no limit
    store.open_budget("t1", 1.0)
    store.open_budget("t1", 99.0)  # an existing budget is kept
    assert store.reserve("t1", 0.6)
    assert not store.reserve("t1", 0.6)
    store.settle("t1", 0.6, 0.2)
    assert store.budget("t1") == pytest.approx((1.0, 0.0, 0.2))
    assert store.reserve("t1", 0.8)
    assert not store.reserve("t1", 0.01)


def test_concurrent_reservations_never_overspend(store: Store) -> None:
    store.open_budget("t", 1.0)

    def one(_: int) -> bool:
        ok = store.reserve("t", 0.03)
        if ok:
            store.settle("t", 0.03, 0.03)
        return ok

    with ThreadPoolExecutor(max_workers=16) as pool:
        granted = sum(pool.map(one, range(100)))
    budget_usd, reserved_usd, spent_usd = store.budget("t") or (0, 0, 0)
    assert granted == 33  # floor(1.0 / 0.03)
    assert spent_usd == pytest.approx(0.99) and spent_usd <= budget_usd and reserved_usd == pytest.approx(0.0)


_RESERVER = """
import sys
from aco.store import Store
s = Store.open(sys.argv[1])
print(sum(s.reserve("shared", 0.1) for _ in range(int(sys.argv[2]))))
"""


def test_reservations_across_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aco.db'}"
    Store.open(url).open_budget("shared", 2.0)
    procs = [subprocess.Popen([sys.executable, "-c", _RESERVER, url, "10"], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    granted = sum(int(p.communicate(timeout=60)[0]) for p in procs)
    assert granted == 20
    assert (Store.open(url).budget("shared") or (0, 0, 0))[1] == pytest.approx(2.0)


_WRITER = """
import sys
from aco.store import OutcomeRecord, Store
s = Store.open(sys.argv[1])
i = 0
while True:
    s.record_outcome(OutcomeRecord(task_id=f"t{i}", model="m", score=1.0, success=True, cost_usd=0.1))
    print(i, flush=True)
    i += 1
"""


def test_killed_writer_loses_no_committed_record(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aco.db'}"
    Store.open(url).close()
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    committed = []
    deadline = time.monotonic() + 60
    while len(committed) < 50 and time.monotonic() < deadline:
        committed.append(int(proc.stdout.readline()))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = {o.task_id for o in Store.open(url).outcomes()}
    assert {f"t{i}" for i in committed} <= stored


def test_migrations_are_versioned_and_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aco.db'}"
    first = Store.open(url)
    assert first.schema_version() == LATEST_VERSION
    assert first.migrate() == LATEST_VERSION
    first.record_decision(_decision(1))
    assert Store.open(url).get_decision("d1") is not None


def test_reserve_and_record_is_all_or_nothing(store: Store) -> None:
    store.open_budget("t1", 0.015)
    assert store.reserve_and_record(_decision(1))  # reserves 0.01
    assert not store.reserve_and_record(_decision(2))  # would reach 0.02 > 0.015: nothing written
    assert store.get_decision("d2") is None
    assert store.budget("t1") == pytest.approx((0.015, 0.01, 0.0))


def test_settle_decision_records_cost_and_usage_once(store: Store) -> None:
    store.open_budget("t1", 1.0)
    assert store.reserve_and_record(_decision(1))  # reserves 0.01
    usage = Usage(input_tokens=100, output_tokens=20, cached_input_tokens=400, cache_write_tokens=5,
                  reasoning_tokens=7)
    assert store.settle_decision("d1", 0.004, usage=usage, counterfactual_usd=0.04, settled_at=2000.0)
    assert store.budget("t1") == pytest.approx((1.0, 0.0, 0.004))
    got = store.get_decision("d1")
    assert got is not None
    assert (got.status, got.cost_usd, got.counterfactual_usd, got.usage, got.settled_at) == (
        "settled", 0.004, 0.04, usage, 2000.0)
    assert not store.settle_decision("d1", 0.5)  # a second settlement books nothing
    assert not store.settle_decision("no-such-decision", 0.5)
    assert store.budget("t1") == pytest.approx((1.0, 0.0, 0.004))


def test_failed_call_settles_at_zero(store: Store) -> None:
    store.open_budget("t1", 1.0)
    assert store.reserve_and_record(_decision(1))
    assert store.settle_decision("d1", 0.0, status="failed")
    assert store.budget("t1") == pytest.approx((1.0, 0.0, 0.0))
    assert store.get_decision("d1").status == "failed"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="status"):
        store.settle_decision("d1", 0.0, status="open")


def test_expire_reservations_settles_only_stale_open_decisions(store: Store) -> None:
    store.open_budget("t1", 1.0)
    for i in (1, 2, 3):
        assert store.reserve_and_record(_decision(i))  # created_at 1001, 1002, 1003; 0.01 each
    assert store.settle_decision("d1", 0.002)
    expired = store.expire_reservations(older_than_s=10.0, now=1012.5)  # cutoff 1002.5: d2 only (d1 settled)
    assert [d.decision_id for d in expired] == ["d2"]
    assert store.get_decision("d2").status == "expired"  # type: ignore[union-attr]
    assert store.get_decision("d3").status == "open"  # type: ignore[union-attr]
    assert store.budget("t1") == pytest.approx((1.0, 0.01, 0.012))  # d3 still reserved; d2 booked at its estimate
    assert store.expire_reservations(older_than_s=10.0, now=1012.5) == []


def test_refusals_round_trip(store: Store) -> None:
    store.record_refusal(RefusalRecord(task_id="t1", profile="p", model="m-cheap", needed_usd=0.01,
                                       remaining_usd=0.004, category="arc", created_at=5.0))
    store.record_refusal(RefusalRecord(task_id="t2", profile="p", model="m-big", needed_usd=0.2))
    assert [r.task_id for r in store.refusals()] == ["t1", "t2"]
    assert store.refusals("t1") == [RefusalRecord(task_id="t1", profile="p", model="m-cheap", needed_usd=0.01,
                                                  remaining_usd=0.004, category="arc", created_at=5.0)]


def test_v1_database_is_migrated_to_v2_without_losing_rows(tmp_path: Path) -> None:
    """A store written by the first release (schema v1) opens: its decisions get status 'unknown'."""
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the v1 schema as released
        conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at FLOAT NOT NULL)")
        conn.exec_driver_sql("INSERT INTO schema_version VALUES (1, 0.0)")
        conn.exec_driver_sql(
            "CREATE TABLE decisions (decision_id VARCHAR(64) PRIMARY KEY, task_id VARCHAR(256) NOT NULL, "
            "profile VARCHAR(128) NOT NULL, step_kind VARCHAR(32) NOT NULL, category VARCHAR(256) NOT NULL, "
            "candidates JSON NOT NULL, chosen_model VARCHAR(256) NOT NULL, propensity FLOAT NOT NULL, "
            "p_success_by_model JSON NOT NULL, features JSON NOT NULL, reason TEXT NOT NULL, "
            "reserved_usd FLOAT NOT NULL, created_at FLOAT NOT NULL)")
        conn.exec_driver_sql(
            "INSERT INTO decisions VALUES ('old1', 't1', 'p', '', 'arc', '[\"m\"]', 'm', 1.0, '{\"m\": 0.5}', "
            "'{}', 'old reason', 0.01, 1.0)")
        conn.exec_driver_sql(
            "CREATE TABLE outcomes (outcome_id INTEGER PRIMARY KEY, task_id VARCHAR(256) NOT NULL, "
            "decision_id VARCHAR(64), model VARCHAR(256) NOT NULL, category VARCHAR(256) DEFAULT '' NOT NULL, "
            "score FLOAT NOT NULL, success BOOLEAN NOT NULL, cost_usd FLOAT NOT NULL, verifier VARCHAR(32) NOT NULL, "
            "created_at FLOAT NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE budgets (task_id VARCHAR(256) PRIMARY KEY, budget_usd FLOAT NOT NULL, "
                             "reserved_usd FLOAT NOT NULL, spent_usd FLOAT NOT NULL)")
    engine.dispose()
    store = Store.open(url)
    assert store.schema_version() == LATEST_VERSION
    old = store.get_decision("old1")
    assert old is not None
    assert (old.status, old.reason, old.cost_usd, old.usage) == ("unknown", "old reason", None, None)
    assert store.expire_reservations(older_than_s=0.0) == []  # 'unknown' is not an open reservation
    store.record_decision(_decision(1))
    assert store.get_decision("d1").status == "open"  # type: ignore[union-attr]


def test_advisory_decision_is_never_expired_but_can_be_settled(store: Store) -> None:
    store.open_budget("t1", 1.0)
    assert store.reserve_and_record(replace(_decision(1), reserved_usd=0.0, status="advisory"))
    assert store.expire_reservations(older_than_s=0.0) == []
    assert store.settle_decision("d1", 0.003)  # the caller reports the call it made
    assert store.get_decision("d1").status == "settled"  # type: ignore[union-attr]
    assert store.budget("t1") == pytest.approx((1.0, 0.0, 0.003))


def test_verdict_round_trip(store: Store) -> None:
    from aco.store import VerdictRecord

    store.record_decision(_decision(1))
    judged = VerdictRecord(decision_id="d1", task_id="t1", verifier="judge", p_correct=0.3, reason="SCORE 3/10",
                           signals={"judge_score": 3.0}, cost_usd=0.0004, created_at=7.0)
    abstained = VerdictRecord(decision_id="d1", task_id="t1", verifier="entropy", p_correct=None,
                              reason="not calibrated yet", signals={"mean_entropy": 0.25}, created_at=8.0)
    store.record_verdict(judged)
    store.record_verdict(abstained)
    assert store.verdicts() == [judged, abstained]
    assert store.verdicts(verifier="entropy") == [abstained] and abstained.abstained
    assert store.verdicts(decision_id="nope") == [] and store.verdicts(task_id="t1") == [judged, abstained]
    with pytest.raises(ValueError, match="p_correct"):
        VerdictRecord(decision_id="d1", task_id="t1", verifier="judge", p_correct=1.5)
