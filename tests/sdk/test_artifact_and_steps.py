"""A profile's `router` artifact served exactly, a `prior` artifact under the profile's rule, startup errors, and
per-step routing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from aco.artifacts import load_router
from aco.errors import AcoError, ArtifactError, ConfigError
from aco.routers.decision import TaskContext
from aco.sdk import Optimizer
from aco.store import OutcomeRecord, Store
from tests.server.fakes import make_config, make_router, train_artifact

EASY = "sort a list number 1001"
HARD = "prove the theorem about graph number 1001"
TOML = """
[server]
store_url = "sqlite:///{db}"

[[upstreams]]
name = "fake"
base_url = "http://upstream.test/v1"

[[models]]
name = "m-small"
upstream = "fake"
usd_per_call = 0.001

[[models]]
name = "m-mid"
upstream = "fake"
usd_per_call = 0.002
tier = 1

[[models]]
name = "m-big"
upstream = "fake"
usd_per_call = 0.01
tier = 3

[profiles.p]
candidates = {candidates}
{key} = "{router}"
{extra}
"""


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_artifact(tmp_path_factory.mktemp("artifact"))


def _write_toml(folder: Path, router: str, candidates: str = '["m-small", "m-mid", "m-big"]', key: str = "router",
                extra: str = "") -> Path:
    path = folder / "aco.toml"
    path.write_text(TOML.format(db=folder / "aco.db", router=router, candidates=candidates, key=key, extra=extra),
                    encoding="utf-8")
    return path


def test_prior_artifact_routes_by_task_text(artifact: Path, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "router.aco").write_bytes(artifact.read_bytes())
    opt = Optimizer.from_config(_write_toml(tmp_path, "models/router.aco", key="prior", extra="threshold = 0.7"))
    assert opt.config.profiles["p"].prior == str(tmp_path / "models" / "router.aco")  # relative to the config
    assert opt.profile("p").router.name == "category-beta"
    easy = opt.start_task(EASY, category="code").route()
    hard = opt.start_task(HARD, category="code").route()
    assert easy.model == "m-small" and easy.reason.startswith("prior gbdt: cheapest with P(success)=")
    assert hard.model == "m-big" and hard.reason.startswith("prior gbdt:")
    assert hard.p_success_by_model["m-small"] < 0.3 < hard.p_success_by_model["m-big"]
    for i in range(40):  # online outcomes still move the estimate: m-small keeps failing on code
        opt.record_outcome(OutcomeRecord(task_id=f"o{i}", model="m-small", category="code", score=0.0,
                                         success=False, cost_usd=0.001), profile="p")
    after = opt.start_task(EASY, category="code").route()
    assert after.model == "m-mid" and after.p_success_by_model["m-small"] < easy.p_success_by_model["m-small"]
    opt.close()


def test_router_artifact_is_served_exactly(artifact: Path, tmp_path: Path) -> None:
    opt = Optimizer.from_config(_write_toml(tmp_path, str(artifact)))
    served = opt.profile("p").router
    own = load_router(artifact)[0]
    for text in (EASY, HARD, "count vowels number 5", "derive the closed form number 8"):
        live = opt.start_task(text, category="code").route()
        replayed = own.decide(TaskContext(text=text, category="code"))
        assert (live.model, live.reason) == (replayed.model, replayed.reason)
        assert live.reason.startswith("cheapest with P >= ") and served.name == "gbdt"
    opt.close()


def test_corrupt_missing_or_mismatched_artifact_fails_at_startup(artifact: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.aco"
    bad.write_bytes(artifact.read_bytes()[: len(artifact.read_bytes()) // 2])
    with pytest.raises(ArtifactError, match=r"profile 'p': router artifact .*bad\.aco: corrupt"):
        Optimizer.from_config(_write_toml(tmp_path, "bad.aco"))
    with pytest.raises(ArtifactError, match=r"profile 'p': prior artifact .*nowhere\.aco: no such artifact"):
        Optimizer.from_config(_write_toml(tmp_path, "nowhere.aco", key="prior"))
    tampered = tmp_path / "tampered.aco"
    with zipfile.ZipFile(artifact) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            dst.writestr(item, data + b" " if item == "state.json" else data)
    with pytest.raises(ArtifactError, match="checksum"):
        Optimizer.from_config(_write_toml(tmp_path, "tampered.aco"))
    with pytest.raises(ConfigError, match=r"profile 'p': .*serves the artifact exactly, so \['threshold'\]"):
        Optimizer.from_config(_write_toml(tmp_path, str(artifact), extra="threshold = 0.5"))
    with pytest.raises(ArtifactError, match=r"profile 'p': router artifact .*differ from the artifact's models"):
        Optimizer.from_config(_write_toml(tmp_path, str(artifact), candidates='["m-small", "m-big"]'))
    config = make_config(prior=str(artifact), candidates=["m-small", "m-big"])
    config = config.model_copy(update={"models": [*config.models, config.models[0].model_copy(
        update={"name": "m-other"})]})
    config.profiles["p"].candidates.append("m-other")  # a candidate the prior never saw
    with pytest.raises(AcoError, match=r"profile 'p'.*\['m-other'\] are not among the prior router's models"):
        Optimizer(config, Store.open(f"sqlite:///{tmp_path / 'x.db'}"))


def _step_optimizer(tmp_path: Path, **profile: object) -> Optimizer:
    config = make_config(step_routing=True, step_sticky_turns=2, **profile)
    return Optimizer(config, Store.open(f"sqlite:///{tmp_path / 'aco.db'}"), routers={"p": make_router()})


def test_step_routing_cheap_for_reads_strong_for_protected_edits_and_sticky(tmp_path: Path) -> None:
    opt = _step_optimizer(tmp_path, protected_paths=["auth/"])
    task = opt.start_task("harden login", category="hard")  # the routed model of "hard" is m-big
    models = [task.route(context={"action": a}).model for a in (
        "grep -rn login src", "cat src/app/views.py", "sed -i 's/a/b/' src/app/views.py",
        "sed -i 's/x/y/' src/auth/login.py", "cat src/auth/login.py", "pytest tests", "ls src")]
    assert models == ["m-small", "m-small", "m-small", "m-big", "m-big", "m-big", "m-small"]
    reasons = [d.reason for d in opt.store.decisions(task.task_id)]
    assert reasons[0].startswith("step search: search -> cheapest allowed model; routed: m-big")
    assert reasons[2].startswith("step edit: edit outside protected_paths -> cheapest allowed model")
    assert reasons[3].startswith("step edit: protected edit -> routed model")
    assert reasons[4].startswith("step read: sticky after edit (1 turns left)")
    assert [d.step_kind for d in opt.store.decisions(task.task_id)][:2] == ["search", "read"]
    secure = opt.start_task(category="secure")  # the tier-3 floor still applies to read steps
    assert secure.route(step_kind="read").model == "m-big"
    opt.close()


def test_step_routing_all_edits_budget_and_disabled(tmp_path: Path) -> None:
    opt = _step_optimizer(tmp_path)
    task = opt.start_task(category="hard", budget_usd=0.005)
    assert task.route(step_kind="plan").model == "m-small"
    edit = task.route(step_kind="edit")  # m-big (0.01) does not fit the budget left: downgraded
    assert edit.model == "m-mid" and "budget: downgraded from m-big" in edit.reason
    plain = Optimizer(make_config(), Store.open(f"sqlite:///{tmp_path / 'p.db'}"), routers={"p": make_router()})
    other = plain.start_task(category="hard")
    assert [other.route(step_kind=k).model for k in ("read", "edit", "read")] == ["m-big"] * 3  # off by default
    opt.close()
    plain.close()


def test_served_cascade_needing_unobservable_signals_fails_at_startup(tmp_path: Path) -> None:
    """A cascade trained on agent-run signals (api_calls) cannot verify a live chat answer: startup says so."""
    import numpy as np
    import pandas as pd

    from aco.artifacts import save_router
    from aco.datasets.table import OutcomeTable
    from aco.records import ModelSpec
    from aco.routers.registry import make_router

    rng = np.random.default_rng(0)
    n = 120
    calls = rng.integers(5, 60, size=(n, 3)).astype(float)
    score = (calls < 30).astype(float)
    table = OutcomeTable(name="agent runs", tasks=pd.DataFrame({"text": ["t"] * n, "category": ["c"] * n},
                                                                index=[f"t{i}" for i in range(n)]),
                         models=(ModelSpec("m-small", tier=0), ModelSpec("m-mid", tier=1), ModelSpec("m-big", tier=3)),
                         score=score, cost_usd=np.tile([0.001, 0.002, 0.01], (n, 1)), signals={"api_calls": calls},
                         observable_signals=("api_calls",))
    save_router(make_router("cascade:m-small>m-big").fit(table), table, tmp_path / "cascade.aco")
    with pytest.raises(ArtifactError, match=r"profile 'p': router artifact .*cascade\.aco: the cascade router reads "
                                            r"signals \['api_calls'\] that a live call does not show"):
        Optimizer.from_config(_write_toml(tmp_path, str(tmp_path / "cascade.aco")))
