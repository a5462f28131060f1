"""The routing proxy as an ASGI app factory (Starlette; no globals, no import-time effects).

`POST /v1/chat/completions` (OpenAI), `/v1/messages` (Anthropic) and `/v1/responses` (OpenAI Responses) with
`model="aco/<profile>"` route; any other model name passes through (translated when the model's upstream speaks
another API). Every client API is translated at the edge to the canonical chat completions form, goes through the
one routed flow, and its result (payload or stream) is translated back (`aco.server.protocols`,
`aco.server.replies`).

The routed flow asks the profile's `Router` (the one `aco bench` replays) through the SDK: an upstream failure makes
it choose again without the failed model; after a non-streaming answer a multi-step router (a cascade) reads the
answer's text and cost and may escalate within the request, then the profile's verifiers (`aco.verifiers`: tests,
entropy, judge, agreement, length) judge it, their calls paid and booked on the task, and a failed verdict
escalates within the request the same way; a test run reported in `x-aco-tests` judges the task's previous answer
and a failure escalates this request. The value head reads the conversation as the agent's trajectory; a router's
stop ends the task without a call (HTTP 200, `finish_reason: "stop"`, `x-aco-action: stop`).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aco.config import AcoConfig, ModelConfig
from aco.errors import AcoError
from aco.records import Usage
from aco.routers.base import Router
from aco.sdk import BudgetExceededError, NoCandidateError, Optimizer, OutcomeHook, RouteDecision, TaskHandle
from aco.sdk.optimizer import UnknownProfileError
from aco.sdk.verification import Verified
from aco.server import replies, verification
from aco.server import usage as usage_of
from aco.server.auth import key_matches, presented_key
from aco.server.calls import Caller
from aco.server.dashboard import views as dashboard
from aco.server.http import ApiError, aco_headers, check_step, get_bool, get_float, get_str, header_safe, read_json
from aco.server.metrics import ProxyMetrics
from aco.server.protocols import anthropic, responses
from aco.server.protocols.chat import check_request, conversation_id, step_from_request
from aco.server.replies import Routed
from aco.server.upstream import UpstreamError, Upstreams
from aco.store import OutcomeRecord, Store
from aco.trajectories.conversation import call_usage, task_statement
from aco.verifiers import Call, Reply

Handler = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


@dataclass
class Proxy:
    """Everything the handlers share (built once by `create_app`)."""

    config: AcoConfig
    optimizer: Optimizer
    upstreams: Upstreams
    metrics: ProxyMetrics
    admin_key: str | None
    caller: Caller

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A store call: inline for SQLite (local, sub-millisecond, writers serialised anyway), in the worker
        thread pool for a networked database (PostgreSQL) so the event loop never waits on it."""
        if self.optimizer.store.engine.dialect.name == "sqlite":
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    def require_key(self, request: Request) -> None:
        if not key_matches(self.admin_key, presented_key(request)):
            raise ApiError(401, "this endpoint needs the API key (Authorization: Bearer <key>)", "unauthorized")

    def model_config(self, name: str) -> ModelConfig:
        return next(m for m in self.config.models if m.name == name)


def _endpoint(proxy: Proxy, name: str, handler: Handler, api: str = "openai") -> Handler:
    """Errors answered in the endpoint's API shape (Anthropic's for /v1/messages, OpenAI's elsewhere)."""
    async def wrapped(request: Request) -> Response:
        try:
            response = await handler(request)
        except ApiError as exc:
            response = _error(exc, api)
        except UnknownProfileError as exc:
            response = _error(ApiError(404, str(exc), "unknown_profile"), api)
        except BudgetExceededError as exc:
            response = _error(ApiError(402, str(exc), "budget_exceeded"), api)
        except (AcoError, ValueError) as exc:
            response = _error(ApiError(422, str(exc), "invalid_request"), api)
        proxy.metrics.requests.labels(name, str(response.status_code)).inc()
        return response
    return wrapped


def _error(exc: ApiError, api: str) -> Response:
    if api == "anthropic":
        return JSONResponse(anthropic.error_body(exc.status, exc.message), status_code=exc.status)
    return exc.response()


def _decision_headers(d: RouteDecision, fallbacks: list[str], escalations: list[str] | None = None,
                      cost_usd: float | None = None) -> dict[str, str]:
    headers = {"x-aco-decision-id": d.decision_id, "x-aco-task-id": header_safe(d.task_id, 256),
               "x-aco-model": header_safe(d.model), "x-aco-p-success": f"{d.p_success:.4f}",
               "x-aco-reason": header_safe(d.reason), "x-aco-fallbacks": header_safe(",".join(fallbacks)),
               "x-aco-action": d.action, "x-aco-escalations": header_safe(",".join(escalations or []))}
    if cost_usd is not None:
        headers["x-aco-cost-usd"] = repr(float(cost_usd))
    return headers


def _decision_json(d: RouteDecision, profile: str, fallbacks: list[str]) -> dict[str, Any]:
    return {"decision_id": d.decision_id, "task_id": d.task_id, "profile": profile, "model": d.model,
            "p_success": None if d.p_success != d.p_success else d.p_success, "reason": d.reason,
            "step_kind": d.step_kind, "action": d.action, "propensity": d.propensity,
            "p_success_by_model": d.p_success_by_model, "reserved_usd": d.reserved_usd, "fallbacks": fallbacks}


def _stop_payload(d: RouteDecision, profile: str) -> dict[str, Any]:
    """A routed request the router ended without a call: an empty assistant turn, finish_reason "stop"."""
    return {"id": f"aco-stop-{d.decision_id}", "object": "chat.completion", "created": int(time.time()),
            "model": f"aco/{profile}", "choices": [{"index": 0, "message": {"role": "assistant", "content": ""},
                                                  "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


def _recorded_cost_usd(headers: httpx.Headers) -> float | None:
    """The cost an upstream reports for the whole call (the replay upstream's recorded cost), if any."""
    recorded = headers.get("x-replay-cost-usd")
    try:
        return max(float(recorded), 0.0) if recorded is not None else None
    except ValueError:
        return None


def _actual_cost_usd(proxy: Proxy, model: str, headers: httpx.Headers, usage: Usage | None,
                     reserved_usd: float) -> float:
    """The call's cost: the upstream's recorded cost if it reports one, else priced from usage, else reserved."""
    recorded = _recorded_cost_usd(headers)
    if recorded is not None:
        return recorded
    if usage is not None:
        return proxy.optimizer.config_catalog.cost_usd(model, usage)
    return reserved_usd


def _stream_cost_usd(proxy: Proxy, model: str, headers: httpx.Headers, meter: usage_of.StreamMeter) -> float:
    """A stream's cost: its usage priced (reported by the upstream, or, for a stream cut before the upstream
    reported it, the prompt estimate plus the output actually streamed); a recorded whole-call cost is used for
    a finished stream and caps a cut one."""
    cost = proxy.optimizer.config_catalog.cost_usd(model, meter.usage())
    recorded = _recorded_cost_usd(headers)
    if recorded is None:
        return cost
    return recorded if meter.finished else min(cost, recorded)


def _answer_text(payload: Any) -> str:
    """The answer's text; a reply with tool calls counts as a full answer (the verifier never rejects it)."""
    try:
        message = payload["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        return ""
    if message.get("tool_calls"):
        return json.dumps(message["tool_calls"])
    content = message.get("content")
    return content if isinstance(content, str) else ""


@dataclass
class _Attempts:
    """The calls of one routed request: each decision that called a model, the models that failed, the verdicts
    on its answers and the request's cost so far (verification calls included)."""

    decisions: list[RouteDecision]
    failed: list[str]
    cost_usd: float = 0.0
    verified: list[Verified] = field(default_factory=list)
    answers: dict[str, Routed] = field(default_factory=dict)  # each model's answer in this request

    def escalations(self) -> list[str]:
        return [d.model for d in self.decisions[:-1] if d.model not in self.failed]

    def finish(self, routed: Routed, profile: str, kept: str = "") -> Routed:
        """The reply: `routed` (the latest answer), or with `kept` the answer of that earlier model of the request
        (a multi-step router kept it), headed by its decision."""
        last = self.decisions[-1]
        if kept:
            routed = self.answers[kept]
            last = next(d for d in reversed(self.decisions) if d.model == kept)
        routed.headers.update(_decision_headers(last, self.failed, self.escalations(), self.cost_usd))
        if self.verified:
            routed.headers["x-aco-verdicts"] = header_safe(";".join(v.header() for v in self.verified), 500)
        routed.decision = {**_decision_json(last, profile, self.failed), "cost_usd": self.cost_usd,
                           "attempts": [{"decision_id": d.decision_id, "model": d.model, "action": d.action,
                                         "reason": d.reason} for d in self.decisions],
                           "verdicts": [{"decision_id": v.decision_id, "verifier": x.verifier, "p_correct": x.p_correct,
                                         "reason": x.reason, "cost_usd": x.cost_usd}
                                        for v in self.verified for x in v.verdicts]}
        return routed


async def _routed_chat(proxy: Proxy, request: Request, body: dict[str, Any], profile: str,
                       endpoint: str = "chat") -> Routed:
    """The one routed flow: a canonical request in, the canonical result (payload or stream) out."""
    live = proxy.optimizer.profile(profile)
    h = aco_headers(request)
    task_id = h.task_id or conversation_id(body)
    stream = get_bool(body, "stream")
    step, action = (h.step, "") if h.step else step_from_request(body)
    messages = body.get("messages") or []
    start = time.perf_counter()
    task = await proxy.run(proxy.optimizer.task, task_id, profile=profile, category=h.category,
                           budget_usd=h.budget_usd, text=task_statement(messages), source=h.source)
    if h.tests is not None:  # the agent's test run on the previous answer: a failure escalates this request
        await proxy.run(task.report_tests, report=h.tests)
    try:
        decision = await proxy.run(_route, task, body, step, action, endpoint)
    except BudgetExceededError:
        proxy.metrics.budget_rejections.labels(profile).inc()
        raise
    tried = _Attempts([], [])
    last_error = UpstreamError("no candidate model could be called", status=502)
    for _ in range(2 * len(live.models) + 2):
        proxy.metrics.decision_latency.observe(time.perf_counter() - start)
        if decision.action == "stop":
            tried.decisions.append(decision)
            return tried.finish(Routed(payload=_stop_payload(decision, profile)), profile)
        proxy.metrics.chosen.labels(profile, decision.model).inc()
        tried.decisions.append(decision)
        try:
            routed, escalation = await _call(proxy, task, decision, body, stream, tried, endpoint)
        except UpstreamError as exc:
            await proxy.run(task.release, decision)
            if not exc.retryable:
                raise ApiError(exc.status, str(exc), "upstream_error") from None
            proxy.metrics.fallbacks.labels(decision.model, str(exc.status)).inc()
            tried.failed.append(decision.model)
            last_error = exc
            start = time.perf_counter()
            try:
                decision = await proxy.run(_route, task, body, step, action, endpoint, list(tried.failed))
            except NoCandidateError:
                break
            continue
        if escalation is None:
            return tried.finish(routed, profile)
        if escalation.action == "stop":  # the router keeps an earlier answer of this request
            return tried.finish(routed, profile, kept=escalation.model)
        proxy.metrics.escalations.labels(decision.model).inc()
        decision = escalation
        start = time.perf_counter()
    raise ApiError(last_error.status if last_error.status >= 500 else 502,
                   f"every candidate failed; last: {last_error}", "upstream_failed")


def _route(task: TaskHandle, body: dict[str, Any], step: str, action: str, endpoint: str,
           failed: list[str] | None = None, escalate: bool = False, because: str = "") -> RouteDecision:
    """The task's next decision (the step's action for protected-path checks: the last tool calls, else the last
    message's text; the request's prompt size for cache-aware costs; the conversation as the trajectory)."""
    messages = body.get("messages") or []
    context: dict[str, Any] = {"prompt_tokens": usage_of.estimate_tokens(usage_of.prompt_chars(body))}
    if step:
        context["action"] = action or _message_text(messages[-1:], "")
    failed = failed or []
    return task.route(step, context, escalate=escalate, exclude=failed, fallback_from=failed[-1] if failed else "",
                      conversation=messages, endpoint=endpoint, because=because)


def _message_text(messages: list[Any], role: str) -> str:
    """The text of the last message (of `role`, when given); list contents keep their text parts."""
    for message in reversed(messages):
        if not isinstance(message, dict) or (role and message.get("role") != role):
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        return content if isinstance(content, str) else ""
    return ""


async def _call(proxy: Proxy, task: TaskHandle, d: RouteDecision, body: dict[str, Any], stream: bool,
                tried: _Attempts, endpoint: str) -> tuple[Routed, RouteDecision | None]:
    """Call the decision's model; book what the call cost (a stream: when it ends, however it ends). With the
    answer, the escalation a multi-step router (or the length verifier) asks for, else None."""
    cfg = proxy.model_config(d.model)
    live = proxy.optimizer.profile(task.profile)
    api = proxy.caller.providers[cfg.upstream].api
    asked = verification.request_options(live.verifiers, api, cfg.name, body) if not stream else {}
    start = time.perf_counter()
    result = await proxy.caller.call(cfg.upstream, cfg.upstream_model or d.model, d.model, {**asked, **body}, stream,
                                     d.previous_model)
    if result.stream is not None:  # a stream is on its way to the client: it is not verified
        proxy.metrics.upstream_latency.labels(d.model).observe(time.perf_counter() - start)

        async def settle(meter: usage_of.StreamMeter) -> None:
            cost_usd = _stream_cost_usd(proxy, d.model, result.headers, meter)
            await proxy.run(task.observe, d, cost_usd=cost_usd, usage=meter.usage())
            proxy.metrics.cost_usd.labels(d.model).inc(cost_usd)

        result.stream.on_end = settle
        return Routed(_replay_headers(result.headers), stream=result.stream), None
    payload = result.payload
    assert payload is not None
    proxy.metrics.upstream_latency.labels(d.model).observe(result.latency_ms / 1000.0)
    usage = usage_of.from_chat(payload.get("usage"))
    cost_usd = _actual_cost_usd(proxy, d.model, result.headers, usage, d.reserved_usd)
    text = _answer_text(payload)
    signals = verification.logprobs_signal(payload, strip="logprobs" not in body)
    await proxy.run(task.observe, d, cost_usd=cost_usd, usage=usage, response=text,
                    call=call_usage(payload, cost_usd), signals=signals)
    proxy.metrics.cost_usd.labels(d.model).inc(cost_usd)
    tried.cost_usd += cost_usd
    routed = Routed(_replay_headers(result.headers), payload=payload)
    tried.answers[d.model] = routed
    escalation = await proxy.run(task.next_step, body.get("messages") or [], endpoint)
    if escalation is not None or not live.verifiers:
        return routed, escalation
    loop = asyncio.get_running_loop()

    def call(request: Call) -> Reply:  # a verifier's call, made on the event loop from the verifying thread
        made = verification.verifier_call(proxy.caller, proxy.optimizer.config_catalog, request, price)
        return asyncio.run_coroutine_threadsafe(made, loop).result()

    def price(model: str, headers: httpx.Headers, usage: Usage | None, expected_usd: float) -> float:
        cost_usd = _actual_cost_usd(proxy, model, headers, usage, expected_usd)
        proxy.metrics.cost_usd.labels(model).inc(cost_usd)
        return cost_usd

    verified = await run_in_threadpool(task.verify, d, caller=call, conversation=body.get("messages") or [])
    if verified.verdicts:
        tried.verified.append(verified)
    tried.cost_usd += verified.cost_usd
    if verified.rejected_by is not None and live.stronger_than(d.model):
        because = f"{verified.rejected_by.verifier}: {verified.rejected_by.reason}"
        return routed, await proxy.run(_route, task, body, "", "", endpoint, None, True, because)
    return routed, None


def _replay_headers(headers: httpx.Headers) -> dict[str, str]:
    """What a replay upstream reports about its recording (cost, verdict, turn), passed on to the client."""
    return {k: v for k, v in headers.items() if k.startswith("x-replay-")}


async def _passthrough(proxy: Proxy, body: dict[str, Any], canonical: dict[str, Any], model: str, api: str
                       ) -> Response | Routed:
    """A model that is not routed: forwarded untouched when its upstream speaks the client's API (`body`),
    else translated (`canonical`) like a routed call, without a decision."""
    upstream, upstream_model = proxy.caller.target(model, api)
    proxy.metrics.passthrough.labels(model if model in proxy.optimizer.config_catalog else "other").inc()
    if proxy.caller.providers[upstream].api == api:
        return await proxy.caller.forward(upstream, {**body, "model": upstream_model}, canonical)
    try:
        result = await proxy.caller.call(upstream, upstream_model, model, canonical, get_bool(body, "stream"), "")
    except UpstreamError as exc:
        raise ApiError(exc.status, str(exc), "upstream_error") from None
    return Routed(payload=result.payload, stream=result.stream)


async def _canonical_call(proxy: Proxy, request: Request, body: dict[str, Any], canonical: dict[str, Any],
                          api: str, endpoint: str) -> Response | Routed:
    model = str(canonical["model"])
    if model.startswith("aco/"):
        return await _routed_chat(proxy, request, canonical, model.removeprefix("aco/"), endpoint)
    return await _passthrough(proxy, body, canonical, model, api)


def _handlers(proxy: Proxy) -> dict[str, Handler]:
    limit = proxy.config.server.max_body_bytes

    async def chat(request: Request) -> Response:
        body = await read_json(request, limit)
        get_str(body, "model", required=True)
        check_request(body)
        result = await _canonical_call(proxy, request, body, body, "openai", "chat")
        return result if isinstance(result, Response) else replies.chat_reply(result, body)

    async def messages(request: Request) -> Response:
        body = await read_json(request, limit)
        canonical = anthropic.request_to_chat(body)
        if request.headers.get("anthropic-beta"):  # forwarded to Anthropic upstreams only
            canonical["_anthropic_beta"] = request.headers["anthropic-beta"]
        result = await _canonical_call(proxy, request, body, canonical, "anthropic", "messages")
        return result if isinstance(result, Response) else replies.messages_reply(result)

    async def count_tokens(request: Request) -> Response:
        canonical = anthropic.request_to_chat(await read_json(request, limit), need_max_tokens=False)
        model = str(canonical["model"])  # a profile is counted on its strongest candidate
        if model.startswith("aco/"):
            model = proxy.optimizer.profile(model.removeprefix("aco/")).strongest
        return await proxy.caller.count_tokens(model, canonical)

    async def responses_(request: Request) -> Response:
        body = await read_json(request, limit)
        canonical = responses.request_to_chat(body)
        result = await _canonical_call(proxy, request, body, canonical, "responses", "responses")
        return result if isinstance(result, Response) else replies.responses_reply(result, body)

    async def models(_: Request) -> Response:
        return JSONResponse(proxy.caller.model_list())

    async def route(request: Request) -> Response:
        body = await read_json(request, limit)
        profile = get_str(body, "profile", default=proxy.optimizer.default_profile()).removeprefix("aco/")
        budget = get_float(body, "budget_usd")
        task = await proxy.run(
            proxy.optimizer.task, get_str(body, "task_id") or uuid.uuid4().hex, profile=profile,
            category=get_str(body, "category"), budget_usd=budget, text=get_str(body, "text"))
        step = get_str(body, "step")
        aco_step = aco_headers(request).step or step
        check_step(aco_step, "step")
        d = await proxy.run(task.route, aco_step, escalate=get_bool(body, "escalate"), reserve=False,
                            endpoint="route")
        proxy.metrics.chosen.labels(profile, d.model).inc()
        return JSONResponse(_decision_json(d, profile, []), headers=_decision_headers(d, []))

    async def outcomes(request: Request) -> Response:
        proxy.require_key(request)
        body = await read_json(request, limit)
        rec = await proxy.run(_outcome_record, proxy, body)
        await proxy.run(proxy.optimizer.record_outcome, rec)
        proxy.metrics.outcomes.labels(rec.model, str(rec.success).lower()).inc()
        return JSONResponse({"status": "recorded", "task_id": rec.task_id, "model": rec.model}, status_code=201)

    async def decision(request: Request) -> Response:
        proxy.require_key(request)
        decision_id = str(request.path_params["decision_id"])
        rec = await proxy.run(proxy.optimizer.store.get_decision, decision_id)
        if rec is None:
            raise ApiError(404, "no such decision", "not_found")
        verdicts = await proxy.run(proxy.optimizer.store.verdicts, decision_id=decision_id)
        return JSONResponse({**asdict(rec), "candidates": list(rec.candidates),
                             "verdicts": [{"verifier": v.verifier, "p_correct": v.p_correct, "reason": v.reason,
                                           "signals": v.signals, "cost_usd": v.cost_usd} for v in verdicts]})

    async def metrics(_: Request) -> Response:
        return Response(proxy.metrics.render(), media_type="text/plain; version=0.0.4")

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "profiles": sorted(proxy.optimizer.profiles)})

    return {"chat": chat, "messages": messages, "count_tokens": count_tokens, "responses": responses_,
            "models": models, "route": route, "outcomes": outcomes, "decision": decision, "metrics": metrics,
            "healthz": healthz}


def _outcome_record(proxy: Proxy, body: dict[str, Any]) -> OutcomeRecord:
    task_id = get_str(body, "task_id", required=True)
    success = get_bool(body, "success", required=True)
    decision_id = get_str(body, "decision_id") or None
    model = get_str(body, "model")
    store = proxy.optimizer.store
    if not model:
        d = store.get_decision(decision_id) if decision_id else None
        if d is None:
            past = store.decisions(task_id=task_id)
            d = past[-1] if past else None
        if d is None:
            raise ApiError(422, f"task {task_id!r} has no decision: give 'model'", "missing_field")
        model = d.chosen_model
    score = get_float(body, "score", hi=1.0)
    cost_usd = get_float(body, "cost_usd")
    if cost_usd is None:
        state = store.budget_state(task_id)
        cost_usd = state.spent_usd if state else 0.0
    verifier = get_str(body, "verifier", default="reported")
    return OutcomeRecord(task_id=task_id, model=model, score=float(success) if score is None else score,
                         success=success, cost_usd=cost_usd, decision_id=decision_id, verifier=verifier,
                         category=get_str(body, "category"))


async def _expire_reservations(proxy: Proxy) -> None:
    """At startup and then every `server.expire_every_s`: settle reservations left open by a process that died
    (older than the longest possible call, so replicas sharing the store never expire each other's calls)."""
    ttl_s = proxy.config.reservation_ttl_s()
    while True:
        await proxy.run(proxy.optimizer.store.expire_reservations, ttl_s)
        await asyncio.sleep(proxy.config.server.expire_every_s)


def create_app(config: AcoConfig, *, transport: httpx.AsyncBaseTransport | None = None, store: Store | None = None,
               on_outcome: OutcomeHook | None = None, admin_key: str | None = None,
               routers: Mapping[str, Router] | None = None) -> Starlette:
    """Build the proxy. The store defaults to `config.server.store_url`; the admin key to the environment
    variable `config.server.api_key_env`; `transport` replaces the network (tests); `routers` replace profiles'
    routers (tests)."""
    owns_store = store is None
    store = store or Store.open(config.server.store_url)
    optimizer = Optimizer(config, store, on_outcome=on_outcome, routers=routers)
    key = admin_key if admin_key is not None else os.environ.get(config.server.api_key_env)
    upstreams = Upstreams(config, transport)
    proxy = Proxy(config, optimizer, upstreams, ProxyMetrics(), key, Caller(config, upstreams))
    anthropic_api = ("messages", "count_tokens")
    handlers = {**_handlers(proxy), **dashboard.dashboard_handlers(store, key)}
    h = {name: _endpoint(proxy, name, fn, "anthropic" if name in anthropic_api else "openai")
         for name, fn in handlers.items()}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_expire_reservations(proxy))
        yield
        sweeper.cancel()
        await proxy.upstreams.aclose()
        if owns_store:
            store.close()

    app = Starlette(routes=[
        Route("/v1/chat/completions", h["chat"], methods=["POST"]),
        Route("/v1/messages", h["messages"], methods=["POST"]),
        Route("/v1/messages/count_tokens", h["count_tokens"], methods=["POST"]),
        Route("/v1/responses", h["responses"], methods=["POST"]),
        Route("/v1/models", h["models"], methods=["GET"]),
        Route("/v1/route", h["route"], methods=["POST"]),
        Route("/v1/outcomes", h["outcomes"], methods=["POST"]),
        Route("/v1/decisions/{decision_id}", h["decision"], methods=["GET"]),
        Route("/metrics", h["metrics"], methods=["GET"]),
        Route("/healthz", h["healthz"], methods=["GET"]),
        *[Route(path, h[name], methods=["GET"]) for path, name in dashboard.ROUTES],
    ], lifespan=lifespan)
    app.state.proxy = proxy
    return app
