"""Router artifacts: exact round trip, readable metadata, and clear errors for bad files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from aco.artifacts import FORMAT_VERSION, load_router, read_metadata, save_router
from aco.datasets.table import OutcomeTable
from aco.errors import ArtifactError
from aco.routers.registry import make_router
from tests.estimators.synthetic import text_table


@pytest.fixture(scope="module")
def table() -> OutcomeTable:
    return text_table(150, seed=2)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, table: OutcomeTable) -> Path:
    path = tmp_path_factory.mktemp("art") / "router.aco"
    save_router(make_router("gbdt").fit(table), table, path)
    return path


@pytest.mark.parametrize("spec", ["gbdt", "gbdt-pooled", "knn", "category-stats", "logreg", "mf", "gbdt:conformal",
                                  "hybrid"])
def test_round_trip_routes_identically(spec: str, table: OutcomeTable, tmp_path: Path) -> None:
    router = make_router(spec).fit(table)
    save_router(router, table, tmp_path / "r.aco")
    loaded, metadata = load_router(tmp_path / "r.aco", models=table.model_names)
    before, after = router.route_table(table), loaded.route_table(table)
    np.testing.assert_array_equal(before.model_idx, after.model_idx)
    np.testing.assert_allclose(np.asarray(before.p_success), np.asarray(after.p_success))
    assert metadata["router"] == spec.partition(":")[0]


def test_metadata_is_readable_json(saved: Path) -> None:
    with zipfile.ZipFile(saved) as archive:
        metadata = json.loads(archive.read("metadata.json"))
        assert not any(name.endswith((".pkl", ".pickle")) for name in archive.namelist())
    assert metadata["format_version"] == FORMAT_VERSION
    assert [m["name"] for m in metadata["models"]] == ["cheap", "mid", "strong"]
    assert metadata["policy"]["knob"] == "threshold" and 0 < metadata["policy"]["auto_threshold"] < 1
    assert len(metadata["calibration"]) == 3 and metadata["calibration"][0]["kind"] == "isotonic"
    assert len(metadata["training"]["fingerprint"]) == 64


def _rewrite(src: Path, dst: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for name in old.namelist():
            new.writestr(name, data if name == member else old.read(name))


def test_truncated_artifact(saved: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.aco"
    bad.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(ArtifactError, match="corrupt or truncated"):
        load_router(bad)


def test_not_an_artifact(tmp_path: Path) -> None:
    bad = tmp_path / "bad.aco"
    bad.write_text("hello")
    with pytest.raises(ArtifactError, match="corrupt or truncated"):
        load_router(bad)
    with pytest.raises(ArtifactError, match="no such artifact"):
        load_router(tmp_path / "missing.aco")


def test_tampered_arrays_fail_the_checksum(saved: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.aco"
    _rewrite(saved, bad, "arrays.npz", b"PK not really arrays")
    with pytest.raises(ArtifactError, match=r"arrays.npz does not match its checksum"):
        load_router(bad)


def test_wrong_version(saved: Path, tmp_path: Path) -> None:
    metadata = read_metadata(saved)
    metadata["format_version"] = FORMAT_VERSION + 1
    bad = tmp_path / "bad.aco"
    _rewrite(saved, bad, "metadata.json", json.dumps(metadata).encode())
    with pytest.raises(ArtifactError, match="format version"):
        load_router(bad)


def test_mismatched_models(saved: Path) -> None:
    with pytest.raises(ArtifactError, match="trained on models"):
        load_router(saved, models=["cheap", "strong"])
