"""Generated results tables: rendering, README blocks, and the drift check that fails on a changed figure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
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
    render_note,
    render_table,
    run_command,
    select_rows,
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
    assert format_value([0.65, 0.7], ".3f") == "0.650, 0.700"


def test_render_table_keeps_the_spec_rows_in_order_with_labels(site: ResultsSite) -> None:
    spec = load_specs(site.specs_path)[0]
    rows = [{"router": "a", "success": 0.25}, {"router": "b", "success": 0.5}]
    text = render_table(spec, [rows[1], rows[0]])
    assert text.splitlines() == ["| router | success | CI | cost | saved |", "|---|---|---|---|---|",
                                 "| **b** | 0.500 | - | - | - |", "| a | 0.250 | - | - | - |"]


def test_generate_writes_files_and_readme_blocks(site: ResultsSite) -> None:
    runner = FakeCommands()
    written = site.generate(runner=runner)
    assert runner.ran == [["aco", "bench", "demo", "--routers", "a,b", "--folds", "1"],
                          ["aco", "bench", "demo", "--routers", "a"]]
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
    assert runner.ran == [["aco", "bench", "demo", "--routers", "a,b", "--folds", "1"]]


def test_bad_specs_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[[table]]\nid = "x"\ncommand = "aco bench"\n')
    with pytest.raises(ConfigError, match="table 'x': bad or missing field"):
        load_specs(path)
    spec = TableSpec("y", "python bench", (Column("router", "router"),))
    with pytest.raises(ConfigError, match="must start with 'aco' or 'python benchmarks/'"):
        _ = spec.argv
    assert TableSpec("z", "python benchmarks/b.py --x 1", ()).argv == ["python", "benchmarks/b.py", "--x", "1"]
    site = ResultsSite(path, tmp_path)
    path.write_text(SPEC)
    with pytest.raises(ConfigError, match="unknown results tables"):
        site.generate(["nope"], runner=FakeCommands())


def test_a_column_can_show_several_figures() -> None:
    row = {"hindsight": {"avg_perf": 51.734, "regret": 242.91}, "n": 3}
    assert Column("hindsight.avg_perf|hindsight.regret", "h", ".2f|.1f").render(row) == "51.73 / 242.9"
    assert Column("n|missing", "n", "d").render(row) == "3 / -"


def test_frontier_rows_and_nested_row_paths() -> None:
    output = {"frontier": [{"name": "cheap"}, {"name": "strong"}],
              "rows": [{"router": r} for r in ("always:mid", "always:strong", "oracle", "always:cheap")]}
    spec = TableSpec("f", "aco bench x", (Column("router", "router"),), rows=("@frontier", "oracle"))
    assert [r["router"] for r in select_rows(spec, output)] == ["always:cheap", "always:strong", "oracle"]
    with pytest.raises(ConfigError, match="'@frontier' needs `aco bench` output"):
        select_rows(replace(spec, rows_path=""), output["rows"])
    nested = TableSpec("n", "aco trajectories", (Column("k", "K"),), row_key="k", rows_path="1.by_k")
    assert select_rows(nested, [{"by_k": []}, {"by_k": [{"k": 3}]}]) == [{"k": 3}]
    with pytest.raises(ConfigError, match=r"no rows at '1\.by_k'"):
        select_rows(nested, [{"by_k": []}])


def test_a_failing_table_does_not_stop_the_others(site: ResultsSite) -> None:
    def runner(argv: Sequence[str], json_path: Path) -> None:
        if argv[-1] == "a":
            raise ConfigError("`aco bench demo --routers a` failed (exit 2): boom")
        FakeCommands()(argv, json_path)

    with pytest.raises(ConfigError, match=r"(?s)1 table\(s\) failed.*table 'slow'.*boom"):
        site.generate(runner=runner)
    assert (site.out_dir / "demo.md").is_file() and not (site.out_dir / "slow.md").exists()
    assert "| **b** | 0.500 |" in site.block_files[0].read_text()  # the README block of the table that ran


def test_run_command_runs_a_benchmark_script_from_the_checkout(tmp_path: Path) -> None:
    script = tmp_path / "benchmarks" / "bench_demo.py"
    script.parent.mkdir()
    script.write_text("import json, sys\n"
                      "out = open(sys.argv[sys.argv.index('--json') + 1], 'w')\n"
                      "json.dump({'rows': [{'router': sys.argv[1]}]}, out)\n")
    out = tmp_path / "out.json"
    run_command(["python", "benchmarks/bench_demo.py", "x"], out, cwd=tmp_path)
    assert json.loads(out.read_text()) == {"rows": [{"router": "x"}]}
    with pytest.raises(ConfigError, match=r"`python benchmarks/missing\.py` failed"):
        run_command(["python", "benchmarks/missing.py"], out, cwd=tmp_path)


def test_every_committed_table_command_parses_against_the_cli() -> None:
    """Each `aco` command in docs/results/tables.toml names a real command with real options (parsed by the CLI,
    not run), and each benchmark script exists: a renamed option fails here, not in a slow `make results`."""
    import typer.main

    from aco.cli.app import build_app

    root = Path(__file__).resolve().parents[2]
    specs = load_specs(root / "docs" / "results" / "tables.toml")
    assert specs
    cli = typer.main.get_command(build_app())
    for spec in specs:
        argv = spec.argv
        if argv[0] == "python":
            assert (root / argv[1]).is_file(), spec.id
            continue
        command = cli.get_command(cli.make_context("aco", list(argv[1:]), resilient_parsing=True), argv[1])
        assert command is not None, f"{spec.id}: no command {argv[1]!r}"
        command.make_context(argv[1], [*argv[2:], "--json", "out.json"])  # raises on an unknown option or value


def test_notes_are_filled_from_the_output_and_checked(tmp_path: Path) -> None:
    spec_text = ('[[table]]\nid = "a"\ncommand = "aco bench demo"\nfast = true\ncolumns = [["router", "router"]]\n'
                 'note = "best {rows[1][router]}; hull AIQ {hull:.2f}"\n'
                 '[[table]]\nid = "b"\ncommand = "aco bench demo"\nfast = true\ncolumns = [["success", "s", ".1f"]]\n')
    (tmp_path / "tables.toml").write_text(spec_text)
    site = ResultsSite(tmp_path / "tables.toml", tmp_path / "out")
    ran: list[list[str]] = []

    def runner(argv: Sequence[str], json_path: Path, hull: float = 0.5) -> None:
        ran.append(list(argv))
        json_path.write_text(json.dumps({"hull": hull, "rows": [{"router": "a", "success": 0.25},
                                                                {"router": "b", "success": 0.5}]}))

    site.generate(runner=runner)
    assert len(ran) == 1  # two tables of one command: it ran once
    assert "| a |\n| b |\n\nbest b; hull AIQ 0.50\n" in (tmp_path / "out" / "a.md").read_text()
    assert site.check(runner=runner) == []
    drifts = site.check(runner=lambda argv, path: runner(argv, path, hull=0.6))
    assert [(d.table, d.removed, d.added) for d in drifts] == [
        ("a", ["best b; hull AIQ 0.50"], ["best b; hull AIQ 0.60"])]
    listed = TableSpec("l", "aco x", (), note="{0[n]} and {1[n]}")
    assert render_note(listed, [{"n": 3}, {"n": 4}]) == "3 and 4"  # a list output's items
    bad = TableSpec("c", "aco x", (), note="{missing}")
    with pytest.raises(ConfigError, match="table 'c': cannot fill its note"):
        render_note(bad, {})


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
