"""The console entry point: a newcomer's mistake prints the usage line and one line naming it, exit 2, no traceback."""

from __future__ import annotations

import sys

import pytest
import typer

from aco.cli.app import build_app, main

# (argv, what the one error line must say); every command appears at least once (checked below)
CASES = [
    (["bench", "coderouterbench", "--bogus"], "No such option: --bogus"),
    (["bench", "--folds", "abc"], "Invalid value for '--folds'"),
    (["bench", "--folds", "0"], "Invalid value for '--folds'"),
    (["datasets", "list", "--bogus"], "No such option: --bogus"),
    (["datasets", "info"], "Missing argument 'name'"),
    (["datasets", "fetch"], "Missing argument 'name'"),
    (["datasets", "ensure", "--bogus", "x"], "No such option: --bogus"),
    (["datasets", "nope"], "No such command 'nope'"),
    (["serve", "--port", "abc"], "Invalid value for '--port'"),
    (["replay-upstream", "--bogus"], "No such option: --bogus"),
    (["log-stream"], "Missing argument 'dataset'"),
    (["evaluate-log"], "Missing option '--log'"),
    (["ope-validate", "swebench-verified", "--seeds", "0"], "Invalid value for '--seeds'"),
    (["trajectories", "--seed", "one"], "Invalid value for '--seed'"),
    (["train", "--lambda", "much"], "Invalid value for '--lambda'"),
    (["route"], "Missing argument 'text'"),
    (["scale-export"], "Missing argument 'dataset'"),
    (["scale-train", "--workers", "2"], "Missing option '--outcomes'"),
    (["replay-live", "routerbench-mbpp"], "Missing option '--router'"),
    (["nope"], "No such command 'nope'"),
]


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["aco", *argv])
    with pytest.raises(SystemExit) as stop:
        main()
    return int(stop.value.code or 0)


def _commands(group: typer.core.TyperGroup, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, typer.core.TyperGroup):
            out |= _commands(command, (*prefix, name))
        else:
            out.add((*prefix, name))
    return out


def test_every_command_is_covered() -> None:
    group = typer.main.get_command(build_app())
    assert isinstance(group, typer.core.TyperGroup)
    commands = _commands(group)
    covered = {tuple(argv[:2]) if argv[0] == "datasets" else (argv[0],) for argv, _ in CASES}
    assert commands <= covered, f"commands without a usage-error case: {sorted(commands - covered)}"


@pytest.mark.parametrize(("argv", "problem"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_usage_error_prints_usage_and_one_line(argv: list[str], problem: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0].startswith("Usage: aco ")
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and problem in errors[0], err


def test_an_aco_error_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["bench", "--train", "a.csv"], monkeypatch) == 2
    assert capsys.readouterr().err.strip() == "error: --train and --test go together"


def test_help_exits_zero(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["bench", "--help"], monkeypatch) == 0
    assert "--routers" in capsys.readouterr().out
