"""`aco bench --holdout-group` on a user's CSV with a `group` column, and `--train/--test --aliases`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from aco.cli.app import build_app
from aco.datasets.aliases import rename_models
from tests.evaluation.tables import grouped_table


def _csv(path: Path, column: str = "group", rename: dict[str, str] | None = None, groups: tuple[str, ...] = ()) -> Path:
    table = grouped_table(40, column=column)
    if groups:
        table = table.subset(np.flatnonzero(np.isin(table.tasks[column], groups)))
    frame = rename_models(table, rename or {}).long_frame()
    frame[column] = frame["task_id"].map(table.tasks[column])
    frame.to_csv(path, index=False)
    return path


def test_holdout_group_on_a_users_csv(tmp_path: Path) -> None:
    outcomes = _csv(tmp_path / "mine.csv")
    out, md = tmp_path / "shift.json", tmp_path / "shift.md"
    result = CliRunner().invoke(build_app(), [
        "bench", str(outcomes), "--holdout-group", "group", "--routers", "shift,best-single,orchestrator-shift",
        "--seeds", "2", "--json", str(out), "--markdown", str(md), "--value-usd", "10"])
    assert result.exit_code == 0, result.output
    assert "leave-one-group-out by group" in result.output
    payload = json.loads(out.read_text())
    assert [g["group"] for g in payload["groups"]] == ["a", "b", "c", "d"] and payload["seeds"] == [0, 1]
    assert payload["objective"] == {"value_usd": 10.0, "source": "--value-usd"}
    assert payload["groups"][0]["chosen"]["shift"]["auto_risk"] is not None
    assert len(payload["groups"][3]["online"]["orchestrator-shift"]) == 2
    assert md.read_text().count("\n") == 2 + 4 + 1  # header, rule, 4 groups, pooled


def test_transfer_with_aliases(tmp_path: Path) -> None:
    train = _csv(tmp_path / "a.csv", column="category", groups=("a", "b", "c"))
    test = _csv(tmp_path / "b.csv", column="category", rename={"cheap": "cheap-2025"}, groups=("d",))
    aliases = tmp_path / "aliases.toml"
    aliases.write_text('[aliases]\n"cheap-2025" = "cheap"\n')
    runner, app = CliRunner(), build_app()
    result = runner.invoke(app, ["bench", "--train", str(train), "--test", str(test), "--aliases", str(aliases),
                                 "--routers", "shift,orchestrator-shift", "--seeds", "1"])
    assert result.exit_code == 0, result.output
    assert "transfer by category" in result.output
    unaligned = runner.invoke(app, ["bench", "--train", str(train), "--test", str(test), "--holdout-group",
                                    "category", "--routers", "shift"])
    assert unaligned.exit_code != 0 and "same models" in str(unaligned.exception)
    alone = runner.invoke(app, ["bench", str(train), "--aliases", str(aliases)])
    assert alone.exit_code != 0 and "--train and --test" in str(alone.exception)
