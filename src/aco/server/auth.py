"""API-key check for the admin and outcome endpoints (constant-time compare)."""

from __future__ import annotations

import hmac

from starlette.requests import Request


def presented_key(request: Request) -> str:
    """The key a request presents: `Authorization: Bearer <key>` or `x-aco-api-key`."""
    header = request.headers.get("x-aco-api-key")
    if header:
        return header
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def key_matches(expected: str | None, presented: str) -> bool:
    """True only when a key is configured and the presented one equals it (hmac.compare_digest)."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))
