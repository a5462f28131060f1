"""`fetch_dataset` and `aco datasets ensure` against an injected httpx.MockTransport (no network)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from aco.cli import datasets as datasets_cli
from aco.datasets import fetch, location
from aco.datasets.derive import content_digest
from aco.datasets.fetch import fetch_dataset
from aco.datasets.location import resolve_data_dir
from aco.datasets.registry import dataset_source, load_dataset
from aco.errors import DataError
from tests.datasets.swebench_upstream import chronorepo_jsonl, leaderboards_json

FILES = {"up/a.csv": b"task_id,model\n", "up/deep/b.jsonl": b'{"x": 1}\n'}
PREFIX = "https://raw.githubusercontent.com/owner/repo/abc123/"
RUNS = Path("swebench-verified/per_instance_long.csv")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_source(pins: dict[str, str] | None = None) -> dict[str, Any]:
    pins = pins or {}
    files = [{"path": f"toy/{up.split('/', 1)[1]}", "upstream": up, "sha256": pins.get(up, sha(data))}
             for up, data in FILES.items()]
    return {"repository": "owner/repo", "commit": "abc123", "license": "MIT", "fetchable": True, "files": files}


class Server:
    """Serves FILES at their raw URLs and records the requests."""

    def __init__(self, status: int = 200) -> None:
        self.requested: list[str] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requested.append(url)
        body = FILES.get(url.removeprefix(PREFIX))
        if body is None or self.status != 200:
            return httpx.Response(self.status if body is not None else 404)
        return httpx.Response(200, content=body)


def use_source(monkeypatch: pytest.MonkeyPatch, source: dict[str, Any]) -> None:
    monkeypatch.setattr(fetch, "dataset_source", lambda name: source)


def leftovers(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def test_good_files_are_written_in_the_shared_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_source(monkeypatch, fake_source())
    server = Server()
    paths = fetch_dataset("toy", tmp_path, transport=httpx.MockTransport(server))
    assert paths == [tmp_path / "toy" / "a.csv", tmp_path / "toy" / "deep" / "b.jsonl"]
    assert [p.read_bytes() for p in paths] == list(FILES.values())
    assert server.requested == [PREFIX + up for up in FILES]
    assert not [p for p in leftovers(tmp_path) if p.name.endswith(".part")]
    again = Server()
    assert fetch_dataset("toy", tmp_path, transport=httpx.MockTransport(again)) == paths
    assert again.requested == []  # files already present with the pinned hash are kept


def test_bad_checksum_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "0" * 64
    use_source(monkeypatch, fake_source({"up/deep/b.jsonl": wrong}))
    with pytest.raises(DataError) as info:
        fetch_dataset("toy", tmp_path, transport=httpx.MockTransport(Server()))
    message = str(info.value)
    assert "checksum mismatch" in message and wrong in message and sha(FILES["up/deep/b.jsonl"]) in message
    assert info.value.path == tmp_path / "toy" / "deep" / "b.jsonl"
    assert leftovers(tmp_path) == []  # not even the first, good file or the folders


def test_http_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_source(monkeypatch, fake_source())
    with pytest.raises(DataError, match="HTTP 500"):
        fetch_dataset("toy", tmp_path, transport=httpx.MockTransport(Server(status=500)))
    assert leftovers(tmp_path) == []


def test_unknown_and_unfetchable_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transport = httpx.MockTransport(Server())
    with pytest.raises(DataError, match="unknown dataset"):
        fetch_dataset("no-such-data", tmp_path, transport=transport)
    use_source(monkeypatch, {**fake_source(), "fetchable": False, "not_fetchable_reason": "private copy"})
    with pytest.raises(DataError, match="cannot be fetched by download: private copy"):
        fetch_dataset("toy", tmp_path, transport=transport)
    assert leftovers(tmp_path) == []


def ensure_app(server: Server) -> typer.Typer:
    app = typer.Typer()
    datasets_cli.register(app, transport_factory=lambda: httpx.MockTransport(server))
    return app


def test_ensure_downloads_once_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No data anywhere: `ensure` fetches into ~/.cache/aco/datasets, which resolve_data_dir then finds."""
    use_source(monkeypatch, fake_source())
    no_shared(monkeypatch, tmp_path)
    cache = tmp_path / "home" / ".cache" / "aco" / "datasets"
    server = Server()
    result = CliRunner().invoke(ensure_app(server), ["datasets", "ensure", "toy"])
    assert result.exit_code == 0, result.output
    assert f"toy: downloaded into {cache}" in result.output and "another data folder" not in result.output
    assert (cache / "toy" / "a.csv").read_bytes() == FILES["up/a.csv"] and len(server.requested) == 2
    assert resolve_data_dir() == cache
    again = CliRunner().invoke(ensure_app(server), ["datasets", "ensure", "toy"])
    assert again.exit_code == 0 and f"toy: present in {cache}" in again.output and len(server.requested) == 2


def test_ensure_uses_the_explicit_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_source(monkeypatch, fake_source())
    no_shared(monkeypatch, tmp_path)
    monkeypatch.setenv("ACO_DATA_DIR", str(tmp_path / "env"))
    result = CliRunner().invoke(ensure_app(Server()), ["datasets", "ensure", "toy"])
    assert result.exit_code == 0 and f"downloaded into {tmp_path / 'env'}" in result.output
    args = ["datasets", "ensure", "toy", "--data-dir", str(tmp_path / "x")]
    failing = CliRunner().invoke(ensure_app(Server(status=500)), args)
    assert isinstance(failing.exception, DataError) and "HTTP 500" in str(failing.exception)
    assert not (tmp_path / "x").exists() and not (tmp_path / "home").exists()


def no_shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without ../shared/datasets or $ACO_DATA_DIR, with its home folder under tmp_path."""
    monkeypatch.delenv("ACO_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(location, "DEFAULT_RELATIVE", Path("no-shared-datasets-here"))
    monkeypatch.chdir(tmp_path)


SWEBENCH_URLS = {
    "leaderboards": "https://raw.githubusercontent.com/SWE-bench/swe-bench.github.io/"
                    "f1176b65ae29d14f4f52208b48e3d8cfc972bc17/data/leaderboards.json",
    "instances": "https://raw.githubusercontent.com/ITMO-NSS-team/chronorepo_icdm26/"
                 "ff6efadabca2f2930ffae9001c7e42f073413c12/data/swebench_verified.jsonl",
}


class Upstream:
    """Serves upstream-shaped SWE-bench sources (rebuilt from the shared files) at their pinned raw URLs."""

    def __init__(self, payloads: dict[str, bytes]) -> None:
        self.by_url = {SWEBENCH_URLS[key]: body for key, body in payloads.items()}
        self.requested: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requested.append(str(request.url))
        body = self.by_url.get(str(request.url))
        return httpx.Response(200, content=body) if body is not None else httpx.Response(404)


@pytest.fixture(scope="module")
def upstream_payloads(data_dir: Path) -> dict[str, bytes]:
    return {"leaderboards": leaderboards_json(data_dir), "instances": chronorepo_jsonl(data_dir)}


def swebench_figures(root: Path) -> tuple[tuple[int, int], float, float, float]:
    table = load_dataset("swebench-verified", root)
    opus = [m.name for m in table.models].index("Claude 4.5 Opus medium (20251101)")
    return ((table.n_tasks, table.n_models), float(table.score[:, opus].mean()),
            float(table.cost_usd[:, opus].sum()), float(table.score.max(axis=1).mean()))


@pytest.mark.realdata
def test_swebench_is_derived_verified_and_loads(tmp_path: Path, upstream_payloads: dict[str, bytes]) -> None:
    server = Upstream(upstream_payloads)
    root = tmp_path / "data"
    paths = fetch_dataset("swebench-verified", root, transport=httpx.MockTransport(server))
    assert sorted(server.requested) == sorted(SWEBENCH_URLS.values())
    assert sorted(p.name for p in leftovers(root)) == ["instances.jsonl", "models_meta.csv", "per_instance_long.csv",
                                                        "swebench-verified"]  # no trajectories, no scratch
    for path, entry in zip(paths, dataset_source("swebench-verified")["files"], strict=True):
        assert content_digest(path.name, path.read_bytes()) == entry["content_sha256"]
    shape, opus_score, opus_cost_usd, oracle = swebench_figures(root)
    assert shape == (500, 24) and opus_score == pytest.approx(0.744) and oracle == pytest.approx(0.872)
    assert opus_cost_usd == pytest.approx(360.62, abs=0.005)
    again = Upstream(upstream_payloads)
    fetch_dataset("swebench-verified", root, transport=httpx.MockTransport(again))
    assert again.requested == []  # present and matching its content pins


@pytest.mark.realdata
def test_tampered_upstream_is_refused(tmp_path: Path, upstream_payloads: dict[str, bytes]) -> None:
    board = json.loads(upstream_payloads["leaderboards"])
    runs = board["leaderboards"][1]["results"][0]["per_instance_details"]
    runs["astropy__astropy-12907"]["resolved"] = not runs["astropy__astropy-12907"]["resolved"]
    tampered = {**upstream_payloads, "leaderboards": json.dumps(board).encode()}
    with pytest.raises(DataError) as info:
        fetch_dataset("swebench-verified", tmp_path / "data", transport=httpx.MockTransport(Upstream(tampered)))
    pin = {Path(f["path"]).name: f["content_sha256"] for f in dataset_source("swebench-verified")["files"]}
    message = str(info.value)
    assert "per_instance_long.csv" in message and pin["per_instance_long.csv"] in message
    assert re.search(r"got [0-9a-f]{64}", message) and info.value.path == tmp_path / "data" / RUNS
    assert leftovers(tmp_path) == []
    missing = {"leaderboards": upstream_payloads["leaderboards"]}
    with pytest.raises(DataError, match="HTTP 404"):
        fetch_dataset("swebench-verified", tmp_path / "data", transport=httpx.MockTransport(Upstream(missing)))
    assert leftovers(tmp_path) == []


@pytest.mark.realdata
def test_ensure_swebench_without_shared_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             upstream_payloads: dict[str, bytes]) -> None:
    """The `make bench` path on a fresh machine: ensure downloads, then load_dataset finds the cache."""
    no_shared(monkeypatch, tmp_path)
    server = Upstream(upstream_payloads)
    result = CliRunner().invoke(ensure_app(server), ["datasets", "ensure", "swebench-verified"])
    assert result.exit_code == 0, result.output
    cache = tmp_path / "home" / ".cache" / "aco" / "datasets"
    assert f"swebench-verified: downloaded into {cache}" in result.output
    assert "not fetched (not needed for the outcome table): trajectories/" in result.output
    assert swebench_figures(resolve_data_dir())[0] == (500, 24)


@pytest.mark.realdata
def test_real_pins_and_urls(tmp_path: Path, data_dir: Path) -> None:
    """The pinned sources of routellm-mtbench, served from the shared copies, verify and land 1:1."""
    source = dataset_source("routellm-mtbench")
    prefix = f"https://raw.githubusercontent.com/lm-sys/RouteLLM/{source['commit']}/"
    local = {prefix + f["upstream"]: data_dir / f["path"] for f in source["files"]}

    def serve(request: httpx.Request) -> httpx.Response:
        path = local.get(str(request.url))
        return httpx.Response(200, content=path.read_bytes()) if path else httpx.Response(404)

    paths = fetch_dataset("routellm-mtbench", tmp_path, transport=httpx.MockTransport(serve))
    assert [p.relative_to(tmp_path) for p in paths] == [Path(f["path"]) for f in source["files"]]
    assert all(p.read_bytes() == (data_dir / p.relative_to(tmp_path)).read_bytes() for p in paths)
