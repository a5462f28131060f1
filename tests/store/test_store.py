"""The store: round trips, SQL aggregates, atomic budgets under concurrency, crash safety, migrations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aco.errors import ConfigError
from aco.store import DecisionRecord, OutcomeRecord, Store
from aco.store.schema import LATEST_VERSION


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'aco.db'}"
    else:
        url = os.environ.get("ACO_TEST_POSTGRES_URL", "")
        if not url:
            pytest.skip("no PostgreSQL server: set ACO_TEST_POSTGRES_URL=postgresql+psycopg://... to test it")
    s = Store.open(url)
    if request.param == "postgresql":  # a shared server: start from empty tables
        with s.engine.begin() as conn:
            for table in ("decisions", "outcomes", "budgets"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
    request.addfinalizer(s.close)
    return s


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
