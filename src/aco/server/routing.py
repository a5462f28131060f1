"""The routed flow of the proxy, independent of the client's API: a canonical chat-completions body and the
parsed `x-aco-*` headers in, the upstream's answer (payload or stream) and the decisions out.

The profile's router decides through the SDK's `TaskHandle` (the same `Router.decide` that `aco bench`
replays). Upstream 5xx/429/timeouts are retried by the upstream client, then the router chooses again without
the failed model. After a non-streaming answer a multi-step router (a cascade) reads what the answer shows (its
text and cost) and may escalate within the same request; a profile's `verify_min_chars` rejects too-short
answers the same way. A router's "stop" ends the task without a call.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from aco.sdk import BudgetExceededError, NoCandidateError, RouteDecision, TaskHandle
from aco.server.http import AcoHeaders, ApiError
from aco.server.upstream import UpstreamError, UpstreamStream
from aco.trajectories.conversation import task_statement, usage_of

if TYPE_CHECKING:
    from aco.server.app import Proxy

REPLAY_HEADERS = ("x-replay-cost-usd", "x-replay-correct", "x-replay-sample-id")


@dataclass
class Routed:
    """What one routed request produced: the final decision, every decision that called an upstream (in order),
    the models that failed, the answer and what the request cost."""

    task: TaskHandle
    decision: RouteDecision
    attempts: list[RouteDecision] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    payload: dict[str, Any] | None = None
    stream: UpstreamStream | None = None
    upstream_headers: dict[str, str] = field(default_factory=dict)
    cost_usd: float = 0.0
    error: UpstreamError | None = None  # a client error (4xx) of the upstream, passed back as it is

    @property
    def stopped(self) -> bool:
        return self.decision.action == "stop"


def actual_cost_usd(proxy: Proxy, model: str, headers: httpx.Headers, payload: Any, reserved_usd: float) -> float:
    """The call's cost: the upstream's recorded cost if it reports one, else priced from usage, else reserved."""
    recorded = headers.get("x-replay-cost-usd")
    if recorded is not None:
        try:
            return max(float(recorded), 0.0)
        except ValueError:
            pass
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int) and usage.get("total_tokens"):
        raw = usage.get("completion_tokens")
        completion = raw if isinstance(raw, int) else 0
        return proxy.optimizer.config_catalog.cost_usd(model, usage["prompt_tokens"], completion)
    return reserved_usd


def answer_text(payload: Any) -> str:
    """The text of a chat completion's first choice ('' when there is none)."""
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return ""
    return content if isinstance(content, str) else ""


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


def _route(task: TaskHandle, h: AcoHeaders, messages: list[Any], **kwargs: Any) -> RouteDecision:
    """The task's next decision; the last message's text is the step's action (protected-path checks)."""
    context = {"action": _message_text(messages[-1:], "")} if h.step else None
    return task.route(h.step, context, conversation=messages, **kwargs)


async def routed_call(proxy: Proxy, body: dict[str, Any], h: AcoHeaders, profile: str) -> Routed:
    """Route one canonical chat-completions request of `profile` and call the upstream (see the module doc)."""
    live = proxy.optimizer.profile(profile)
    messages = body.get("messages") or []
    stream = bool(body.get("stream"))
    start = time.perf_counter()
    task = await proxy.run(proxy.optimizer.task, h.task_id or uuid.uuid4().hex, profile=profile,
                           category=h.category, budget_usd=h.budget_usd, text=task_statement(messages),
                           source=h.source)
    try:
        decision = await proxy.run(_route, task, h, messages)
    except BudgetExceededError:
        proxy.metrics.budget_rejections.labels(profile).inc()
        raise
    out = Routed(task=task, decision=decision)
    last_error = UpstreamError("no candidate model could be called", status=502)
    for _ in range(2 * len(live.models) + 2):
        proxy.metrics.decision_latency.observe(time.perf_counter() - start)
        if out.decision.action == "stop":
            return out
        proxy.metrics.chosen.labels(profile, out.decision.model).inc()
        out.attempts.append(out.decision)
        try:
            verdict = await _call(proxy, out, body, stream, messages)
        except UpstreamError as exc:
            await proxy.run(task.release, out.decision)
            if not exc.retryable:
                out.error = exc
                return out
            proxy.metrics.fallbacks.labels(out.decision.model, str(exc.status)).inc()
            out.failed.append(out.decision.model)
            last_error = exc
            start = time.perf_counter()
            try:
                out.decision = await proxy.run(_route, task, h, messages, exclude=list(out.failed),
                                               fallback_from=out.failed[-1])
            except NoCandidateError:
                break
            continue
        if verdict is None:
            return out
        proxy.metrics.escalations.labels(out.decision.model).inc()
        out.decision = verdict
        start = time.perf_counter()
    raise ApiError(last_error.status if last_error.status >= 500 else 502,
                   f"every candidate failed; last: {last_error}", "upstream_failed")


async def _call(proxy: Proxy, out: Routed, body: dict[str, Any], stream: bool,
                messages: list[Any]) -> RouteDecision | None:
    """Call the decided model; None when its answer stands, else the escalation the router (or the length
    verifier) asks for."""
    d, task = out.decision, out.task
    priced = proxy.optimizer.config_catalog.get(d.model)
    cfg = proxy.model_configs[d.model]
    upstream_body = {**body, "model": cfg.upstream_model or d.model}
    start = time.perf_counter()
    if stream:
        opened = await proxy.upstreams.stream(priced.upstream, upstream_body)
        cost_usd = actual_cost_usd(proxy, d.model, opened.response.headers, None, d.reserved_usd)
        await proxy.run(task.observe, d, cost_usd=cost_usd)
        proxy.metrics.cost_usd.labels(d.model).inc(cost_usd)
        proxy.metrics.upstream_latency.labels(d.model).observe(time.perf_counter() - start)
        out.stream, out.cost_usd = opened, out.cost_usd + cost_usd
        return None
    reply = await proxy.upstreams.chat(priced.upstream, upstream_body)
    proxy.metrics.upstream_latency.labels(d.model).observe(reply.latency_ms / 1000.0)
    try:
        payload = json.loads(reply.body)
    except ValueError:
        raise UpstreamError(f"upstream of {d.model!r} sent invalid JSON", status=502) from None
    cost_usd = actual_cost_usd(proxy, d.model, reply.headers, payload, d.reserved_usd)
    text = answer_text(payload)
    await proxy.run(task.observe, d, cost_usd=cost_usd, response=text, usage=usage_of(payload, cost_usd))
    proxy.metrics.cost_usd.labels(d.model).inc(cost_usd)
    out.cost_usd += cost_usd
    out.payload = payload if isinstance(payload, dict) else {"reply": payload}
    out.upstream_headers = {k: reply.headers[k] for k in REPLAY_HEADERS if k in reply.headers}
    escalation = await proxy.run(task.next_step, messages)
    if escalation is not None:
        return escalation
    live = proxy.optimizer.profile(task.profile)
    min_chars = live.config.verify_min_chars
    if min_chars and len(text.strip()) < min_chars and live.stronger_than(d.model):
        return await proxy.run(_route, task, AcoHeaders("", "", "", None), messages, escalate=True)
    return None
