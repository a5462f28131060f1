"""Parity on real data: what `aco serve` does with a benchmarked artifact is what `aco bench` replayed.

One replay upstream (RouterBench responses and the SWE-agent-LM-32B / Claude 4 Sonnet turns) and one `aco serve`
(examples/parity.toml) run on loopback; each artifact is trained with `aco train --holdout` on the training part of
its split, and `replay_live` sends the test tasks through the proxy over HTTP.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from aco.artifacts import load_router
from aco.cli.app import build_app
from aco.config import load_config
from aco.datasets.registry import load_dataset
from aco.evaluation.parity import replay_live
from aco.server.app import create_app
from aco.server.launch import replay_stack
from aco.store import Store

KEY = "parity-admin-key"
EXAMPLE = Path(__file__).parents[2] / "examples" / "parity.toml"
JOBS = {  # profile -> (dataset, router spec, holdout)
    "gbdt-mbpp": ("routerbench-mbpp", "gbdt", "split"),
    "gbdt-arc": ("routerbench-arc", "gbdt", "split"),
    "cascade-mbpp": ("routerbench-mbpp", "cascade", "split"),
    "cascade-arc": ("routerbench-arc", "cascade", "split"),
    "thompson-mbpp": ("routerbench-mbpp", "thompson", "split"),
    "agreement-mbpp": ("routerbench-mbpp", "agreement", "split"),
    "value-head": ("swebench-lm32b-sonnet", "value-head", "fold:0"),
}


@dataclass(frozen=True)
class Live:
    url: str
    folder: Path
    store_url: str


@pytest.fixture(scope="module")
def live(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("parity")
    runner = CliRunner()
    for profile, (dataset, spec, holdout) in JOBS.items():
        result = runner.invoke(build_app(), ["train", dataset, "--router", spec, "--holdout", holdout, "--out",
                                             str(folder / f"{profile}.aco"), "--data-dir", str(data_dir)])
        assert result.exit_code == 0, result.output
    env = {"ACO_DATA_DIR": str(data_dir), "ACO_API_KEY": KEY}
    with replay_stack(EXAMPLE, folder, env, ["--trajectories", "lm32b-sonnet"], "parity.toml") as stack:
        yield Live(stack.proxy_url, folder, stack.store_url)


@pytest.mark.parametrize("profile", ["gbdt-mbpp", "gbdt-arc", "cascade-mbpp", "cascade-arc", "agreement-mbpp",
                                     "value-head"])
def test_zero_differing_decisions_and_the_same_cost_to_the_cent(live: Live, data_dir: Path, profile: str) -> None:
    dataset, spec, holdout = JOBS[profile]
    report = replay_live(live.url, profile, load_dataset(dataset, data_dir), live.folder / f"{profile}.aco",
                         holdout=holdout)
    assert report.router == spec and report.n_tasks == {"routerbench-mbpp": 128, "routerbench-arc": 438,
                                                        "swebench-lm32b-sonnet": 67}[dataset]
    assert report.differences == [] and report.differing_decisions == 0
    assert round(report.live_cost_usd, 2) == round(report.replayed_cost_usd, 2)
    assert report.live_success == pytest.approx(report.replayed_success)
    if spec in ("cascade", "agreement"):
        assert any(len(task.called) > 1 for task in report.live)  # it escalated within requests
    if spec == "value-head":
        models = {task.model for task in report.live}
        assert models == {"SWE-agent-LM-32B", "Claude 4 Sonnet (20250514)"}  # kept and switched at turn 3


def test_seeded_thompson_then_learning_from_the_proxy_store(live: Live, data_dir: Path, tmp_path: Path) -> None:
    """The seeded bandit decides as replayed; its real propensities are logged; the proxy's own store then feeds
    `aco evaluate-log` and `aco train --from-store`."""
    table = load_dataset("routerbench-mbpp", data_dir)
    report = replay_live(live.url, "thompson-mbpp", table, live.folder / "thompson-mbpp.aco", holdout="split",
                         outcomes_key=KEY)
    assert report.ok and report.differing_decisions == 0
    store = Store.open(live.store_url)
    try:
        logged = {d.decision_id: d for d in store.decisions() if d.profile == "thompson-mbpp"}
        outcomes = [o for o in store.outcomes() if o.decision_id in logged]
    finally:
        store.close()
    assert len(outcomes) == 128 and all(o.verifier == "benchmark" for o in outcomes)
    assert {round(task.propensity, 6) for task in report.live} == {round(logged[o.decision_id].propensity, 6)
                                                                   for o in outcomes}
    assert min(d.propensity for d in logged.values() if d.task_id != "warm-up") < 1.0  # it explores
    runner = CliRunner()
    evaluated = runner.invoke(build_app(), ["evaluate-log", "--log", live.store_url, "--policy", "dimension-best",
                                            "--dataset", "routerbench-mbpp", "--profile", "thompson-mbpp",
                                            "--data-dir", str(data_dir)])
    assert evaluated.exit_code == 0, evaluated.output
    assert "from 128 logged decisions" in " ".join(evaluated.output.split()) and "snips" in evaluated.output
    out = tmp_path / "learned.aco"
    trained = runner.invoke(build_app(), ["train", "--from-store", live.store_url, "--router", "thompson", "--out",
                                          str(out)])
    assert trained.exit_code == 0, trained.output
    learned, metadata = load_router(out)
    assert metadata["policy"]["memory_outcomes"] >= 128 and learned.name == "thompson"


def test_openai_client_cascade_escalates_on_a_rejected_cheap_answer(live: Live, data_dir: Path) -> None:
    table = load_dataset("routerbench-mbpp", data_dir)
    test = table.subset(np.flatnonzero((table.tasks["split"] == "test").to_numpy()))
    cascade, metadata = load_router(live.folder / "cascade-mbpp.aco")
    replayed = cascade.route_table(test)
    row = int(np.flatnonzero(replayed.paid(test.n_models).sum(axis=1) > 1)[0])  # a task the cascade escalates
    cheap = metadata["policy"]["chain"][0]
    client = openai.OpenAI(base_url=f"{live.url}/v1", api_key="routing-needs-no-key", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="aco/cascade-mbpp", messages=[{"role": "user", "content": str(test.tasks["text"].iloc[row])}],
        extra_headers={"x-aco-task-id": "openai-cascade", "x-aco-category": "mbpp", "x-aco-source": "routerbench"},
        extra_body={"metadata": {"aco_replay_task": test.task_ids[row]}})
    completion = raw.parse()
    attempts = json.loads(raw.text)["aco"]["attempts"]
    assert completion.choices[0].message.content and len(attempts) >= 2
    assert attempts[0]["model"] == cheap  # the chain's cheap model first
    assert "post-hoc P=" in attempts[1]["reason"] and ": escalate to " in attempts[1]["reason"]
    assert raw.headers["x-aco-escalations"].startswith(cheap)
    assert raw.headers["x-aco-model"] == completion.model == attempts[-1]["model"]
    assert raw.headers["x-aco-model"] == test.model_names[int(replayed.model_idx[row])]  # as replayed
    assert float(raw.headers["x-aco-cost-usd"]) > float(raw.headers["x-replay-cost-usd"])  # every attempt paid


def test_unreadable_conversation_gets_a_decision_and_a_stop_ends_the_task(live: Live, data_dir: Path,
                                                                          tmp_path: Path) -> None:
    """The value head abstains (reason given) on a conversation it cannot read, never a 500; with a stop rule
    the task ends without a call, machine-readably."""
    table = load_dataset("swebench-lm32b-sonnet", data_dir)
    task_id, statement = table.task_ids[0], str(table.tasks["text"].iloc[0])
    broken = [{"role": "user", "content": statement},  # a valid chat request, but no command to read from it
              {"role": "assistant", "content": "look", "tool_calls": [
                  {"id": "c", "type": "function", "function": {"name": "bash", "arguments": {"command": "ls"}}}]},
              {"role": "tool", "tool_call_id": "c", "content": "ok"}]
    reply = httpx.post(f"{live.url}/v1/chat/completions", timeout=30,
                       headers={"x-aco-category": str(table.tasks["category"].iloc[0])},
                       json={"model": "aco/value-head", "messages": broken, "metadata": {"aco_replay_task": task_id}})
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-aco-reason"].startswith(
        "value head abstains: message 2: tool call 1 has no function arguments string")
    assert reply.headers["x-aco-model"] == "SWE-agent-LM-32B"
    router, _ = load_router(live.folder / "value-head.aco")
    router.set_params(stop_value_usd=0.01, value_usd=0.1)  # at $0.1 a success never pays for switching, and
    # P x $0.01 never pays for the rest of a run: stop at turn K
    shutil.copy(EXAMPLE, tmp_path / "parity.toml")
    config = load_config(tmp_path / "parity.toml")
    config = config.model_copy(update={"profiles": {"value-head": config.profiles["value-head"]}})
    calls: list[str] = []
    transport = httpx.MockTransport(lambda request: calls.append(request.url.path) or httpx.Response(500))
    app = create_app(config, store=Store.open(f"sqlite:///{tmp_path / 's.db'}"), transport=transport,
                     routers={"value-head": router})
    turn = {"role": "assistant", "content": "look", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}}]}
    three = [{"role": "user", "content": statement}] + [turn, {"role": "tool", "tool_call_id": "c", "content": "x"}] * 3
    with TestClient(app) as client:
        stopped = client.post("/v1/chat/completions", json={"model": "aco/value-head", "messages": three},
                              headers={"x-aco-category": "django"})
    assert stopped.status_code == 200 and calls == []
    assert stopped.headers["x-aco-action"] == "stop" and stopped.json()["aco"]["action"] == "stop"
    assert stopped.json()["choices"][0]["finish_reason"] == "stop" and ": stop" in stopped.headers["x-aco-reason"]
