"""The generic registry behind routers and verifiers: names, duplicates, built-ins loaded on first use."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import pytest

from aco.registry import Registry


class _Thing:
    name: ClassVar[str] = "thing"


def test_register_and_list_sorted() -> None:
    reg: Registry[_Thing] = Registry("widget", ())

    class Other(_Thing):
        name = "a-other"

    assert reg.register(_Thing) is _Thing and reg.register(Other) is Other
    assert list(reg.available()) == ["a-other", "thing"]
    reg.register(_Thing)  # the same class again is fine


def test_a_second_class_under_a_taken_name_or_no_name_is_an_error() -> None:
    reg: Registry[_Thing] = Registry("widget", ())
    reg.register(_Thing)

    class Impostor(_Thing):
        name = "thing"

    class Nameless(_Thing):
        name = ""

    with pytest.raises(ValueError, match="widget name 'thing' is already registered by _Thing"):
        reg.register(Impostor)
    with pytest.raises(ValueError, match="Nameless has no name"):
        reg.register(Nameless)


def test_builtin_modules_are_imported_on_first_use_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "aco_test_plugin.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "aco_test_plugin", raising=False)
    reg: Registry[_Thing] = Registry("widget", ("aco_test_plugin",))
    assert "aco_test_plugin" not in sys.modules
    reg.available()
    assert "aco_test_plugin" in sys.modules
