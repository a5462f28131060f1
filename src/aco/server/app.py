"""The OpenAI-compatible routing proxy as an ASGI app factory (Starlette; no globals, no import-time effects).

`POST /v1/chat/completions` with `model="aco/<profile>"` routes (with fallback along the profile's chain and
escalation when the verifier rejects an answer); any other model name passes straight through.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from aco.config import AcoConfig
from aco.errors import AcoError
from aco.records import Usage
from aco.sdk import BudgetExceededError, NoCandidateError, Optimizer, OutcomeHook, RouteDecision, TaskHandle
from aco.sdk.optimizer import UnknownProfileError
from aco.sdk.policy import Prior
from aco.server.auth import key_matches, presented_key
from aco.server.dashboard import views as dashboard
from aco.server.http import ApiError, aco_headers, check_step, get_bool, get_float, get_str, header_safe, read_json
from aco.server.metrics import ProxyMetrics
from aco.server.upstream import UpstreamError, Upstreams
from aco.store import OutcomeRecord, Store

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

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A store call: inline for SQLite (local, sub-millisecond, writers serialised anyway), in the worker
        thread pool for a networked database (PostgreSQL) so the event loop never waits on it."""
        if self.optimizer.store.engine.dialect.name == "sqlite":
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    def require_key(self, request: Request) -> None:
        if not key_matches(self.admin_key, presented_key(request)):
            raise ApiError(401, "this endpoint needs the API key (Authorization: Bearer <key>)", "unauthorized")


def _endpoint(proxy: Proxy, name: str, handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except UnknownProfileError as exc:
            response = ApiError(404, str(exc), "unknown_profile").response()
        except BudgetExceededError as exc:
            response = ApiError(402, str(exc), "budget_exceeded").response()
        except (AcoError, ValueError) as exc:
            response = ApiError(422, str(exc), "invalid_request").response()
        proxy.metrics.requests.labels(name, str(response.status_code)).inc()
        return response
    return wrapped


def _decision_headers(d: RouteDecision, fallbacks: list[str]) -> dict[str, str]:
    return {"x-aco-decision-id": d.decision_id, "x-aco-task-id": header_safe(d.task_id, 256),
            "x-aco-model": header_safe(d.model), "x-aco-p-success": f"{d.p_success:.4f}",
            "x-aco-reason": header_safe(d.reason), "x-aco-fallbacks": header_safe(",".join(fallbacks))}


def _decision_json(d: RouteDecision, profile: str, fallbacks: list[str]) -> dict[str, Any]:
    return {"decision_id": d.decision_id, "task_id": d.task_id, "profile": profile, "model": d.model,
            "p_success": d.p_success, "reason": d.reason, "step_kind": d.step_kind,
            "p_success_by_model": d.p_success_by_model, "reserved_usd": d.reserved_usd, "fallbacks": fallbacks}


def _usage(payload: Any) -> Usage | None:
    """Token usage of an OpenAI-style reply, when it reports any."""
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int) and usage.get("total_tokens"):
        raw = usage.get("completion_tokens")
        return Usage(input_tokens=max(usage["prompt_tokens"], 0), output_tokens=raw if isinstance(raw, int) else 0)
    return None


def _actual_cost_usd(proxy: Proxy, model: str, headers: httpx.Headers, usage: Usage | None,
                     reserved_usd: float) -> float:
    """The call's cost: the upstream's recorded cost if it reports one, else priced from usage, else reserved."""
    recorded = headers.get("x-replay-cost-usd")
    if recorded is not None:
        try:
            return max(float(recorded), 0.0)
        except ValueError:
            pass
    if usage is not None:
        return proxy.optimizer.config_catalog.cost_usd(model, usage.input_tokens, usage.output_tokens)
    return reserved_usd


def _answer_text(payload: Any) -> str:
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return ""
    return content if isinstance(content, str) else ""


async def _routed_chat(proxy: Proxy, request: Request, body: dict[str, Any], profile: str) -> Response:
    policy = proxy.optimizer.policy(profile)
    h = aco_headers(request)
    task_id = h.task_id or uuid.uuid4().hex
    stream = get_bool(body, "stream")
    failed: list[str] = []
    escalate = False
    last_error = UpstreamError("no candidate model could be called", status=502)
    for _ in range(2 * len(policy.models) + 1):
        start = time.perf_counter()
        try:
            task, decision = await proxy.run(
                _open_and_route, proxy.optimizer, task_id, profile, h.category, h.budget_usd, h.step, escalate,
                list(failed), body)
        except BudgetExceededError:
            proxy.metrics.budget_rejections.labels(profile).inc()
            raise
        except NoCandidateError:
            break
        proxy.metrics.decision_latency.observe(time.perf_counter() - start)
        proxy.metrics.chosen.labels(profile, decision.model).inc()
        escalate = False
        try:
            reply = await _call(proxy, task, decision, body, stream, profile, failed)
        except UpstreamError as exc:
            await proxy.run(proxy.optimizer.store.settle_decision, decision.decision_id, 0.0, status="failed")
            if not exc.retryable:
                return Response(exc.body or json.dumps({"error": {"message": str(exc)}}).encode(),
                                status_code=exc.status, media_type="application/json")
            proxy.metrics.fallbacks.labels(decision.model, str(exc.status)).inc()
            failed.append(decision.model)
            last_error = exc
            continue
        if reply is None:  # the verifier rejected the answer: escalate
            proxy.metrics.escalations.labels(decision.model).inc()
            escalate = True
            continue
        return reply
    raise ApiError(last_error.status if last_error.status >= 500 else 502,
                   f"every candidate failed; last: {last_error}", "upstream_failed")


def _open_and_route(optimizer: Optimizer, task_id: str, profile: str, category: str, budget_usd: float | None,
                    step: str, escalate: bool, failed: list[str], body: dict[str, Any]
                    ) -> tuple[TaskHandle, RouteDecision]:
    """One worker-thread hop: get (or open) the task (its text: the last user message) and route its next
    call (the last message's text is the step's action, for protected-path checks)."""
    messages = body.get("messages") or []
    task = optimizer.task(task_id, profile=profile, category=category, budget_usd=budget_usd,
                          text=_message_text(messages, "user"))
    context = {"action": _message_text(messages[-1:], "")} if step else None
    return task, task.route(step, context, escalate=escalate, exclude=failed,
                            fallback_from=failed[-1] if failed else "")


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
                profile: str, failed: list[str]) -> Response | None:
    model = proxy.optimizer.config_catalog.get(d.model)
    cfg = next(m for m in proxy.config.models if m.name == d.model)
    upstream_body = {**body, "model": cfg.upstream_model or d.model}
    headers = _decision_headers(d, failed)
    start = time.perf_counter()
    if stream:
        opened = await proxy.upstreams.stream(model.upstream, upstream_body)
        cost_usd = _actual_cost_usd(proxy, d.model, opened.response.headers, None, d.reserved_usd)
        await proxy.run(task.observe, d, cost_usd=cost_usd)
        proxy.metrics.cost_usd.labels(d.model).inc(cost_usd)
        proxy.metrics.upstream_latency.labels(d.model).observe(time.perf_counter() - start)
        return StreamingResponse(opened.iter_bytes(), media_type="text/event-stream", headers=headers)
    reply = await proxy.upstreams.chat(model.upstream, upstream_body)
    proxy.metrics.upstream_latency.labels(d.model).observe(reply.latency_ms / 1000.0)
    try:
        payload = json.loads(reply.body)
    except ValueError:
        raise UpstreamError(f"upstream of {d.model!r} sent invalid JSON", status=502) from None
    usage = _usage(payload)
    cost_usd = _actual_cost_usd(proxy, d.model, reply.headers, usage, d.reserved_usd)
    await proxy.run(task.observe, d, cost_usd=cost_usd, usage=usage)
    proxy.metrics.cost_usd.labels(d.model).inc(cost_usd)
    min_chars = proxy.optimizer.policy(profile).profile.verify_min_chars
    if min_chars and len(_answer_text(payload).strip()) < min_chars and d.model != task_strongest(proxy, task):
        return None
    if isinstance(payload, dict):
        payload["aco"] = _decision_json(d, profile, failed)
    for name in ("x-replay-cost-usd", "x-replay-correct", "x-replay-sample-id"):
        if name in reply.headers:
            headers[name] = reply.headers[name]
    return JSONResponse(payload, headers=headers)


def task_strongest(proxy: Proxy, task: TaskHandle) -> str:
    """The last model of the task's allowed chain (no escalation beyond it)."""
    return proxy.optimizer.policy(task.profile).allowed(task.category)[-1]


async def _passthrough(proxy: Proxy, body: dict[str, Any], model: str) -> Response:
    catalog = proxy.optimizer.config_catalog
    upstream = catalog.get(model).upstream if model in catalog else proxy.config.upstreams[0].name
    proxy.metrics.passthrough.labels(model if model in catalog else "other").inc()
    try:
        if get_bool(body, "stream"):
            opened = await proxy.upstreams.stream(upstream, body)
            return StreamingResponse(opened.iter_bytes(), media_type="text/event-stream")
        reply = await proxy.upstreams.chat(upstream, body)
    except UpstreamError as exc:
        return Response(exc.body or json.dumps({"error": {"message": str(exc)}}).encode(), status_code=exc.status,
                        media_type="application/json")
    return Response(reply.body, status_code=reply.status, media_type="application/json")


def _handlers(proxy: Proxy) -> dict[str, Handler]:
    limit = proxy.config.server.max_body_bytes

    async def chat(request: Request) -> Response:
        body = await read_json(request, limit)
        model = get_str(body, "model", required=True)
        if not isinstance(body.get("messages"), list):
            raise ApiError(422, "field 'messages' must be a list of {role, content}", "bad_field")
        if model.startswith("aco/"):
            return await _routed_chat(proxy, request, body, model.removeprefix("aco/"))
        return await _passthrough(proxy, body, model)

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
        d = await proxy.run(task.route, aco_step, escalate=get_bool(body, "escalate"), reserve=False)
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
        rec = await proxy.run(proxy.optimizer.store.get_decision, str(request.path_params["decision_id"]))
        if rec is None:
            raise ApiError(404, "no such decision", "not_found")
        return JSONResponse({**{f: getattr(rec, f) for f in rec.__dataclass_fields__},
                             "candidates": list(rec.candidates)})

    async def metrics(_: Request) -> Response:
        return Response(proxy.metrics.render(), media_type="text/plain; version=0.0.4")

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "profiles": sorted(proxy.optimizer.policies)})

    return {"chat": chat, "route": route, "outcomes": outcomes, "decision": decision, "metrics": metrics,
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


def create_app(config: AcoConfig, *, transport: httpx.AsyncBaseTransport | None = None, store: Store | None = None,
               on_outcome: OutcomeHook | None = None, admin_key: str | None = None,
               priors: dict[str, Prior] | None = None) -> Starlette:
    """Build the proxy. The store defaults to `config.server.store_url`; the admin key to the environment
    variable `config.server.api_key_env`; `transport` replaces the network (tests)."""
    owns_store = store is None
    store = store or Store.open(config.server.store_url)
    optimizer = Optimizer(config, store, on_outcome=on_outcome, priors=priors)
    key = admin_key if admin_key is not None else os.environ.get(config.server.api_key_env)
    proxy = Proxy(config, optimizer, Upstreams(config, transport), ProxyMetrics(), key)
    handlers = {**_handlers(proxy), **dashboard.dashboard_handlers(store, key)}
    h = {name: _endpoint(proxy, name, fn) for name, fn in handlers.items()}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await proxy.upstreams.aclose()
        if owns_store:
            store.close()

    app = Starlette(routes=[
        Route("/v1/chat/completions", h["chat"], methods=["POST"]),
        Route("/v1/route", h["route"], methods=["POST"]),
        Route("/v1/outcomes", h["outcomes"], methods=["POST"]),
        Route("/v1/decisions/{decision_id}", h["decision"], methods=["GET"]),
        Route("/metrics", h["metrics"], methods=["GET"]),
        Route("/healthz", h["healthz"], methods=["GET"]),
        *[Route(path, h[name], methods=["GET"]) for path, name in dashboard.ROUTES],
    ], lifespan=lifespan)
    app.state.proxy = proxy
    return app
