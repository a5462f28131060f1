"""`aco bench` end to end on real data, including the figures the README must show."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from aco.cli.app import build_app
from aco.datasets.registry import load_dataset
from aco.evaluation.protocol import kfold_splits
from aco.evaluation.replay import replay
from aco.routers.baselines import OracleRouter

ROW_KEYS = {"router", "success", "cost_usd", "cost_reduction_vs_best_single", "regret", "avg_perf", "success_ci"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]


def _bench(data_dir: Path, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "out.json"
    result = CliRunner().invoke(build_app(), ["bench", *args, "--data-dir", str(data_dir), "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    return {"json": rows, "rows": {r["router"]: r for r in rows["rows"]}, "output": result.output}


def test_bench_mbpp_writes_json_and_a_self_contained_report(data_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "out.html"
    got = _bench(data_dir, tmp_path, "routerbench-mbpp", "--routers", "best-single,oracle", "--folds", "1",
                 "--report", str(report))
    doc = got["json"]
    assert {"dataset", "n_tasks", "models", "rows"} <= set(doc)
    assert doc["dataset"] == "routerbench-mbpp" and doc["n_tasks"] == 427
    for row in doc["rows"]:
        assert set(row) >= ROW_KEYS
    rows = got["rows"]
    assert round(rows["best-single"]["success"], 3) == 0.686
    assert round(rows["oracle"]["success"], 3) == 0.867
    page = _Page()
    page.feed(report.read_text(encoding="utf-8"))
    assert "table" in page.tags and "svg" in page.tags
    assert all(link.startswith("#") for link in page.links), [x for x in page.links if not x.startswith("#")]


def test_bench_swebench_must_show_figures(data_dir: Path, tmp_path: Path) -> None:
    rows = _bench(data_dir, tmp_path, "swebench-verified", "--routers", "best-single,oracle", "--folds", "1")["rows"]
    assert round(rows["best-single"]["success"], 3) == 0.744
    assert round(rows["best-single"]["cost_usd"], 1) == 360.6
    assert round(rows["oracle"]["success"], 3) == 0.872
    # the oracle abstains on the 64 tasks nobody resolves: $37.04 is the cheapest resolving system per task
    assert round(rows["oracle"]["cost_usd"], 2) == 37.04


def test_swebench_oracle_that_never_abstains_pays_for_unresolved_tasks(data_dir: Path) -> None:
    table = load_dataset("swebench-verified", data_dir)
    run = replay(OracleRouter(abstain_unsolved=False), table, kfold_splits(table.n_tasks, 1))
    # $37.04 on the 436 resolvable tasks plus the cheapest model on the 64 unresolvable ones ($0.63)
    assert round(float(run.decisions.cost_usd(table).sum()), 2) == 37.67
    resolved = table.success
    solved = resolved.any(axis=1)
    cheapest_resolving = np.where(resolved, table.cost_usd, np.inf).min(axis=1)
    assert int((~solved).sum()) == 64
    assert round(float(cheapest_resolving[solved].sum()), 2) == 37.04
    assert round(float(table.cost_usd[~solved].min(axis=1).sum()), 2) == 0.63


def test_bench_coderouterbench_must_show_figures(data_dir: Path, tmp_path: Path) -> None:
    specs = "always:claude-opus-4-6,oracle,peer:acrouter_released,peer:dimension_best"
    rows = _bench(data_dir, tmp_path, "coderouterbench", "--routers", specs, "--folds", "1")["rows"]
    opus = rows["always:claude-opus-4-6"]
    assert round(opus["avg_perf"], 2) == 43.83
    assert round(opus["cost_usd"], 2) == 34.02
    assert round(rows["oracle"]["avg_perf"], 2) == 60.02
    assert round(rows["peer:acrouter_released"]["avg_perf"], 2) == 50.14
    assert rows["peer:acrouter_released"]["regret"] == pytest.approx(290, rel=0.01)
    assert rows["peer:dimension_best"]["regret"] == pytest.approx(297, rel=0.01)


def test_unknown_router_is_a_clear_error(data_dir: Path) -> None:
    result = CliRunner().invoke(build_app(), ["bench", "routerbench-mbpp", "--routers", "best-single,no-such-router",
                                              "--folds", "1", "--data-dir", str(data_dir)])
    assert result.exit_code != 0
    assert "unknown router 'no-such-router'" in str(result.exception) + result.output


def test_missing_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(build_app(), ["bench", "routerbench-mbpp", "--routers", "oracle", "--folds", "1",
                                              "--data-dir", str(missing)])
    assert result.exit_code != 0
    assert str(missing) in str(result.exception) + result.output


@pytest.mark.parametrize(("routers", "message"), [
    ("no-such-router", "error: unknown router 'no-such-router'"),
    ("always:no-such-model", "error: router 'always:no-such-model' does not apply: needs model 'no-such-model'; "
                             "routerbench-mbpp has: "),
])
def test_console_entry_point_prints_one_line_errors(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], routers: str,
                                                    message: str) -> None:
    from aco.cli.app import main

    monkeypatch.setattr("sys.argv", ["aco", "bench", "routerbench-mbpp", "--routers", routers,
                                     "--folds", "1", "--data-dir", str(data_dir)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
