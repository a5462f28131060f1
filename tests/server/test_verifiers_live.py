"""Verifiers live, end to end on loopback: the replay upstream (real RouterBench answers), a scripted judge upstream
and `aco serve` under uvicorn, driven by the official `openai` client; every verdict, verification call and cost is
then read back from the SQLite store.

Done when: a failed `tests` report and a low-`agreement` answer each escalate, the judge's cost is booked on the task,
and a judge that returns garbage leaves the decision standing with the reason logged.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aco.datasets.registry import load_dataset
from aco.server.launch import free_port, start, stop
from aco.store import Store
from aco.verifiers.answers import choice

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

CHEAP, STRONG = "mistralai/mistral-7b-chat", "gpt-4-1106-preview"
OTHERS = ("WizardLM/WizardLM-13B-V1.2", "meta/code-llama-instruct-34b-chat")
JUDGE_SAYS = {"judge-low": "SCORE: 2", "judge-garbage": "What a lovely answer!!"}
JUDGE_USAGE = {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105}
JUDGE_COST_USD = (100 * 1.0 + 5 * 2.0) / 1e6  # the judge models' prices below

CONFIG = f"""
[server]
store_url = "STORE"
api_key_env = "ACO_API_KEY"

[[upstreams]]
name = "replay"
base_url = "http://127.0.0.1:REPLAY/v1"
timeout_s = 30

[[upstreams]]
name = "judges"
base_url = "http://127.0.0.1:JUDGE/v1"
timeout_s = 30

[[models]]
name = "{CHEAP}"
upstream = "replay"
usd_per_call = 8.19e-05

[[models]]
name = "{OTHERS[0]}"
upstream = "replay"
usd_per_call = 0.000124

[[models]]
name = "{OTHERS[1]}"
upstream = "replay"
usd_per_call = 0.000313
tier = 1

[[models]]
name = "{STRONG}"
upstream = "replay"
usd_per_call = 0.00504
tier = 3

[[models]]
name = "judge-low"
upstream = "judges"
usd_per_mtok_input = 1.0
usd_per_mtok_output = 2.0

[[models]]
name = "judge-garbage"
upstream = "judges"
usd_per_mtok_input = 1.0
usd_per_mtok_output = 2.0

[profiles.tests]
candidates = ["{CHEAP}", "{STRONG}"]
threshold = 0.1
verifiers = [{{name = "tests"}}]

[profiles.agree]
candidates = ["{CHEAP}", "{STRONG}"]
threshold = 0.1
verifiers = [{{name = "agreement", models = ["{OTHERS[0]}", "{OTHERS[1]}"]}}]

[profiles.judge]
candidates = ["{CHEAP}", "{STRONG}"]
threshold = 0.1
verifiers = [{{name = "judge", model = "judge-low"}}]

[profiles.garbage]
candidates = ["{CHEAP}", "{STRONG}"]
threshold = 0.1
verifiers = [{{name = "judge", model = "judge-garbage"}}]
"""


def judge_app() -> Starlette:
    """A scripted judge upstream: each judge model always says the same, with usage to be priced."""

    async def chat(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        assert body["messages"][0]["role"] == "system" and "SCORE" in body["messages"][0]["content"]
        return JSONResponse({"id": "j", "object": "chat.completion", "created": 0, "model": body["model"],
                             "usage": JUDGE_USAGE, "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                 "role": "assistant", "content": JUDGE_SAYS[body["model"]]}}]})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@dataclass(frozen=True)
class Live:
    url: str
    db: Path


@pytest.fixture(scope="module")
def live(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("verifiers")
    judge_port, up_port, aco_port = free_port(), free_port(), free_port()
    judge = uvicorn.Server(uvicorn.Config(judge_app(), host="127.0.0.1", port=judge_port, log_level="warning"))
    thread = threading.Thread(target=judge.run, daemon=True)
    thread.start()
    while not judge.started:
        time.sleep(0.05)
    env = {"ACO_DATA_DIR": str(data_dir), "ACO_API_KEY": "k"}
    upstream = start(["replay-upstream", "--port", str(up_port)], env, f"http://127.0.0.1:{up_port}/healthz")
    config = folder / "aco.toml"
    config.write_text(CONFIG.replace("STORE", f"sqlite:///{folder / 'aco.db'}").replace("REPLAY", str(up_port))
                      .replace("JUDGE", str(judge_port)))
    try:
        proxy = start(["serve", "--config", str(config), "--port", str(aco_port)], env,
                      f"http://127.0.0.1:{aco_port}/healthz")
    except Exception:
        stop(upstream)
        judge.should_exit = True
        raise
    yield Live(f"http://127.0.0.1:{aco_port}", folder / "aco.db")
    stop(proxy)
    stop(upstream)
    judge.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def arc(data_dir: Path) -> tuple[list[str], list[str], list[str]]:
    """ARC test prompts: all, those where the cheap model and the two others pick three different options, and
    those where all three agree."""
    table = load_dataset("routerbench-arc", data_dir)
    rows = np.flatnonzero((table.tasks["split"] == "test").to_numpy())[:300]
    answers = table.signals["response"]
    columns = [table.model_index(m) for m in (CHEAP, *OTHERS)]
    texts = [str(table.tasks["text"].iloc[i]) for i in rows]
    picks = [{choice(str(answers[i, j]), text) for j in columns} for i, text in zip(rows, texts, strict=True)]
    return (texts, [t for t, p in zip(texts, picks, strict=True) if len(p) == 3 and None not in p],
            [t for t, p in zip(texts, picks, strict=True) if len(p) == 1 and None not in p])


def _ask(client: openai.OpenAI, profile: str, text: str, task_id: str, **headers: str) -> tuple[dict, httpx.Headers]:
    raw = client.chat.completions.with_raw_response.create(
        model=f"aco/{profile}", messages=[{"role": "user", "content": text}],
        extra_headers={"x-aco-task-id": task_id, "x-aco-category": "arc", **headers})
    assert raw.parse().choices[0].message.content
    return json.loads(raw.text)["aco"], raw.headers


def test_verifiers_escalate_book_their_calls_and_abstain_on_garbage(live: Live, arc: tuple) -> None:
    texts, disagreeing, agreeing = arc
    client = openai.OpenAI(base_url=f"{live.url}/v1", api_key="routing-needs-no-key", max_retries=0)

    # tests: the agent's failing test run on the first answer escalates its next request
    first, _ = _ask(client, "tests", texts[0], "t-tests")
    assert [a["model"] for a in first["attempts"]] == [CHEAP]
    second, headers = _ask(client, "tests", texts[0], "t-tests", **{"x-aco-tests": "passed=3 failed=2 exit_code=1"})
    assert headers["x-aco-model"] == STRONG
    assert f"escalated from {CHEAP} (tests: 3 passed, 2 failed, exit code 1)" in second["reason"]

    # agreement: two more cheap answers; the cheap answer nobody shares escalates, a shared one stands
    lonely, headers = _ask(client, "agree", disagreeing[0], "t-lonely")
    assert [a["model"] for a in lonely["attempts"]] == [CHEAP, STRONG]
    assert headers["x-aco-verdicts"] == "agreement=0.000" and "agreement: agreement 0.00" in lonely["reason"]
    shared, headers = _ask(client, "agree", agreeing[0], "t-shared")
    assert [a["model"] for a in shared["attempts"]] == [CHEAP] and headers["x-aco-verdicts"] == "agreement=1.000"

    # judge: a low grade escalates, and the grading call is paid on the task's budget
    judged, headers = _ask(client, "judge", texts[1], "t-judge", **{"x-aco-budget-usd": "0.05"})
    assert [a["model"] for a in judged["attempts"]] == [CHEAP, STRONG] and headers["x-aco-verdicts"] == "judge=0.200"
    assert judged["verdicts"][0]["cost_usd"] == pytest.approx(JUDGE_COST_USD)

    # garbage from the judge: an abstention, the cheap answer stands, the reason is logged, the call still paid
    kept, headers = _ask(client, "garbage", texts[2], "t-garbage")
    assert [a["model"] for a in kept["attempts"]] == [CHEAP] and headers["x-aco-model"] == CHEAP
    assert headers["x-aco-verdicts"] == "judge=abstained"
    assert kept["verdicts"][0]["reason"].startswith("malformed judge output: no score")

    store = Store.open(f"sqlite:///{live.db}")
    try:
        verdicts = {v.task_id: v for v in store.verdicts()}
        tests_verdict = verdicts["t-tests"]
        assert tests_verdict.verifier == "tests" and tests_verdict.p_correct == pytest.approx(0.6)
        assert tests_verdict.decision_id == first["decision_id"]  # judged the answer it was reported on
        judge_calls = [d for d in store.decisions(task_id="t-judge") if d.endpoint == "verify"]
        assert [(d.chosen_model, d.status) for d in judge_calls] == [("judge-low", "settled")]
        assert judge_calls[0].cost_usd == pytest.approx(JUDGE_COST_USD)
        spent = store.budget_state("t-judge")
        paid = sum(d.cost_usd or 0.0 for d in store.decisions(task_id="t-judge"))
        assert spent is not None and spent.spent_usd == pytest.approx(paid) and spent.reserved_usd == pytest.approx(0)
        assert float(headers.get("x-aco-cost-usd", "0")) > 0
        garbage = verdicts["t-garbage"]
        assert garbage.p_correct is None and "malformed judge output" in garbage.reason and garbage.cost_usd > 0
        asked = [d.chosen_model for d in store.decisions(task_id="t-lonely") if d.endpoint == "verify"]
        assert sorted(asked) == sorted(OTHERS)  # both extra answers were called and paid
        assert all(d.cost_usd and d.cost_usd > 0 for d in store.decisions(task_id="t-lonely"))
    finally:
        store.close()
    reply = httpx.get(f"{live.url}/v1/decisions/{kept['decision_id']}", headers={"authorization": "Bearer k"})
    assert reply.json()["verdicts"][0]["verifier"] == "judge"
