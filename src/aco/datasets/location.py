"""Where the shared outcome data lives: `--data-dir`, else `$ACO_DATA_DIR`, else `../shared/datasets`,
else the download cache `~/.cache/aco/datasets` (where `aco datasets ensure` fetches to)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RELATIVE = Path("..") / "shared" / "datasets"


def cache_data_dir() -> Path:
    """The per-user download folder `~/.cache/aco/datasets` (used when no shared folder exists)."""
    return Path.home() / ".cache" / "aco" / "datasets"


def resolve_data_dir(explicit: Path | str | None = None, *, cwd: Path | None = None) -> Path:
    """The data directory to read: the explicit one, else `$ACO_DATA_DIR`, else `../shared/datasets`.

    The default is tried relative to the working directory, then relative to the project checkout
    (so `aco` works from any sub-folder of a clone that has `../shared` beside it), then the download
    cache `cache_data_dir()` if it exists; with none of them present, `<cwd>/../shared/datasets`.
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("ACO_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = cwd or Path.cwd()
    candidates = [base / DEFAULT_RELATIVE]
    candidates += [parent / DEFAULT_RELATIVE for parent in Path(__file__).resolve().parents]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    if cache_data_dir().is_dir():
        return cache_data_dir()
    return (base / DEFAULT_RELATIVE).resolve()
