"""Shared fixtures: the real data folder (tests that need it skip with a reason when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aco.datasets.location import resolve_data_dir


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = resolve_data_dir()
    if not (path / "README.md").is_file():
        pytest.skip(f"real outcome data not found at {path} (set ACO_DATA_DIR or put ../shared/datasets "
                    "beside the project)")
    return path
