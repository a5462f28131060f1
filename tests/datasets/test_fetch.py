"""`fetch_dataset` against an injected httpx.MockTransport (no network): good files, bad pins, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from aco.datasets import fetch
from aco.datasets.fetch import fetch_dataset
from aco.datasets.registry import dataset_source
from aco.errors import DataError

FILES = {"up/a.csv": b"task_id,model\n", "up/deep/b.jsonl": b'{"x": 1}\n'}
PREFIX = "https://raw.githubusercontent.com/owner/repo/abc123/"


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


def test_unknown_and_derived_datasets(tmp_path: Path) -> None:
    transport = httpx.MockTransport(Server())
    with pytest.raises(DataError, match="unknown dataset"):
        fetch_dataset("no-such-data", tmp_path, transport=transport)
    with pytest.raises(DataError, match=r"cannot be fetched by download.*leaderboards\.json"):
        fetch_dataset("swebench-verified", tmp_path, transport=transport)
    assert leftovers(tmp_path) == []


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
