"""The OpenAI-compatible routing proxy as an ASGI app factory (Starlette; no globals, no import-time effects).

`POST /v1/chat/completions` with `model="aco/<profile>"` routes (with fallback along the profile's chain and
escalation when the verifier rejects an answer); any other model name passes straight through.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
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
from aco.routers.base import Router
from aco.sdk import BudgetExceededError, Optimizer, OutcomeHook, RouteDecision
from aco.sdk.optimizer import UnknownProfileError
from aco.server.auth import key_matches, presented_key
from aco.server.http import ApiError, aco_headers, check_step, get_bool, get_float, get_str, header_safe, read_json
from aco.server.metrics import ProxyMetrics
from aco.server.routing import Routed, routed_call
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

    def __post_init__(self) -> None:
        self.model_configs = {m.name: m for m in self.config.models}

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


def _decision_headers(r: Routed) -> dict[str, str]:
    d = r.decision
    escalated = [a.model for a in r.attempts[:-1] if a.model not in r.failed]
    return {"x-aco-decision-id": d.decision_id, "x-aco-task-id": header_safe(d.task_id, 256),
            "x-aco-model": header_safe(d.model), "x-aco-p-success": f"{d.p_success:.4f}",
            "x-aco-reason": header_safe(d.reason), "x-aco-fallbacks": header_safe(",".join(r.failed)),
            "x-aco-action": d.action, "x-aco-escalations": header_safe(",".join(escalated)),
            "x-aco-cost-usd": repr(float(r.cost_usd))}


def _decision_json(d: RouteDecision, profile: str, fallbacks: list[str]) -> dict[str, Any]:
    return {"decision_id": d.decision_id, "task_id": d.task_id, "profile": profile, "model": d.model,
            "p_success": None if d.p_success != d.p_success else d.p_success, "reason": d.reason,
            "step_kind": d.step_kind, "action": d.action, "propensity": d.propensity,
            "p_success_by_model": d.p_success_by_model, "reserved_usd": d.reserved_usd, "fallbacks": fallbacks}


def _routed_json(r: Routed, profile: str) -> dict[str, Any]:
    return {**_decision_json(r.decision, profile, r.failed), "cost_usd": r.cost_usd,
            "attempts": [{"decision_id": a.decision_id, "model": a.model, "action": a.action, "reason": a.reason}
                         for a in r.attempts]}


def _stop_reply(r: Routed, profile: str) -> dict[str, Any]:
    """A routed request the router ended without a call: an empty assistant turn, finish_reason "stop"."""
    return {"id": f"aco-stop-{r.decision.decision_id}", "object": "chat.completion", "created": int(time.time()),
            "model": f"aco/{profile}", "choices": [{"index": 0, "message": {"role": "assistant", "content": ""},
                                                  "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


async def _routed_chat(proxy: Proxy, request: Request, body: dict[str, Any], profile: str) -> Response:
    """The chat-completions wrapper around `routed_call`: headers and the `aco` field of the reply."""
    r = await routed_call(proxy, body, aco_headers(request), profile)
    if r.error is not None:
        return Response(r.error.body or json.dumps({"error": {"message": str(r.error)}}).encode(),
                        status_code=r.error.status, media_type="application/json")
    headers = _decision_headers(r)
    if r.stream is not None:
        return StreamingResponse(r.stream.iter_bytes(), media_type="text/event-stream", headers=headers)
    payload = _stop_reply(r, profile) if r.stopped else dict(r.payload or {})
    payload["aco"] = _routed_json(r, profile)
    return JSONResponse(payload, headers={**headers, **r.upstream_headers})


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
        return JSONResponse(_decision_json(d, profile, []), headers=_decision_headers(Routed(task, d)))

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
        return JSONResponse({"status": "ok", "profiles": sorted(proxy.optimizer.profiles)})

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
               routers: Mapping[str, Router] | None = None) -> Starlette:
    """Build the proxy. The store defaults to `config.server.store_url`; the admin key to the environment
    variable `config.server.api_key_env`; `transport` replaces the network (tests); `routers` replace profiles'
    routers (tests)."""
    owns_store = store is None
    store = store or Store.open(config.server.store_url)
    optimizer = Optimizer(config, store, on_outcome=on_outcome, routers=routers)
    key = admin_key if admin_key is not None else os.environ.get(config.server.api_key_env)
    proxy = Proxy(config, optimizer, Upstreams(config, transport), ProxyMetrics(), key)
    h = {name: _endpoint(proxy, name, fn) for name, fn in _handlers(proxy).items()}

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
    ], lifespan=lifespan)
    app.state.proxy = proxy
    return app
