"""One conformance suite over every direction: each client API (OpenAI chat completions, Anthropic Messages,
OpenAI Responses, through their official SDKs) x each upstream API (OpenAI-compatible, Anthropic native) x
streaming or not, on two turns of a recorded SWE-agent run (a tool call, then its tool result sent back): the
text, the tool call, the stop reason and the usage must be the recorded ones whatever the path, and the decision
is recorded with its endpoint, usage and invoiced cost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from starlette.testclient import TestClient

from aco.config import AcoConfig
from aco.records import Usage
from aco.server.app import create_app
from aco.server.replay_trajectories import TrajectoryBook
from aco.server.replay_upstream import ReplayBook, create_replay_app
from aco.store import Store
from aco.trajectories.steps import classify_step

pytestmark = pytest.mark.realdata
MODEL = "sweagent-lm-32b"
TOOL_SCHEMA = {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}
USD_PER_MTOK = 0.8


@dataclass(frozen=True)
class Seen:
    """One answer as a client sees it, normalised across APIs."""

    text: str
    tool: tuple[str, dict[str, Any]]
    call_id: str
    stop: str
    input_tokens: int
    output_tokens: int


@pytest.fixture(scope="module")
def book(data_dir: Path) -> TrajectoryBook:
    return TrajectoryBook.from_data_dir(data_dir)


@pytest.fixture(scope="module")
def instance(book: TrajectoryBook) -> str:
    return book.instances(MODEL)[0]


@pytest.fixture
def proxy(book: TrajectoryBook, tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    replay = create_replay_app(ReplayBook([]), trajectories=book)
    config = AcoConfig.model_validate({
        "upstreams": [{"name": "oa", "base_url": "http://replay.test/v1"},
                      {"name": "an", "api": "anthropic", "base_url": "http://replay.test/v1"}],
        "models": [{"name": f"lm32b-{u}", "upstream": u, "upstream_model": MODEL, "usd_per_mtok_input": USD_PER_MTOK,
                    "usd_per_mtok_output": USD_PER_MTOK} for u in ("oa", "an")],
        "profiles": {"via-openai": {"candidates": ["lm32b-oa"]}, "via-anthropic": {"candidates": ["lm32b-an"]}}})
    store = Store.open(f"sqlite:///{tmp_path / 'aco.db'}")
    with TestClient(create_app(config, transport=httpx.ASGITransport(app=replay), store=store)) as client:
        yield client, store
    store.close()


def _chat(client: TestClient, model: str, stream: bool, prompt: str, observations: list[str]) -> list[Seen]:
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client, max_retries=0)
    tools: Any = [{"type": "function", "function": {"name": "bash", "parameters": TOOL_SCHEMA}}]
    messages: list[Any] = [{"role": "user", "content": prompt}]
    seen = []
    for observation in observations:
        if stream:
            with sdk.chat.completions.stream(model=model, messages=messages, tools=tools,
                                             stream_options={"include_usage": True}) as s:
                reply = s.get_final_completion()
        else:
            reply = sdk.chat.completions.create(model=model, messages=messages, tools=tools)
        message, call = reply.choices[0].message, reply.choices[0].message.tool_calls[0]
        assert reply.usage is not None
        seen.append(Seen(message.content or "", (call.function.name, json.loads(call.function.arguments)), call.id,
                         reply.choices[0].finish_reason, reply.usage.prompt_tokens, reply.usage.completion_tokens))
        messages += [message.model_dump(exclude_none=True, include={"role", "content", "tool_calls"}),
                     {"role": "tool", "tool_call_id": call.id, "content": observation}]
    return seen


def _messages(client: TestClient, model: str, stream: bool, prompt: str, observations: list[str]) -> list[Seen]:
    sdk = anthropic.Anthropic(base_url="http://testserver", api_key="unused", http_client=client, max_retries=0)
    tools: Any = [{"name": "bash", "input_schema": TOOL_SCHEMA}]
    messages: list[Any] = [{"role": "user", "content": prompt}]
    seen = []
    for observation in observations:
        if stream:
            with sdk.messages.stream(model=model, max_tokens=1024, messages=messages, tools=tools) as s:
                reply = s.get_final_message()
        else:
            reply = sdk.messages.create(model=model, max_tokens=1024, messages=messages, tools=tools)
        text = "".join(b.text for b in reply.content if b.type == "text")
        use = next(b for b in reply.content if b.type == "tool_use")
        u = reply.usage
        seen.append(Seen(text, (use.name, dict(use.input)), use.id, str(reply.stop_reason),
                         u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0),
                         u.output_tokens))
        messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                   "content": observation}]}]
    return seen


def _responses(client: TestClient, model: str, stream: bool, prompt: str, observations: list[str]) -> list[Seen]:
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client, max_retries=0)
    tools: Any = [{"type": "function", "name": "bash", "parameters": TOOL_SCHEMA, "strict": False}]
    items: list[Any] = [{"role": "user", "content": prompt}]
    seen = []
    for observation in observations:
        if stream:
            with sdk.responses.stream(model=model, input=items, tools=tools, store=False) as s:
                reply = s.get_final_response()
        else:
            reply = sdk.responses.create(model=model, input=items, tools=tools, store=False)
        call = next(o for o in reply.output if o.type == "function_call")
        assert reply.usage is not None
        seen.append(Seen(reply.output_text, (call.name, json.loads(call.arguments)), call.call_id, reply.status or "",
                         reply.usage.input_tokens, reply.usage.output_tokens))
        items += [o.model_dump(exclude_none=True) for o in reply.output]
        items.append({"type": "function_call_output", "call_id": call.call_id, "output": observation})
    return seen


CLIENTS = {"chat": (_chat, "tool_calls"), "messages": (_messages, "tool_use"), "responses": (_responses, "completed")}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
@pytest.mark.parametrize("api", list(CLIENTS))
def test_every_direction_gives_the_recorded_turns(proxy: tuple[TestClient, Store], book: TrajectoryBook,
                                                  instance: str, api: str, upstream: str, stream: bool) -> None:
    client, store = proxy
    run, stop = CLIENTS[api]
    observations = [book.observation(MODEL, instance, k) for k in (1, 2)]
    seen = run(client, f"aco/via-{upstream}", stream, f"Resolve {instance}.", observations)
    for k, got in enumerate(seen, start=1):
        recorded = book.turn(MODEL, instance, k)
        assert recorded is not None
        assert got.text == recorded.turn.thought
        assert got.tool == ("bash", {"command": recorded.turn.action})
        assert got.stop == stop and got.call_id
        assert (got.input_tokens, got.output_tokens) == (recorded.usage.input_tokens, recorded.usage.output_tokens)
    decisions = store.decisions()
    assert [d.endpoint for d in decisions] == [api, api] and {d.status for d in decisions} == {"settled"}
    for k, d in enumerate(decisions, start=1):
        recorded = book.turn(MODEL, instance, k)
        assert recorded is not None and d.usage == Usage(recorded.usage.input_tokens, recorded.usage.output_tokens)
        assert d.cost_usd == pytest.approx(USD_PER_MTOK * (recorded.usage.total_tokens) / 1e6, rel=1e-12)
    first = book.turn(MODEL, instance, 1)
    assert first is not None
    assert decisions[0].step_kind == "plan"  # first turn of a tool-using agent
    assert decisions[1].step_kind == classify_step(first.turn.action)  # from the tool call in the request itself
