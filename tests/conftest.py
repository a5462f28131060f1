"""Shared fixtures: the real data folder (tests that need it skip with a reason when it is absent) and a store
on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aco.datasets.location import resolve_data_dir
from aco.store import Store
from aco.store.schema import METADATA


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = resolve_data_dir()
    if not (path / "README.md").is_file():
        pytest.skip(f"real outcome data not found at {path} (set ACO_DATA_DIR or put ../shared/datasets "
                    "beside the project)")
    return path


def open_test_store(backend: str, tmp_path: Path) -> Store:
    """A store for one test: a fresh SQLite file, or the PostgreSQL server named by `ACO_TEST_POSTGRES_URL`
    with every table emptied (a shared server); skips with a reason when no server is configured."""
    if backend == "sqlite":
        return Store.open(f"sqlite:///{tmp_path / 'aco.db'}")
    url = os.environ.get("ACO_TEST_POSTGRES_URL", "")
    if not url:
        pytest.skip("no PostgreSQL server: set ACO_TEST_POSTGRES_URL=postgresql+psycopg://... to test it")
    store = Store.open(url)
    with store.engine.begin() as conn:
        for table in reversed(METADATA.sorted_tables):
            if table.name != "schema_version":
                conn.execute(table.delete())
    return store


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The test runs once on SQLite and once on PostgreSQL (skipped without a server)."""
    store = open_test_store(request.param, tmp_path)
    yield store
    store.close()


ARTIFACTS = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def browser_artifacts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests save their screenshots: `$ACO_TEST_ARTIFACTS`, else a session temp folder; the path is
    printed at the end of the run."""
    from aco.server.browser import missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(f"browser test: {reason}")
    path = Path(os.environ.get("ACO_TEST_ARTIFACTS") or tmp_path_factory.getbasetemp() / "browser-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    request.config.stash[ARTIFACTS] = path
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    path = config.stash.get(ARTIFACTS, None)
    if path is not None:
        terminalreporter.write_line(f"browser test screenshots: {path}")
