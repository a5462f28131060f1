"""The SDK: start_task / route / observe / finish, stickiness, floors, budgets and the learner hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from aco.config import load_config
from aco.errors import ConfigError
from aco.sdk import BudgetExceededError, Optimizer, UnknownProfileError
from aco.store import OutcomeRecord, Store
from tests.server.fakes import make_config, make_router


@pytest.fixture
def opt(tmp_path: Path) -> Optimizer:
    seen: list[OutcomeRecord] = []
    o = Optimizer(make_config(), Store.open(f"sqlite:///{tmp_path / 'aco.db'}"), on_outcome=seen.append,
                  routers={"p": make_router()})
    o.seen = seen  # type: ignore[attr-defined]
    return o


def test_task_life_cycle(opt: Optimizer) -> None:
    task = opt.start_task("fix the bug", category="easy", budget_usd=0.1)
    first = task.route(step_kind="read")
    assert first.model == "m-small" and first.reserved_usd == pytest.approx(0.001)
    assert task.observe(first, cost_usd=0.0007) == pytest.approx(0.0007)
    second = task.route(context={"action": "pytest tests/test_x.py"})
    assert second.model == "m-small" and "sticky" in second.reason
    task.observe(second, input_tokens=100, output_tokens=50)  # priced from the catalog: per-call 0.001
    rec = task.finish(success=True, verifier="tests")
    assert rec.model == "m-small" and rec.cost_usd == pytest.approx(0.0017) and rec.category == "easy"
    assert opt.seen == [rec]  # type: ignore[attr-defined]
    assert [d.decision_id for d in opt.store.decisions(task.task_id)] == [first.decision_id, second.decision_id]
    assert opt.store.category_model_stats() == [("easy", "m-small", 1, 1.0, pytest.approx(0.0017))]


def test_escalation_and_floors(opt: Optimizer) -> None:
    task = opt.start_task(category="easy")
    assert task.route().model == "m-small"
    up = task.route(escalate=True)
    assert up.model in ("m-mid", "m-big") and up.reason.startswith("escalated from m-small")
    top = task.route(escalate=True)
    if up.model == "m-big":
        assert top.model == "m-big" and "strongest allowed" in top.reason  # never a downgrade
    assert opt.start_task(category="secure").route().model == "m-big"
    secure = opt.start_task(category="secure")
    secure.route()
    assert secure.route(escalate=True).model == "m-big"
    assert opt.start_task(category="hard").route().model == "m-big"


def test_reported_failures_move_the_estimate(opt: Optimizer) -> None:
    before = float(opt.profile("p").router.p_success("easy")[0])  # type: ignore[attr-defined]
    for i in range(30):
        opt.record_outcome(OutcomeRecord(task_id=f"f{i}", model="m-small", score=0.0, success=False,
                                         category="easy"), profile="p")
    after = float(opt.profile("p").router.p_success("easy")[0])  # type: ignore[attr-defined]
    assert after < before - 0.3
    assert opt.start_task(category="easy").route().model == "m-mid"
    opt.refresh_stats()  # the store holds the same counts, so a reload agrees
    assert float(opt.profile("p").router.p_success("easy")[0])  # type: ignore[attr-defined] == pytest.approx(after)


def test_budget_downgrade_then_refusal(opt: Optimizer) -> None:
    task = opt.start_task(category="hard", budget_usd=0.0025)
    d = task.route()
    assert d.model == "m-mid" and "downgraded" in d.reason
    with pytest.raises(BudgetExceededError, match="budget exhausted"):
        task.route(escalate=True)


def test_bad_inputs(opt: Optimizer, tmp_path: Path) -> None:
    with pytest.raises(UnknownProfileError):
        opt.start_task(profile="nope")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[models]]\nname = "a"\nupstream = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_example_config_loads(tmp_path: Path) -> None:
    config = load_config(Path(__file__).parents[2] / "examples" / "aco.toml")
    assert config.catalog().get("gpt-4-1106-preview").expected_cost_usd() == pytest.approx(0.00504)
    assert config.profiles["default"].floors == {"mbpp": 1}


def test_from_config_with_real_prior(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACO_DATA_DIR", str(data_dir))
    opt = Optimizer.from_config(Path(__file__).parents[2] / "examples" / "aco.toml",
                                store_url=f"sqlite:///{tmp_path / 'aco.db'}")
    live = opt.profile("default")
    assert live.source == "profile keys" and live.router.name == "category-beta"
    assert live.router.counts_["mbpp"][0, 0] == 299  # type: ignore[attr-defined]  # the mbpp train split
    code = opt.start_task(category="mbpp").route()
    assert opt.config_catalog.get(code.model).tier >= 1  # the mbpp floor
    assert opt.start_task(category="arc-challenge").route().p_success > 0.5


def test_step_routing_counts_the_prompt_cache_a_switch_throws_away(tmp_path: Path) -> None:
    """A read step goes to the cheapest model for this call: on a long conversation whose prompt cache is warm on
    the strong model, staying there (cached input at 0.2 / 1M) is cheaper than moving to a model at half its
    fresh input price."""
    import numpy as np
    import pandas as pd

    from aco.config import AcoConfig
    from aco.datasets.table import OutcomeTable
    from aco.records import ModelSpec, Usage
    from aco.routers.category_beta import CategoryBetaRouter

    config = AcoConfig.model_validate({
        "upstreams": [{"name": "u", "base_url": "http://x/v1"}],
        "models": [{"name": "cheap", "upstream": "u", "usd_per_mtok_input": 1.0, "usd_per_mtok_output": 5.0,
                    "typical_output_tokens": 100, "tier": 0},
                   {"name": "strong", "upstream": "u", "usd_per_mtok_input": 2.0, "usd_per_mtok_output": 12.0,
                    "usd_per_mtok_cached_input": 0.2, "typical_output_tokens": 100, "tier": 2}],
        "profiles": {"p": {"candidates": ["cheap", "strong"], "step_routing": True, "step_sticky_turns": 0}}})
    score = np.column_stack([np.arange(100) < 20, np.arange(100) < 90]).astype(float)  # only strong reaches 0.7
    tasks = pd.DataFrame({"category": [""] * 100}, index=[f"t{i}" for i in range(100)])
    table = OutcomeTable(name="prior", tasks=tasks,
                         models=(ModelSpec("cheap", tier=0), ModelSpec("strong", tier=2)), score=score,
                         cost_usd=np.tile([0.0005, 0.0012], (100, 1)))
    rule = CategoryBetaRouter(threshold=0.7, cost_usd={"cheap": 0.0005, "strong": 0.0012}).fit(table)
    opt = Optimizer(config, Store.open(f"sqlite:///{tmp_path / 'aco.db'}"), routers={"p": rule})
    task = opt.start_task("fix it", task_id="warm")
    edit = task.route("edit", {"action": "sed -i s/a/b/ x.py", "prompt_tokens": 48_000})
    assert edit.model == "strong"  # edits go to the routed model
    task.observe(edit, usage=Usage(input_tokens=48_000, output_tokens=100))
    read = task.route("read", {"action": "cat x.py", "prompt_tokens": 50_000})
    assert read.model == "strong" and "cheapest allowed model" in read.reason
    assert read.reserved_usd == pytest.approx((2_000 * 2.0 + 48_000 * 0.2 + 100 * 12.0) / 1e6)  # 0.0148
    cold = opt.start_task("fix it", task_id="cold").route("read", {"action": "cat x.py", "prompt_tokens": 50_000})
    assert cold.model == "cheap" and cold.reserved_usd == pytest.approx((50_000 * 1.0 + 100 * 5.0) / 1e6)
    opt.close()
