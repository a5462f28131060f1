"""API-key check for the admin, outcome and dashboard endpoints (constant-time compare)."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.requests import Request


def presented_key(request: Request) -> str:
    """The key a request presents: `Authorization: Bearer <key>`, `x-aco-api-key`, or HTTP Basic with the key as
    the password (any user name: what a browser sends after its login prompt)."""
    header = request.headers.get("x-aco-api-key")
    if header:
        return header
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer":
        return token.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


def key_matches(expected: str | None, presented: str) -> bool:
    """True only when a key is configured and the presented one equals it (hmac.compare_digest)."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))
