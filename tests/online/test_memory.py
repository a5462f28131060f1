from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from aco.online.memory import Experience, InMemoryMemory, LoggedDecision, dense, sparse
from aco.online.memory_sql import StoreMemory

MODELS = ("m0", "m1")


def _decision(i: int, model: str = "m1") -> LoggedDecision:
    return LoggedDecision(decision_id=f"d{i}", task_id=f"t{i}", category="a", candidates=MODELS,
                          chosen_model=model, propensity=0.25, p_success_by_model={"m0": 0.1, "m1": 0.6},
                          features={"f1": 1.0})


def _outcome(i: int, model: str = "m1", score: float = 1.0) -> Experience:
    return Experience(task_id=f"t{i}", category="a", model=model, score=score, success=score >= 0.5,
                      cost_usd=0.5, verifier="benchmark", decision_id=f"d{i}", features={"f1": 1.0})


def test_sparse_dense_round_trip() -> None:
    v = np.array([0.0, 0.5, 0.0, 2.0])
    np.testing.assert_array_equal(dense(sparse(v), 4), v)


def test_in_memory_stats_and_neighbours() -> None:
    mem = InMemoryMemory(4)
    mem.record_outcome(_outcome(0, "m0", 0.0))
    mem.record_outcome(_outcome(1, "m1", 1.0))
    stats = mem.stats(MODELS, "a")
    np.testing.assert_array_equal(stats.n, [1, 1])
    np.testing.assert_array_equal(stats.score_sum, [0, 1])
    assert mem.stats(MODELS, "zzz").n.sum() == 0
    near = mem.neighbours(np.array([0, 1.0, 0, 0]), MODELS, k=5)
    assert sorted(near.model_idx.tolist()) == [0, 1]


def test_store_memory_insert_query_and_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mem.db'}"
    mem = StoreMemory.open(url, n_features=4)
    for i in range(3):
        mem.record_decision(_decision(i))
        mem.record_outcome(_outcome(i, score=float(i % 2)))
    before = mem.stats(MODELS, "a")
    mem.close()
    again = StoreMemory.open(url, n_features=4)
    after = again.stats(MODELS, "a")
    np.testing.assert_array_equal(before.n, after.n)
    np.testing.assert_array_equal(before.score_sum, after.score_sum)
    assert [d.decision_id for d in again.decisions()] == ["d0", "d1", "d2"]
    assert again.decisions()[0].propensity == 0.25
    assert again.decisions()[0].p_success_by_model == {"m0": 0.1, "m1": 0.6}
    assert len(again.neighbours(np.array([0, 1.0, 0, 0]), MODELS, 2).score) == 2
    assert {(c, m, n) for c, m, n, _, _ in again.store.category_model_stats()} == {("a", "m1", 3)}
    again.close()


def test_store_memory_concurrent_writers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mem.db'}"
    mems = [StoreMemory.open(url, n_features=4) for _ in range(3)]

    def write(k: int) -> None:
        for i in range(20):
            mems[k].record_decision(_decision(100 * k + i))
            mems[k].record_outcome(_outcome(100 * k + i))

    threads = [threading.Thread(target=write, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mems[0].refresh()  # sees the other writers' commits
    assert len(mems[0].decisions()) == 60 and mems[0].stats(MODELS).n.sum() == 60
    for m in mems:
        m.close()


_WRITER = """
import sys
from aco.online.memory import Experience, LoggedDecision
from aco.online.memory_sql import StoreMemory
mem = StoreMemory.open(sys.argv[1], n_features=4)
i = 0
while True:
    mem.record_decision(LoggedDecision(decision_id=f"d{i}", task_id=f"t{i}", category="a", candidates=("m0",),
                                       chosen_model="m0", propensity=1.0, features={"f0": 1.0}))
    mem.record_outcome(Experience(task_id=f"t{i}", category="a", model="m0", score=1.0, success=True,
                                  cost_usd=0.1, verifier="benchmark", decision_id=f"d{i}"))
    print(i, flush=True)
    i += 1
"""


def test_a_killed_writer_loses_no_committed_record(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    committed = -1
    try:
        for line in proc.stdout:
            committed = int(line)
            if committed >= 30:
                break
    finally:
        proc.kill()  # SIGKILL in the middle of the next write
        proc.wait(timeout=30)
    mem = StoreMemory.open(url, n_features=4)
    ids = {d.decision_id for d in mem.decisions()}
    assert {f"d{i}" for i in range(committed + 1)} <= ids
    outcome_ids = {o.decision_id for o in mem.outcomes()}
    assert {f"d{i}" for i in range(committed + 1)} <= outcome_ids
    mem.close()
