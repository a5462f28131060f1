"""Download a dataset's files from their public GitHub source at the pinned commit, verifying them.

Files land in `dest_dir` with the layout of the shared datasets folder. Verbatim files are checked
against their byte sha256. Derived datasets (a `derived` block in dataset_sources.json, e.g.
swebench-verified) download their upstream inputs to a scratch folder, rebuild the files with
`aco.datasets.derive` and check each against its `content_sha256` (a hash of a canonical serialisation).
Every file is staged beside its target and targets are replaced only once all of them verified, so a
failure (HTTP error, pin mismatch) leaves nothing partial behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from aco.datasets.derive import content_digest, derive_swebench
from aco.datasets.location import cache_data_dir, resolve_data_dir
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


def _download(client: httpx.Client, url: str, target: Path, expected: str | None) -> Path:
    """Stream `url` to a temporary file beside `target`; return it once its sha256 matches `expected`.

    `expected=None` (an input of a derived dataset, verified after derivation) skips the byte check.
    """
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
        if expected is not None and digest.hexdigest() != expected:
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


def missing_files(name: str, root: Path) -> list[Path]:
    """The required files of dataset `name` that are absent from the data folder `root`."""
    files = dataset_source(name)["files"]
    return [root / f["path"] for f in files if f.get("required", True) and not (root / f["path"]).is_file()]


def not_fetched_note(name: str) -> str | None:
    """What `fetch_dataset(name)` deliberately leaves out (None when it fetches everything)."""
    derived = dataset_source(name).get("derived")
    return str(derived["not_fetched"]) if derived and derived.get("not_fetched") else None


def fetch_dataset(name: str, dest_dir: Path | str, transport: httpx.BaseTransport | None = None,
                  *, timeout: float = 60.0) -> list[Path]:
    """Download dataset `name` into `dest_dir` (files already present and matching their pins are kept)."""
    source = dataset_source(name)
    if not source.get("fetchable", False):
        raise DataError(f"dataset {name!r} cannot be fetched by download: {source['not_fetchable_reason']}. "
                        "Use a copy of the shared datasets folder and set ACO_DATA_DIR to it.")
    dest = Path(dest_dir)
    with httpx.Client(transport=transport, follow_redirects=True, timeout=timeout) as client:
        if source.get("derived"):
            return _fetch_derived(name, source, dest, client)
        return _fetch_verbatim(source, dest, client)


def _commit(staged: list[tuple[Path, Path]]) -> None:
    for tmp, target in staged:
        os.replace(tmp, target)


def _fetch_verbatim(source: dict[str, Any], dest: Path, client: httpx.Client) -> list[Path]:
    targets = [dest / entry["path"] for entry in source["files"]]
    staged: list[tuple[Path, Path]] = []
    created: list[Path] = []
    try:
        for entry, target in zip(source["files"], targets, strict=True):
            if target.is_file() and sha256_file(target) == entry["sha256"]:
                continue
            created += _make_dirs(target.parent)
            staged.append((_download(client, file_url(source, entry), target, entry["sha256"]), target))
    except BaseException:
        _discard([tmp for tmp, _ in staged], created)
        raise
    _commit(staged)
    return targets


def _content_matches(path: Path, entry: dict[str, Any]) -> bool:
    if not path.is_file():
        return False
    try:
        return content_digest(path.name, path.read_bytes()) == str(entry["content_sha256"])
    except DataError:
        return False


def _derive(name: str, source: dict[str, Any], inputs: dict[str, bytes]) -> dict[str, bytes]:
    """Rebuild the files of derived dataset `name` (base name -> bytes) from its raw inputs."""
    if name != "swebench-verified":
        raise DataError(f"no derivation known for dataset {name!r}")
    tolerance_pp = float(source["derived"].get("flag_tolerance_pp", 1.0))
    return derive_swebench(inputs["leaderboards"], inputs["instances"], tolerance_pp=tolerance_pp)


def _download_inputs(source: dict[str, Any], scratch: Path, client: httpx.Client) -> dict[str, bytes]:
    inputs: dict[str, bytes] = {}
    for entry in source["derived"]["inputs"]:
        tmp = _download(client, file_url(source, entry), scratch / Path(entry["upstream"]).name, None)
        inputs[entry["name"]] = tmp.read_bytes()
    return inputs


def _fetch_derived(name: str, source: dict[str, Any], dest: Path, client: httpx.Client) -> list[Path]:
    entries = source["files"]
    targets = [dest / entry["path"] for entry in entries]
    if all(_content_matches(t, e) for t, e in zip(targets, entries, strict=True)):
        return targets
    with tempfile.TemporaryDirectory(prefix="aco-fetch-") as scratch:
        files = _derive(name, source, _download_inputs(source, Path(scratch), client))
    staged: list[tuple[Path, Path]] = []
    created: list[Path] = []
    try:
        for entry, target in zip(entries, targets, strict=True):
            data = files[target.name]
            got = content_digest(target.name, data)
            if got != entry["content_sha256"]:
                raise DataError(f"derived file does not match its content pin: expected content sha256 "
                                f"{entry['content_sha256']}, got {got}", path=target)
            created += _make_dirs(target.parent)
            staged.append((_stage_bytes(data, target), target))
    except BaseException:
        _discard([tmp for tmp, _ in staged], created)
        raise
    _commit(staged)
    return targets


def _stage_bytes(data: bytes, target: Path) -> Path:
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


@dataclass(frozen=True)
class EnsureResult:
    """Where dataset files are after `ensure_dataset`, and whether they had to be downloaded."""

    root: Path
    fetched: bool
    paths: tuple[Path, ...]
    found_by_default: bool


def ensure_dataset(name: str, data_dir: Path | None = None, transport: httpx.BaseTransport | None = None,
                   *, timeout: float = 60.0) -> EnsureResult:
    """Make dataset `name` loadable: keep it where it already is, else download it.

    `data_dir` (`--data-dir` or `$ACO_DATA_DIR`) is both where to look and where to download; without
    it, the data is looked for in `resolve_data_dir()` and downloaded into `cache_data_dir()`.
    `found_by_default` says whether `resolve_data_dir()` (no explicit folder) now finds the files.
    """
    root = resolve_data_dir(data_dir)
    if not missing_files(name, root):
        return EnsureResult(root, False, (), data_dir is None)
    target = Path(data_dir).expanduser() if data_dir is not None else cache_data_dir()
    paths = fetch_dataset(name, target, transport, timeout=timeout)
    found = data_dir is None and resolve_data_dir().resolve() == target.resolve()
    return EnsureResult(target, True, tuple(paths), found)
