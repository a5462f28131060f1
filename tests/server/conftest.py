"""Fixtures shared by the server tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aco.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store in the test's own folder."""
    s = Store.open(f"sqlite:///{tmp_path / 'aco.db'}")
    yield s
    s.close()
