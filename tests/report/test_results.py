"""Generated results tables: rendering, README blocks, and the drift check that fails on a changed figure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from aco.errors import ConfigError
from aco.report.results import (
    Column,
    ResultsSite,
    TableSpec,
    blocks,
    fill_blocks,
    format_value,
    load_specs,
    main,
    render_table,
)

SPEC = """
[[table]]
id = "demo"
command = "aco bench demo --routers a,b --folds 1"
fast = true
rows = ["b", "a"]
columns = [["router", "router"], ["success", "success", ".3f"], ["success_ci", "CI", "ci"],
           ["cost_usd", "cost", "usd"], ["saved", "saved", "pct"]]
labels = { b = "**b**" }

[[table]]
id = "slow"
command = "aco bench demo --routers a"
columns = [["router", "router"], ["success", "success", ".2f"]]
"""


class FakeCommands:
    """Writes a fixed JSON for every command, and remembers what ran."""

    def __init__(self, success_b: float = 0.5) -> None:
        self.success_b = success_b
        self.ran: list[list[str]] = []

    def __call__(self, argv: Sequence[str], json_path: Path) -> None:
        self.ran.append(list(argv))
        rows = [{"router": "a", "success": 0.25, "success_ci": [0.2, 0.3], "cost_usd": 1234.5, "saved": 0.1},
                {"router": "b", "success": self.success_b, "success_ci": [0.4, 0.6], "cost_usd": 2.0,
                 "saved": None}]
        json_path.write_text(json.dumps({"rows": rows}))


@pytest.fixture
def site(tmp_path: Path) -> ResultsSite:
    (tmp_path / "tables.toml").write_text(SPEC)
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:demo -->\nold\n<!-- /results -->\nend\n")
    return ResultsSite(tmp_path / "tables.toml", tmp_path / "out", (readme,))


def test_format_value() -> None:
    assert format_value(None, ".3f") == "-"
    assert format_value(float("nan"), ".3f") == "-"
    assert format_value([0.1234, 0.5], "ci") == "[0.123, 0.500]"
    assert format_value(0.1234, "pct") == "12.3%"
    assert format_value(1234.567, "usd") == "$1,234.57"
    assert format_value("x", ".3f") == "x"
    assert format_value(3, "d") == "3"


def test_render_table_keeps_the_spec_rows_in_order_with_labels(site: ResultsSite) -> None:
    spec = load_specs(site.specs_path)[0]
    rows = [{"router": "a", "success": 0.25}, {"router": "b", "success": 0.5}]
    text = render_table(spec, [rows[1], rows[0]])
    assert text.splitlines() == ["| router | success | CI | cost | saved |", "|---|---|---|---|---|",
                                 "| **b** | 0.500 | - | - | - |", "| a | 0.250 | - | - | - |"]


def test_generate_writes_files_and_readme_blocks(site: ResultsSite) -> None:
    runner = FakeCommands()
    written = site.generate(runner=runner)
    assert runner.ran == [["bench", "demo", "--routers", "a,b", "--folds", "1"], ["bench", "demo", "--routers", "a"]]
    demo = (site.out_dir / "demo.md").read_text()
    assert "`aco bench demo --routers a,b --folds 1` · aco " in demo
    assert "| **b** | 0.500 | [0.400, 0.600] | $2.00 | - |" in demo
    readme = site.block_files[0].read_text()
    assert readme.startswith("intro\n<!-- results:demo -->\n| router |") and readme.endswith("<!-- /results -->\nend\n")
    assert site.block_files[0] in written
    assert site.check(runner=FakeCommands(), fast_only=False) == []


def test_check_fails_on_a_changed_figure_and_names_it(site: ResultsSite) -> None:
    site.generate(runner=FakeCommands())
    drifts = site.check(runner=FakeCommands(success_b=0.51))
    assert {(d.table, d.where.name) for d in drifts} == {("demo", "demo.md"), ("demo", "README.md")}
    assert "| **b** | 0.500 |" in str(drifts[0]) and "| **b** | 0.510 |" in str(drifts[0])


def test_check_runs_only_fast_tables_by_default(site: ResultsSite) -> None:
    site.generate(runner=FakeCommands())
    runner = FakeCommands()
    site.check(runner=runner)
    assert runner.ran == [["bench", "demo", "--routers", "a,b", "--folds", "1"]]


def test_bad_specs_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[[table]]\nid = "x"\ncommand = "aco bench"\n')
    with pytest.raises(ConfigError, match="table 'x': bad or missing field"):
        load_specs(path)
    spec = TableSpec("y", "python bench", (Column("router", "router"),))
    with pytest.raises(ConfigError, match="must start with 'aco'"):
        _ = spec.argv
    site = ResultsSite(path, tmp_path)
    path.write_text(SPEC)
    with pytest.raises(ConfigError, match="unknown results tables"):
        site.generate(["nope"], runner=FakeCommands())


def test_blocks_round_trip() -> None:
    text = "a\n<!-- results:x -->\nold\n<!-- /results -->\nb\n<!-- results:y -->\nkeep\n<!-- /results -->\n"
    filled = fill_blocks(text, {"x": "| new |\n"})
    assert blocks(filled) == {"x": "| new |\n", "y": "keep\n"}


@pytest.mark.realdata
def test_real_table_check_passes_then_fails_on_a_changed_figure(data_dir: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The CI check end to end: the real command behind a committed table, then one figure edited by hand."""
    root = tmp_path / "checkout"
    (root / "docs" / "results").mkdir(parents=True)
    (root / "README.md").write_text("<!-- results:swebench-references -->\n<!-- /results -->\n")
    (root / "docs" / "results" / "tables.toml").write_text(
        '[[table]]\nid = "swebench-references"\n'
        'command = "aco bench swebench-verified --routers best-single,oracle --folds 1"\nfast = true\n'
        'columns = [["router", "router"], ["success", "success", ".3f"], ["cost_usd", "cost", "usd"]]\n')
    assert main(["--root", str(root)]) == 0
    generated = root / "docs" / "results" / "_generated" / "swebench-references.md"
    assert "| best-single | 0.744 | $360.62 |" in generated.read_text()
    assert main(["--check", "--fast", "--root", str(root)]) == 0
    generated.write_text(generated.read_text().replace("| 0.744 |", "| 0.745 |"))
    capsys.readouterr()
    assert main(["--check", "--fast", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "table 'swebench-references' differs" in err and "- | best-single | 0.745 |" in err
