"""Download a dataset's files from their public GitHub source at the pinned commit, verifying sha256.

Files land in `dest_dir` with the layout of the shared datasets folder. Each is streamed to a temporary
file beside its target; targets are replaced only once every file of the dataset has downloaded and
matched its pin, so a failure (HTTP error, checksum mismatch) leaves nothing partial behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

from aco.datasets.registry import dataset_source
from aco.errors import DataError

RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"
CHUNK_BYTES = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def file_url(source: dict[str, Any], entry: dict[str, Any]) -> str:
    """raw.githubusercontent.com address of one file at the pinned commit."""
    return RAW_URL.format(repository=entry.get("repository", source["repository"]),
                          commit=entry.get("commit", source["commit"]), path=entry["upstream"])


def _download(client: httpx.Client, url: str, target: Path, expected: str) -> Path:
    """Stream `url` to a temporary file beside `target`; return it once its sha256 matches `expected`."""
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(descriptor, "wb") as handle, client.stream("GET", url) as response:
            if response.status_code != httpx.codes.OK:
                raise DataError(f"download failed: HTTP {response.status_code} for {url}", path=target)
            for block in response.iter_bytes(CHUNK_BYTES):
                digest.update(block)
                handle.write(block)
        if digest.hexdigest() != expected:
            raise DataError(f"checksum mismatch for {url}: expected sha256 {expected}, got {digest.hexdigest()}",
                            path=target)
    except httpx.HTTPError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"download failed: {exc} ({url})", path=target) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _make_dirs(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return the ones created (outermost first)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _discard(staged: list[Path], created: list[Path]) -> None:
    for tmp in staged:
        tmp.unlink(missing_ok=True)
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()


def fetch_dataset(name: str, dest_dir: Path | str, transport: httpx.BaseTransport | None = None,
                  *, timeout: float = 60.0) -> list[Path]:
    """Download dataset `name` into `dest_dir` (files already present with the right sha256 are kept)."""
    source = dataset_source(name)
    if not source.get("fetchable", False):
        raise DataError(f"dataset {name!r} cannot be fetched by download: {source['not_fetchable_reason']}. "
                        "Use a copy of the shared datasets folder and set ACO_DATA_DIR to it.")
    dest = Path(dest_dir)
    targets = [dest / entry["path"] for entry in source["files"]]
    staged: list[tuple[Path, Path]] = []
    created: list[Path] = []
    try:
        with httpx.Client(transport=transport, follow_redirects=True, timeout=timeout) as client:
            for entry, target in zip(source["files"], targets, strict=True):
                if target.is_file() and sha256_file(target) == entry["sha256"]:
                    continue
                created += _make_dirs(target.parent)
                staged.append((_download(client, file_url(source, entry), target, entry["sha256"]), target))
    except BaseException:
        _discard([tmp for tmp, _ in staged], created)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    return targets
