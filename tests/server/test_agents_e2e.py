"""Agents against `aco serve` on loopback (uvicorn) and a recorded upstream speaking both OpenAI chat completions
and Anthropic Messages (`aco replay-upstream`, real SWE-bench agent turns): the official `openai` and `anthropic`
SDKs on every endpoint, a multi-turn tool loop that switches provider mid-task, cache-aware cost, client
disconnects, malformed upstreams, 100 concurrent streams under a budget, and `kill -9` of the proxy mid-stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from aco.records import Usage
from aco.server.launch import free_port, start, stop
from aco.server.replay_trajectories import TrajectoryBook
from aco.store import Store
from aco.trajectories.steps import classify_step

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
LM, SONNET, GEMINI = "sweagent-lm-32b", "sweagent-claude-4-sonnet", "mini-gemini-3-pro"
LOOP_TASK = "astropy__astropy-14365"  # has 6 recorded turns of both SWE-agent-LM-32B and Claude 4 Sonnet
CACHE_TASK = "pytest-dev__pytest-7982"  # the Gemini run whose cached tokens halve its first 6 turns' bill
LONG = ("sympy__sympy-19954", 5)  # the longest recorded Gemini turn: 2,027 + 1,420 characters streamed
TOOLS: Any = [{"type": "function", "function": {"name": "bash", "parameters": {
    "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}]
ANTHROPIC_TOOLS: Any = [{"name": "bash", "input_schema": TOOLS[0]["function"]["parameters"]}]
GEMINI_PRICES = 'usd_per_mtok_input = 2.0\nusd_per_mtok_output = 12.0\nusd_per_mtok_cached_input = 0.2\n'


def _config(path: Path, fast: int, slow: int, store: str, max_call_s: float, timeout_s: float) -> Path:
    upstream = 'base_url = "http://127.0.0.1:{}/v1"\nmax_retries = 0\ntimeout_s = {}\n'
    path.write_text(f"""
[server]
store_url = "{store}"
max_call_s = {max_call_s}
expire_every_s = 0.5

[[upstreams]]
name = "oa"
{upstream.format(fast, timeout_s)}
[[upstreams]]
name = "an"
api = "anthropic"
api_key_env = "ACO_TEST_ANTHROPIC_KEY"
{upstream.format(fast, timeout_s)}
[[upstreams]]
name = "slow-an"
api = "anthropic"
{upstream.format(slow, timeout_s)}
[[models]]
name = "lm32b"
upstream = "oa"
upstream_model = "{LM}"
usd_per_mtok_input = 0.8
usd_per_mtok_output = 0.8
tier = 0

[[models]]
name = "sonnet"
upstream = "an"
upstream_model = "{SONNET}"
usd_per_mtok_input = 3.0
usd_per_mtok_output = 15.0
usd_per_mtok_cached_input = 0.3
usd_per_mtok_cache_write = 3.75
tier = 2

[[models]]
name = "gemini"
upstream = "oa"
upstream_model = "{GEMINI}"
{GEMINI_PRICES}
[[models]]
name = "gemini-slow"
upstream = "slow-an"
upstream_model = "{GEMINI}"
{GEMINI_PRICES}typical_input_tokens = 7000
typical_output_tokens = 5000

[[models]]
name = "bad-json"
upstream = "oa"
upstream_model = "fault/malformed-json"

[[models]]
name = "bad-stream"
upstream = "oa"
upstream_model = "fault/malformed-stream"

[[models]]
name = "broken-stream"
upstream = "an"
upstream_model = "fault/broken-stream"

[profiles.agent]
candidates = ["lm32b", "sonnet"]
[profiles.gemini]
candidates = ["gemini"]
[profiles.slow]
candidates = ["gemini-slow"]
[profiles.bad-json]
candidates = ["bad-json"]
[profiles.bad-stream]
candidates = ["bad-stream"]
[profiles.broken-stream]
candidates = ["broken-stream"]
""", encoding="utf-8")
    return path


@dataclass
class Stack:
    base: str
    db: Path
    book: TrajectoryBook
    env: dict[str, str]
    fast: int
    slow: int
    tmp: Path

    def store(self) -> Store:
        return Store.open(f"sqlite:///{self.db}")


@pytest.fixture(scope="module")
def stack(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("agents")
    env = {"ACO_DATA_DIR": str(data_dir), "ACO_TEST_ANTHROPIC_KEY": "sk-ant-test"}
    fast, slow, port = free_port(), free_port(), free_port()
    procs = [start(["replay-upstream", "--port", str(fast)], env, f"http://127.0.0.1:{fast}/healthz")]
    try:
        procs.append(start(["replay-upstream", "--port", str(slow), "--chunk-delay-ms", "50"], env,
                           f"http://127.0.0.1:{slow}/healthz"))
        config = _config(tmp / "aco.toml", fast, slow, f"sqlite:///{tmp / 'aco.db'}", 60, 10)
        procs.append(start(["serve", "--config", str(config), "--port", str(port)], env,
                           f"http://127.0.0.1:{port}/healthz"))
        yield Stack(f"http://127.0.0.1:{port}", tmp / "aco.db", TrajectoryBook.from_data_dir(data_dir), env,
                    fast, slow, tmp)
    finally:
        for proc in reversed(procs):
            stop(proc)


def _openai(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.base}/v1", api_key="unused", max_retries=0)


def _anthropic(stack: Stack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.base, api_key="unused", max_retries=0)


def _prefix(book: TrajectoryBook, model: str, instance: str, turns: int) -> list[dict[str, Any]]:
    """A chat conversation holding the first `turns` recorded turns (tool calls and their results)."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"Resolve {instance}."}]
    for k in range(1, turns + 1):
        found = book.turn(model, instance, k)
        assert found is not None
        call = {"id": f"call_{k}", "type": "function",
                "function": {"name": "bash", "arguments": json.dumps({"command": found.turn.action})}}
        messages += [{"role": "assistant", "content": found.turn.thought, "tool_calls": [call]},
                     {"role": "tool", "tool_call_id": f"call_{k}", "content": found.turn.observation}]
    return messages


def _wait_settled(stack: Stack, task_ids: set[str], timeout_s: float = 15.0) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        with stack.store() as store:
            decisions = [d for d in store.decisions() if d.task_id in task_ids]
        if (decisions and all(d.status != "open" for d in decisions)) or time.monotonic() > deadline:
            return decisions
        time.sleep(0.2)


def test_every_endpoint_with_the_official_sdks(stack: Stack) -> None:
    oc, ac = _openai(stack), _anthropic(stack)
    first = stack.book.turn(LM, LOOP_TASK, 1)
    assert first is not None
    expected = {"command": first.turn.action}
    prompt = f"Resolve {LOOP_TASK}."
    assert {m.id for m in oc.models.list()} >= {"aco/agent", "lm32b", "sonnet"}
    assert "aco/agent" in {m.id for m in ac.models.list()}
    counted = ac.messages.count_tokens(model="aco/agent", messages=[{"role": "user", "content": prompt}])
    assert counted.input_tokens > 0
    raw = oc.chat.completions.with_raw_response.create(model="aco/agent", tools=TOOLS,
                                                       messages=[{"role": "user", "content": prompt}])
    reply = raw.parse()
    assert json.loads(reply.choices[0].message.tool_calls[0].function.arguments) == expected
    assert raw.headers["x-aco-model"] == "lm32b" and raw.headers["x-aco-decision-id"]
    with oc.chat.completions.stream(model="aco/agent", tools=TOOLS,
                                    messages=[{"role": "user", "content": prompt}]) as s:
        assert json.loads(s.get_final_completion().choices[0].message.tool_calls[0].function.arguments) == expected
    raw_m = ac.messages.with_raw_response.create(model="aco/agent", max_tokens=512, tools=ANTHROPIC_TOOLS,
                                                 messages=[{"role": "user", "content": prompt}])
    message = raw_m.parse()
    assert raw_m.headers["x-aco-decision-id"] and message.stop_reason == "tool_use"
    assert next(b for b in message.content if b.type == "tool_use").input == expected
    with ac.messages.stream(model="aco/agent", max_tokens=512, tools=ANTHROPIC_TOOLS,
                            messages=[{"role": "user", "content": prompt}]) as ms:
        final = ms.get_final_message()
    assert next(b for b in final.content if b.type == "tool_use").input == expected
    rtools: Any = [{"type": "function", "name": "bash", "parameters": TOOLS[0]["function"]["parameters"],
                    "strict": False}]
    raw_r = oc.responses.with_raw_response.create(model="aco/agent", input=prompt, tools=rtools, store=False)
    assert raw_r.headers["x-aco-decision-id"]
    call = next(o for o in raw_r.parse().output if o.type == "function_call")
    assert json.loads(call.arguments) == expected
    with oc.responses.stream(model="aco/agent", input=prompt, tools=rtools, store=False) as rs:
        done = rs.get_final_response()
    assert json.loads(next(o for o in done.output if o.type == "function_call").arguments) == expected
    passthrough = ac.messages.create(model="sonnet", max_tokens=64, messages=[{"role": "user", "content": prompt}])
    assert passthrough.stop_reason == "tool_use"
    with stack.store() as store:
        endpoints = {d.decision_id: d.endpoint for d in store.decisions()}
    assert endpoints[raw.headers["x-aco-decision-id"]] == "chat"
    assert endpoints[raw_m.headers["x-aco-decision-id"]] == "messages"
    assert endpoints[raw_r.headers["x-aco-decision-id"]] == "responses"


def test_agent_loop_switches_provider_mid_task_and_keeps_the_conversation_valid(stack: Stack) -> None:
    """Turns 1-3 on SWE-agent-LM-32B (OpenAI-compatible upstream), an escalation, turns 4-6 on Claude 4 Sonnet
    (Anthropic upstream): the OpenAI-style tool-call ids and tool results of the first model go to Anthropic."""
    oc, task = _openai(stack), "loop-openai"
    messages: list[Any] = [{"role": "system", "content": "You are a software engineering agent."},
                           {"role": "user", "content": f"Resolve {LOOP_TASK}."}]
    seen = []
    for k in range(1, 7):
        if k == 4:
            escalated = httpx.post(f"{stack.base}/v1/route", json={"task_id": task, "escalate": True})
            assert escalated.status_code == 200 and escalated.json()["model"] == "sonnet"
        raw = oc.chat.completions.with_raw_response.create(model="aco/agent", messages=messages, tools=TOOLS,
                                                           extra_headers={"x-aco-task-id": task})
        reply = raw.parse()
        model = LM if k <= 3 else SONNET
        recorded = stack.book.turn(model, LOOP_TASK, k)
        assert recorded is not None
        call = reply.choices[0].message.tool_calls[0]
        assert json.loads(call.function.arguments) == {"command": recorded.turn.action}
        assert reply.choices[0].message.content == recorded.turn.thought
        seen.append((raw.headers["x-aco-model"], recorded))
        messages += [reply.choices[0].message.model_dump(exclude_none=True, include={"role", "content", "tool_calls"}),
                     {"role": "tool", "tool_call_id": call.id, "content": recorded.turn.observation}]
    assert [m for m, _ in seen] == ["lm32b"] * 3 + ["sonnet"] * 3
    with stack.store() as store:
        calls = [d for d in store.decisions(task) if d.endpoint == "chat"]
    assert [d.chosen_model for d in calls] == ["lm32b"] * 3 + ["sonnet"] * 3
    assert [d.step_kind for d in calls] == ["plan"] + [classify_step(r.turn.action) for _, r in seen[:5]]
    prices = {"lm32b": (0.8, 0.8), "sonnet": (3.0, 15.0)}
    for d, (_, recorded) in zip(calls, seen, strict=True):
        usd_in, usd_out = prices[d.chosen_model]
        assert d.status == "settled" and d.usage == Usage(recorded.usage.input_tokens, recorded.usage.output_tokens)
        assert d.cost_usd == pytest.approx((recorded.usage.input_tokens * usd_in
                                            + recorded.usage.output_tokens * usd_out) / 1e6, rel=1e-9)


def test_anthropic_sdk_agent_loop_streams_tool_use_and_tool_results(stack: Stack) -> None:
    ac, task = _anthropic(stack), "loop-anthropic"
    messages: list[Any] = [{"role": "user", "content": f"Resolve {LOOP_TASK}."}]
    for k in range(1, 5):
        with ac.messages.stream(model="aco/agent", max_tokens=1024, system="You are an agent.",
                                messages=messages, tools=ANTHROPIC_TOOLS,
                                extra_headers={"x-aco-task-id": task}) as s:
            reply = s.get_final_message()
        recorded = stack.book.turn(LM, LOOP_TASK, k)
        assert recorded is not None and reply.stop_reason == "tool_use"
        use = next(b for b in reply.content if b.type == "tool_use")
        assert use.input == {"command": recorded.turn.action}
        assert reply.usage.input_tokens == recorded.usage.input_tokens
        messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                   "content": recorded.turn.observation}]}]
    decisions = _wait_settled(stack, {task})
    assert len(decisions) == 4 and {d.endpoint for d in decisions} == {"messages"}
    assert {d.status for d in decisions} == {"settled"}


def test_cached_tokens_halve_the_task_bill(stack: Stack) -> None:
    """Gemini 3 Pro's first 6 recorded turns on pytest-dev__pytest-7982: billed with its cached-input price the
    task costs USD 0.033625; the same tokens without a cache discount would cost USD 0.06661 (ratio 0.505)."""
    oc, task = _openai(stack), "cache-halves"
    messages: list[Any] = [{"role": "user", "content": f"Resolve {CACHE_TASK}."}]
    recorded_usd = 0.0
    for k in range(1, 7):
        raw = oc.chat.completions.with_raw_response.create(model="aco/gemini", messages=messages, tools=TOOLS,
                                                           extra_headers={"x-aco-task-id": task})
        reply = raw.parse()
        recorded_usd += float(raw.headers["x-replay-recorded-cost-usd"])
        assert reply.usage is not None and reply.usage.prompt_tokens_details is not None
        call = reply.choices[0].message.tool_calls[0]
        messages += [reply.choices[0].message.model_dump(exclude_none=True, include={"role", "content", "tool_calls"}),
                     {"role": "tool", "tool_call_id": call.id,
                      "content": stack.book.observation(GEMINI, CACHE_TASK, k)}]
    with stack.store() as store:
        decisions = store.decisions(task)
    billed = sum(d.cost_usd or 0.0 for d in decisions)
    uncached = sum(((d.usage.input_tokens + d.usage.cached_input_tokens) * 2.0 + d.usage.output_tokens * 12.0) / 1e6
                   for d in decisions if d.usage is not None)
    assert len(decisions) == 6 and sum(d.usage.cached_input_tokens for d in decisions if d.usage) > 0
    assert billed == pytest.approx(0.033625, abs=1e-12) and billed == pytest.approx(recorded_usd, abs=1e-12)
    assert uncached == pytest.approx(0.06661, abs=1e-12)
    assert billed / uncached == pytest.approx(0.5048, abs=1e-4)


def _long_turn_request(stack: Stack, api: str) -> dict[str, Any]:
    instance, k = LONG
    messages = _prefix(stack.book, GEMINI, instance, k - 1)
    if api == "chat":
        return {"model": "aco/slow", "messages": messages, "tools": TOOLS, "stream": True}
    from aco.server.protocols.anthropic import chat_to_request

    return chat_to_request({"messages": messages, "tools": TOOLS, "stream": True, "max_tokens": 8000}, "aco/slow")


def test_client_disconnect_mid_stream_is_charged_for_what_was_streamed(stack: Stack) -> None:
    task = "cut-stream"
    body = _long_turn_request(stack, "messages")
    with httpx.Client(timeout=30) as client, client.stream(
            "POST", f"{stack.base}/v1/messages", json=body, headers={"x-aco-task-id": task,
                                                                      "x-aco-budget-usd": "1"}) as reply:
        assert reply.status_code == 200
        received = b""
        for piece in reply.iter_bytes():
            received += piece
            if received.count(b"content_block_delta") >= 3:
                break
    decisions = _wait_settled(stack, {task})
    recorded = stack.book.turn(GEMINI, *LONG)
    assert recorded is not None and len(decisions) == 1
    d = decisions[0]
    full_usd = (recorded.usage.input_tokens * 2.0 + recorded.usage.cached_input_tokens * 0.2
                + recorded.usage.output_tokens * 12.0) / 1e6
    assert d.status == "settled" and d.usage is not None and d.cost_usd is not None
    # the input is exact (Anthropic's message_start), the output what was streamed before the cut
    assert (d.usage.input_tokens, d.usage.cached_input_tokens) == (recorded.usage.input_tokens,
                                                                   recorded.usage.cached_input_tokens)
    assert 0 < d.usage.output_tokens < recorded.usage.output_tokens // 10
    assert 0 < d.cost_usd < full_usd / 5
    with stack.store() as store:
        budget = store.budget(task)
    assert budget is not None and budget[1] == pytest.approx(0.0) and budget[2] == pytest.approx(d.cost_usd)


def test_malformed_upstream_replies_are_502_naming_the_upstream(stack: Stack) -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
    bad = httpx.post(f"{stack.base}/v1/chat/completions", json={**body, "model": "aco/bad-json"},
                     headers={"x-aco-task-id": "bad-1"})
    assert bad.status_code == 502 and "upstream 'oa' sent a malformed body" in bad.json()["error"]["message"]
    bad_stream = httpx.post(f"{stack.base}/v1/messages", json={**body, "model": "aco/bad-stream", "stream": True},
                            headers={"x-aco-task-id": "bad-2"})
    assert bad_stream.status_code == 502 and bad_stream.json()["type"] == "error"
    assert "upstream 'oa' sent a malformed stream" in bad_stream.json()["error"]["message"]
    with httpx.stream("POST", f"{stack.base}/v1/messages", json={**body, "model": "aco/broken-stream",
                                                                 "stream": True},
                      headers={"x-aco-task-id": "bad-3"}) as broken:
        text = broken.read().decode()
    assert broken.status_code == 200 and "a valid start" in text
    assert "event: error" in text and "upstream 'an' sent a malformed stream" in text
    decisions = _wait_settled(stack, {"bad-1", "bad-2", "bad-3"})
    assert sorted(d.status for d in decisions) == ["failed", "failed", "settled"]


async def _streams(base: str, n: int, headers_of: Any, body_of: Any, cut_every: int) -> list[tuple[int, str]]:
    """`n` concurrent streamed requests; every `cut_every`-th client disconnects after its first bytes."""
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=n)) as client:
        async def one(i: int) -> tuple[int, str]:
            async with client.stream("POST", f"{base}/v1/chat/completions", json=body_of(i),
                                     headers=headers_of(i)) as reply:
                decision = reply.headers.get("x-aco-decision-id", "")
                async for _ in reply.aiter_bytes():
                    if cut_every and i % cut_every == 0:
                        break
                return reply.status_code, decision
        return await asyncio.gather(*(one(i) for i in range(n)))


def test_budget_holds_under_100_concurrent_streams_some_cut_off(stack: Stack) -> None:
    task, budget_usd = "hundred-streams", 0.5
    body = _long_turn_request(stack, "chat")
    replies = asyncio.run(_streams(stack.base, 100, lambda _: {"x-aco-task-id": task,
                                                               "x-aco-budget-usd": str(budget_usd)},
                                   lambda _: body, cut_every=3))
    statuses = [s for s, _ in replies]
    assert set(statuses) <= {200, 402} and statuses.count(200) >= 6  # reservations of USD 0.064 in USD 0.5
    decisions = _wait_settled(stack, {task})
    with stack.store() as store:
        budget = store.budget(task)
        refusals = store.refusals(task)
    assert budget is not None and budget[1] == pytest.approx(0.0) and budget[2] <= budget_usd + 1e-9
    assert {d.status for d in decisions} == {"settled"} and len(decisions) == statuses.count(200)
    assert budget[2] == pytest.approx(sum(d.cost_usd or 0.0 for d in decisions))
    assert len(refusals) == statuses.count(402)
    full = [d.cost_usd for d in decisions if d.usage is not None and d.usage.output_tokens > 1000]
    cut = [d.cost_usd for d in decisions if d.usage is not None and d.usage.output_tokens <= 1000]
    assert full and cut and max(c or 0.0 for c in cut) < min(f or 0.0 for f in full)


def test_kill_9_mid_stream_loses_no_decision_and_leaves_no_reservation_open(stack: Stack) -> None:
    port = free_port()
    store_url = f"sqlite:///{stack.tmp / 'killed.db'}"
    config = _config(stack.tmp / "killed.toml", stack.fast, stack.slow, store_url, max_call_s=3, timeout_s=2)
    args = ["serve", "--config", str(config), "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    proc = start(args, stack.env, f"{base}/healthz")
    body = _long_turn_request(stack, "chat")
    seen: list[str] = []

    async def run() -> None:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as client:
            async def one(i: int) -> None:
                try:
                    async with client.stream("POST", f"{base}/v1/chat/completions", json=body,
                                             headers={"x-aco-task-id": f"killed-{i}"}) as reply:
                        seen.append(reply.headers["x-aco-decision-id"])
                        async for _ in reply.aiter_bytes():
                            pass
                except httpx.HTTPError:
                    pass  # the proxy died under us

            tasks = [asyncio.create_task(one(i)) for i in range(100)]
            deadline = time.monotonic() + 10
            while len(seen) < 100 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            proc.kill()  # SIGKILL: no cleanup at all
            await asyncio.gather(*tasks)

    try:
        asyncio.run(run())
        proc.wait(timeout=10)
        with Store.open(store_url) as store:
            open_after_kill = sum(d.status == "open" for d in store.decisions())
        proc = start(args, stack.env, f"{base}/healthz")  # restart: expiry settles the dead process's calls
        deadline = time.monotonic() + 20
        while True:
            with Store.open(store_url) as store:
                decisions = {d.decision_id: d for d in store.decisions()}
            if all(d.status != "open" for d in decisions.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    finally:
        stop(proc)
    assert len(seen) == 100 and set(seen) <= set(decisions)  # no decision a client heard of is lost
    assert open_after_kill > 0  # the kill did leave calls in flight
    assert {d.status for d in decisions.values()} <= {"settled", "expired"}
    expired = [d for d in decisions.values() if d.status == "expired"]
    assert len(expired) == open_after_kill and all(d.cost_usd == d.reserved_usd for d in expired)
