"""The proxy's side of the verifiers: what they ask of an answer's own call (logprobs), the logprobs read back as a
run signal, and the calls a verifier asks for (a judge's grading, more answers), made in the canonical form."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from aco.catalog import Catalog
from aco.records import Usage
from aco.server import usage as usage_of
from aco.server.calls import Caller
from aco.server.http import ApiError
from aco.server.upstream import UpstreamError
from aco.verifiers import Call, Reply, Verifier

Price = Callable[[str, httpx.Headers, Usage | None, float], float]  # (model, headers, usage, expected) -> USD


def request_options(verifiers: Iterable[Verifier], api: str, model: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """What the profile's verifiers ask of the answer's own call (logprobs), for upstreams that give it (OpenAI
    chat completions); never overriding the client's own fields."""
    if api != "openai":
        return {}
    asked: dict[str, Any] = {}
    for verifier in verifiers:
        asked.update(verifier.request_options(model))
    return {k: v for k, v in asked.items() if k not in body}


def logprobs_signal(payload: dict[str, Any], strip: bool) -> dict[str, Any]:
    """The answer's token logprobs as a run signal (removed from the client's reply when it did not ask)."""
    try:
        choice = payload["choices"][0]
    except (KeyError, IndexError, TypeError):
        return {}
    logprobs = choice.pop("logprobs", None) if strip else choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    return {"logprobs": content} if content else {}


async def verifier_call(caller: Caller, catalog: Catalog, request: Call, price: Price) -> Reply:
    """One call a verifier asked for, priced by `price` (its recorded cost, else its usage, else the estimate); an
    upstream error is an error reply, never an exception."""
    if request.model not in catalog:
        return Reply(request.model, error=f"model {request.model!r} is not configured")
    upstream, upstream_model = caller.target(request.model, "openai")
    body: dict[str, Any] = {"model": request.model, "messages": [dict(m) for m in request.messages],
                            **dict(request.options), **({"n": request.n} if request.n > 1 else {})}
    try:
        result = await caller.call(upstream, upstream_model, request.model, body, False, "")
    except (UpstreamError, ApiError) as exc:
        return Reply(request.model, error=str(exc)[:300])
    payload = result.payload or {}
    texts = tuple(str((c.get("message") or {}).get("content") or "") for c in payload.get("choices") or []
                  if isinstance(c, dict))
    usage = usage_of.from_chat(payload.get("usage"))
    expected_usd = catalog.get(request.model).expected_cost_usd() * request.n
    return Reply(request.model, texts, price(request.model, result.headers, usage, expected_usd))
