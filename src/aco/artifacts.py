"""Versioned router artifacts (`router.aco`): a zip of readable JSON plus numpy arrays, never pickle.

Members:
- `metadata.json`: format and aco version, router name/spec/params, models with prices and tiers, the
  policy knob and the thresholds chosen at fit, per-model calibration tables, feature names, a fingerprint
  of the training data, and the SHA-256 of the other members;
- `state.json`: the fitted state, arrays replaced by references into `arrays.npz`;
- `arrays.npz`: numeric arrays only, loaded with `allow_pickle=False`.
A corrupt, truncated, wrong-version or mismatched (different models) artifact raises `ArtifactError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from aco.datasets.table import OutcomeTable
from aco.errors import AcoError, ArtifactError
from aco.records import ModelSpec
from aco.routers.base import Router
from aco.routers.registry import make_router
from aco.routers.state import json_params, load_into, state_of
from aco.version import __version__

FORMAT = "aco-router"
FORMAT_VERSION = 1
MEMBERS = ("metadata.json", "state.json", "arrays.npz")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(table: OutcomeTable) -> str:
    """SHA-256 of the task ids, model names, scores and costs a router was trained on."""
    digest = hashlib.sha256()
    digest.update("\n".join(table.task_ids).encode())
    digest.update("\n".join(table.model_names).encode())
    digest.update(np.ascontiguousarray(table.score, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(table.cost_usd, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _split_arrays(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-able copy of `value` with every array moved into `arrays` and replaced by a reference."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise ArtifactError("object arrays cannot be saved safely")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {str(k): _split_arrays(v, arrays) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_split_arrays(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _join_arrays(value: Any, arrays: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            key = value["__array__"]
            if key not in arrays:
                raise ArtifactError(f"state refers to array {key!r}, missing from arrays.npz")
            return np.asarray(arrays[key])
        return {k: _join_arrays(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_join_arrays(v, arrays) for v in value]
    return value


def save_router(router: Router, table: OutcomeTable, path: Path, *, dataset: str = "") -> dict[str, Any]:
    """Write fitted `router` (trained on `table`) to `path`; returns the metadata written."""
    arrays: dict[str, np.ndarray] = {}
    state_bytes = json.dumps(_split_arrays(state_of(router), arrays)).encode()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    arrays_bytes = buffer.getvalue()
    mean_cost = table.cost_usd.mean(axis=0) if table.n_tasks else np.asarray(router.mean_cost_usd_, dtype=float)
    metadata = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "aco_version": __version__,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "router": router.name, "spec": str(getattr(router, "spec_", router.name)),
        "params": json_params(router),
        "models": [{**asdict(m), "mean_cost_usd": float(c)} for m, c in zip(table.models, mean_cost, strict=True)],
        **router.describe(),
        "training": {"dataset": dataset or table.name, "n_tasks": table.n_tasks, "fingerprint": fingerprint(table)},
        "sha256": {"state.json": _sha256(state_bytes), "arrays.npz": _sha256(arrays_bytes)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps(metadata, indent=2))
        archive.writestr("state.json", state_bytes)
        archive.writestr("arrays.npz", arrays_bytes)
    return metadata


def _read_members(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise ArtifactError(f"{path}: no such artifact file")
    try:
        with zipfile.ZipFile(path) as archive:
            missing = [m for m in MEMBERS if m not in archive.namelist()]
            if missing:
                raise ArtifactError(f"{path}: not an aco router artifact (missing {', '.join(missing)})")
            return {m: archive.read(m) for m in MEMBERS}
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as exc:
        raise ArtifactError(f"{path}: corrupt or truncated artifact ({exc})") from None


def read_metadata(path: Path) -> dict[str, Any]:
    """The artifact's metadata, after checking format, version and integrity."""
    members = _read_members(path)
    try:
        metadata: dict[str, Any] = json.loads(members["metadata.json"])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: metadata.json is not valid JSON ({exc})") from None
    if metadata.get("format") != FORMAT:
        raise ArtifactError(f"{path}: not an aco router artifact (format {metadata.get('format')!r})")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{path}: artifact format version {metadata.get('format_version')!r}; this aco reads "
                            f"version {FORMAT_VERSION} (retrain with `aco train`)")
    for member, digest in dict(metadata.get("sha256", {})).items():
        if member not in members or _sha256(members[member]) != digest:
            raise ArtifactError(f"{path}: {member} does not match its checksum: the artifact is corrupt")
    return metadata


def model_specs(metadata: dict[str, Any]) -> tuple[ModelSpec, ...]:
    """The candidate models recorded in an artifact."""
    fields = set(ModelSpec.__dataclass_fields__)
    return tuple(ModelSpec(**{k: v for k, v in m.items() if k in fields}) for m in metadata["models"])


def load_router(path: Path, models: Sequence[str] | None = None) -> tuple[Router, dict[str, Any]]:
    """Rebuild a fitted router; with `models`, check they are exactly the artifact's candidates."""
    metadata = read_metadata(path)
    members = _read_members(path)
    names = [m["name"] for m in metadata["models"]]
    if models is not None and list(models) != names:
        raise ArtifactError(f"{path}: the artifact was trained on models {names}, but the candidates here are "
                            f"{list(models)}")
    try:
        arrays = np.load(io.BytesIO(members["arrays.npz"]), allow_pickle=False)
        state = _join_arrays(json.loads(members["state.json"]), arrays)
        router = make_router(str(metadata["router"]), **metadata["params"])
        router.spec_ = str(metadata.get("spec", metadata["router"]))  # type: ignore[attr-defined]
        router.with_models(model_specs(metadata), np.array([float(m["mean_cost_usd"]) for m in metadata["models"]]))
        load_into(router, state)
    except ArtifactError:
        raise
    except (AcoError, KeyError, ValueError, TypeError, AttributeError, json.JSONDecodeError,
            zipfile.BadZipFile) as exc:
        raise ArtifactError(f"{path}: cannot rebuild the router from its state ({type(exc).__name__}: {exc})"
                            ) from None
    return router, metadata
