"""Request parsing for the proxy: size limit, JSON body, typed fields and `x-aco-*` headers; errors are 4xx."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from aco.records import STEP_KINDS
from aco.verifiers.tests import TestReport, parse_tests

MAX_ID_CHARS = 256


class ApiError(Exception):
    """An error answered to the client as OpenAI-style JSON with its HTTP status."""

    def __init__(self, status: int, message: str, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def response(self) -> JSONResponse:
        kind = "invalid_request_error" if self.status < 500 else "upstream_error"
        return JSONResponse({"error": {"message": self.message, "type": kind, "code": self.code}},
                            status_code=self.status)


async def read_json(request: Request, max_body_bytes: int) -> dict[str, Any]:
    """The request's JSON object, refusing bodies over `max_body_bytes` (413) and malformed JSON (400)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "content-length is not a number", "bad_header")
        if int(declared) > max_body_bytes:
            raise ApiError(413, f"request body over the {max_body_bytes}-byte limit", "too_large")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body_bytes:
            raise ApiError(413, f"request body over the {max_body_bytes}-byte limit", "too_large")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise ApiError(400, "request body is not valid JSON", "invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object", "invalid_json")
    return body


def _identifier(value: str, field: str) -> str:
    if len(value) > MAX_ID_CHARS or not value.isprintable():
        raise ApiError(400, f"{field} must be printable and at most {MAX_ID_CHARS} characters", "bad_field")
    return value


def get_str(body: dict[str, Any], field: str, *, required: bool = False, default: str = "") -> str:
    value = body.get(field)
    if value is None:
        if required:
            raise ApiError(422, f"missing field {field!r}", "missing_field")
        return default
    if not isinstance(value, str):
        raise ApiError(422, f"field {field!r} must be a string", "bad_field")
    return _identifier(value, field)


def get_bool(body: dict[str, Any], field: str, *, required: bool = False, default: bool = False) -> bool:
    value = body.get(field)
    if value is None:
        if required:
            raise ApiError(422, f"missing field {field!r}", "missing_field")
        return default
    if not isinstance(value, bool):
        raise ApiError(422, f"field {field!r} must be true or false", "bad_field")
    return value


def get_float(body: dict[str, Any], field: str, *, lo: float = 0.0, hi: float = math.inf) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= float(value) <= hi:
        raise ApiError(422, f"field {field!r} must be a number in [{lo}, {hi}]", "bad_field")
    return float(value)


def parse_budget(text: str, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ApiError(400, f"{field} must be a number of USD, got {text[:40]!r}", "bad_header") from None
    if not math.isfinite(value) or value < 0:
        raise ApiError(400, f"{field} must be a finite number >= 0", "bad_header")
    return value


def check_step(step: str, field: str) -> str:
    if step and step not in STEP_KINDS:
        raise ApiError(400, f"{field} must be one of {list(STEP_KINDS)}, got {step[:40]!r}", "bad_header")
    return step


@dataclass(frozen=True)
class AcoHeaders:
    """The `x-aco-*` request headers."""

    task_id: str
    step: str
    category: str
    budget_usd: float | None
    source: str = ""  # the task's source (benchmark, repository, ...): a feature of some routers
    tests: TestReport | None = None  # the agent's test run on the task's latest answer


def _tests(text: str | None) -> TestReport | None:
    if text is None:
        return None
    try:
        return parse_tests(text[:200])
    except ValueError as exc:
        raise ApiError(400, f"x-aco-tests: {exc}", "bad_header") from None


def aco_headers(request: Request) -> AcoHeaders:
    h = request.headers
    budget = h.get("x-aco-budget-usd")
    return AcoHeaders(
        task_id=_identifier(h.get("x-aco-task-id", ""), "x-aco-task-id"),
        step=check_step(h.get("x-aco-step", ""), "x-aco-step"),
        category=_identifier(h.get("x-aco-category", ""), "x-aco-category"),
        budget_usd=parse_budget(budget, "x-aco-budget-usd") if budget is not None else None,
        source=_identifier(h.get("x-aco-source", ""), "x-aco-source"), tests=_tests(h.get("x-aco-tests")))


def header_safe(text: str, limit: int = 200) -> str:
    """ASCII-only, single-line text for a response header."""
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)[:limit]
