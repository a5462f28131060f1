"""The proxy with a profile's `prior` artifact (P(success) from the last user message) and `x-aco-step`."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aco.errors import ArtifactError
from aco.server.app import create_app
from aco.store import Store
from tests.server.fakes import FakeUpstream, make_config, make_router, train_artifact


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_artifact(tmp_path_factory.mktemp("artifact"))


def _messages(last_user: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": "an earlier question"}, {"role": "assistant", "content": "ok"},
            {"role": "user", "content": last_user}]


def test_proxy_uses_prior_artifact_from_last_user_message(artifact: Path, tmp_path: Path) -> None:
    fake = FakeUpstream()
    store = Store.open(f"sqlite:///{tmp_path / 'aco.db'}")
    app = create_app(make_config(prior=str(artifact)), transport=fake.transport(), store=store, admin_key="k")
    with TestClient(app) as client:
        easy, hard = (client.post("/v1/chat/completions", headers={"x-aco-category": "code"}, json={
            "model": "aco/p", "messages": _messages(text)}) for text in ("sort a list number 7", "prove the "
                                                                          "theorem about graph number 7"))
        routed = client.post("/v1/route", json={"profile": "p", "text": "derive the closed form number 3"})
    assert easy.status_code == hard.status_code == routed.status_code == 200
    assert easy.headers["x-aco-model"] == "m-small" and hard.headers["x-aco-model"] == "m-big"
    assert hard.headers["x-aco-reason"].startswith("prior gbdt: cheapest with P(success)=")
    assert hard.json()["aco"]["p_success_by_model"]["m-small"] < 0.3
    assert routed.json()["model"] == "m-big" and routed.json()["reason"].startswith("prior gbdt")
    assert fake.calls == ["m-small", "m-big"]
    store.close()


def test_proxy_corrupt_artifact_fails_at_startup(tmp_path: Path) -> None:
    broken = tmp_path / "router.aco"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ArtifactError, match=r"profile 'p': prior artifact .*router\.aco"):
        create_app(make_config(prior=str(broken)), store=Store.open(f"sqlite:///{tmp_path / 'aco.db'}"))


def test_proxy_step_header_routes_per_step_and_sticks(tmp_path: Path) -> None:
    fake = FakeUpstream()
    store = Store.open(f"sqlite:///{tmp_path / 'aco.db'}")
    config = make_config(step_routing=True, protected_paths=["auth/"], step_sticky_turns=1)
    app = create_app(config, transport=fake.transport(), store=store, admin_key="k", routers={"p": make_router()})
    steps = [("read", "cat src/app.py"), ("edit", "apply this patch to src/auth/login.py"),
             ("read", "cat src/auth/login.py"), ("search", "grep -rn token src")]
    with TestClient(app) as client:
        replies = [client.post("/v1/chat/completions", headers={
            "x-aco-task-id": "loop", "x-aco-category": "hard", "x-aco-step": step}, json={
            "model": "aco/p", "messages": [{"role": "user", "content": "fix auth"},
                                           {"role": "user", "content": action}]}) for step, action in steps]
    assert [r.headers["x-aco-model"] for r in replies] == ["m-small", "m-big", "m-big", "m-small"]
    assert replies[1].headers["x-aco-reason"].startswith("step edit: protected edit -> routed model")
    assert [d.step_kind for d in store.decisions("loop")] == ["read", "edit", "read", "search"]
    store.close()
