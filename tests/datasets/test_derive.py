"""Derivation of the SWE-bench Verified files from upstream-shaped sources, the flag rule, content digests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aco.datasets.derive import (
    FLAG_INCONSISTENT,
    META_FILE,
    RUNS_FILE,
    content_digest,
    derive_swebench,
    instances_bytes,
    leaderboard_results,
    meta_rows,
    runs_rows,
)
from aco.datasets.registry import dataset_source
from aco.errors import DataError
from tests.datasets.swebench_upstream import FOLDER, chronorepo_jsonl, leaderboards_json


def _result(name: str, resolved_pct: float, outcomes: list[bool] | None) -> dict[str, Any]:
    result: dict[str, Any] = {"name": name, "folder": f"f_{name}", "date": "2025-01-01", "resolved": resolved_pct,
                              "cost": 1.5, "instance_cost": 0.5, "instance_calls": 3.0,
                              "mini-swe-agent_version": "1.0.0", "tags": [f"Model: tag-{name}", "Org: x"]}
    if outcomes is not None:
        result["per_instance_details"] = {f"org__repo-{i}": {"api_calls": i + 1, "cost": 0.25 * i, "resolved": ok}
                                          for i, ok in enumerate(outcomes)}
    return result


def _document(*results: dict[str, Any]) -> dict[str, Any]:
    return {"leaderboards": [{"name": "Verified", "results": []}, {"name": "bash-only", "results": list(results)}]}


def test_runs_and_meta_rows_of_a_small_board() -> None:
    results = leaderboard_results(_document(_result("a", 50.0, [True, False]), _result("b", 10.0, [True, True]),
                                            _result("c", 30.0, None)))
    assert runs_rows(results)[:2] == [["org__repo-0", "org", "a", "f_a", 1, 0.0, 1],
                                      ["org__repo-1", "org", "a", "f_a", 0, 0.25, 2]]
    assert len(runs_rows(results)) == 4  # c has no per-instance details
    meta = meta_rows(results, tolerance_pp=1.0)
    assert [row[1] for row in meta] == ["tag-a", "tag-b", "tag-c"]
    assert [row[-4:] for row in meta] == [[True, 2, 1, ""], [True, 2, 2, FLAG_INCONSISTENT], [False, 0, None, ""]]


def test_the_tolerance_decides_the_flag() -> None:
    results = leaderboard_results(_document(_result("a", 50.4, [True, False])))  # 50.0 % per instance
    assert meta_rows(results, tolerance_pp=1.0)[0][-1] == ""
    assert meta_rows(results, tolerance_pp=0.3)[0][-1] == FLAG_INCONSISTENT


def test_bad_upstream_input_names_what_is_wrong() -> None:
    with pytest.raises(DataError, match="no leaderboard named 'bash-only'"):
        leaderboard_results({"leaderboards": [{"name": "Verified", "results": []}]})
    with pytest.raises(DataError, match="not JSON"):
        derive_swebench(b"<html>rate limited</html>", b"")
    broken = _result("a", 50.0, [True])
    del broken["per_instance_details"]["org__repo-0"]["cost"]
    with pytest.raises(DataError, match=r"per_instance_details of 'a' for 'org__repo-0'"):
        runs_rows(leaderboard_results(_document(broken)))
    with pytest.raises(DataError, match="line 2") as info:
        instances_bytes(b'{"instance_id": "x", "repo": "r", "base_commit": "c", "problem_statement": "p"}\n{"x": 1}\n')
    assert info.value.line == 2


def test_content_digest_ignores_spelling_but_not_content() -> None:
    header = "instance_id,repo,model,folder,resolved,cost_usd,api_calls"
    rows = ["a__b-1,a,m,f,1,0.30000000000000004,3", "a__b-2,a,m,f,0,0.1,2"]
    base = content_digest(RUNS_FILE, "\r\n".join([header, *rows, ""]).encode())
    reordered = "\n".join([header, rows[1], rows[0].replace("0.30000000000000004", "0.3"), ""]).encode()
    assert content_digest(RUNS_FILE, reordered) == base
    assert content_digest(RUNS_FILE, "\n".join([header, rows[0].replace(",1,", ",0,"), rows[1]]).encode()) != base
    with pytest.raises(DataError, match="no canonical form"):
        content_digest("other.csv", b"")


@pytest.mark.realdata
def test_inverse_sources_derive_the_shared_files_exactly(data_dir: Path) -> None:
    """Upstream-shaped sources rebuilt from the shared files derive back to them, byte for byte and by pin."""
    derived = derive_swebench(leaderboards_json(data_dir), chronorepo_jsonl(data_dir))
    pins = {Path(f["path"]).name: f for f in dataset_source("swebench-verified")["files"]}
    assert set(derived) == set(pins)
    for name, data in derived.items():
        shared = (data_dir / FOLDER / name).read_bytes()
        assert data == shared, name
        assert content_digest(name, data) == content_digest(name, shared) == pins[name]["content_sha256"]


@pytest.mark.realdata
def test_flag_rule_reproduces_the_shared_models_meta(data_dir: Path) -> None:
    """Only Claude 3.7 Sonnet is flagged at 1 pp; the largest honest gap is Claude 4 Sonnet's 0.13 pp."""
    results = leaderboard_results(json.loads(leaderboards_json(data_dir)))
    flagged = {row[0] for row in meta_rows(results, 1.0) if row[-1]}
    assert flagged == {"Claude 3.7 Sonnet (20250219)"}
    shared_meta = (data_dir / FOLDER / META_FILE).read_text(encoding="utf-8")
    assert sum(FLAG_INCONSISTENT in line for line in shared_meta.splitlines()) == 1
    assert {row[0] for row in meta_rows(results, 0.1) if row[-1]} == flagged | {"Claude 4 Sonnet (20250514)"}
