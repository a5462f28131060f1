"""The dashboard's handlers: the page and its assets (shipped in the package, no CDN) and two JSON endpoints.

Every route needs the API key; a browser presents it through HTTP Basic (the 401 asks for it), so the page's
own requests carry it too. The page is static: all data arrives as JSON and is put in the page as text
(never as HTML), and a Content-Security-Policy allows only the page's own scripts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aco.server.auth import key_matches, presented_key
from aco.server.dashboard.summary import SummaryCache, decisions
from aco.server.http import MAX_ID_CHARS, ApiError
from aco.store import Store
from aco.store.aggregates import DecisionFilter

Handler = Callable[[Request], Awaitable[Response]]

# (path, handler name): create_app mounts these
ROUTES = (("/dashboard", "dashboard"), ("/dashboard/assets/{name}", "dashboard_asset"),
          ("/dashboard/api/summary", "dashboard_summary"), ("/dashboard/api/decisions", "dashboard_decisions"))
MAX_PER_PAGE = 200
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8"}
_SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-store",
}


def _asset(package: str, name: str) -> str:
    return resources.files(package).joinpath("assets", name).read_text(encoding="utf-8")


def load_assets() -> dict[str, str]:
    """The page and its scripts and styles, read once from the package."""
    return {"dashboard.html": _asset("aco.server.dashboard", "dashboard.html"),
            "dashboard.js": _asset("aco.server.dashboard", "dashboard.js"),
            "dashboard.css": _asset("aco.server.dashboard", "dashboard.css"),
            "charts.js": _asset("aco.report", "charts.js"),
            "charts.css": _asset("aco.report", "charts.css")}


def _unauthorized() -> Response:
    response = ApiError(401, "the dashboard needs the API key (Authorization: Bearer <key>, or HTTP Basic with "
                             "the key as password)", "unauthorized").response()
    response.headers["www-authenticate"] = 'Basic realm="aco dashboard", charset="UTF-8"'
    return response


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ApiError(422, f"query parameter {name!r} must be an integer in [{lo}, {hi}], got {raw[:40]!r}",
                       "bad_parameter")
    return int(raw)


def _str_param(request: Request, name: str) -> str:
    value = request.query_params.get(name, "")
    if len(value) > MAX_ID_CHARS:
        raise ApiError(422, f"query parameter {name!r} is longer than {MAX_ID_CHARS} characters", "bad_parameter")
    return value


def _json(payload: dict[str, Any]) -> Response:
    return JSONResponse(payload, headers={"cache-control": "no-store", "x-content-type-options": "nosniff"})


def dashboard_handlers(store: Store, admin_key: str | None) -> dict[str, Handler]:
    """The handlers of `ROUTES`, reading `store` only; each answers 401 without `admin_key`."""
    assets = load_assets()
    cache = SummaryCache()

    def allowed(request: Request) -> bool:
        return key_matches(admin_key, presented_key(request))

    async def page(request: Request) -> Response:
        if not allowed(request):
            return _unauthorized()
        return Response(assets["dashboard.html"], media_type=_MEDIA[".html"], headers=_SECURITY_HEADERS)

    async def asset(request: Request) -> Response:
        if not allowed(request):
            return _unauthorized()
        name = str(request.path_params["name"])
        if name == "dashboard.html" or name not in assets:
            raise ApiError(404, f"no dashboard asset {name[:80]!r}", "not_found")
        return Response(assets[name], media_type=_MEDIA["." + name.rsplit(".", 1)[-1]],
                        headers={"cache-control": "no-cache", "x-content-type-options": "nosniff"})

    async def summary_api(request: Request) -> Response:
        if not allowed(request):
            return _unauthorized()
        return _json(await run_in_threadpool(cache.get, store))

    async def decisions_api(request: Request) -> Response:
        if not allowed(request):
            return _unauthorized()
        flt = DecisionFilter(task_prefix=_str_param(request, "task"), profile=_str_param(request, "profile"),
                             model=_str_param(request, "model"), step_kind=_str_param(request, "step"))
        page_no = _int_param(request, "page", 1, 1, 10**9)
        per_page = _int_param(request, "per_page", 50, 1, MAX_PER_PAGE)
        options = request.query_params.get("options", "") == "1"
        return _json(await run_in_threadpool(decisions, store, flt, page_no, per_page, options))

    return {"dashboard": page, "dashboard_asset": asset, "dashboard_summary": summary_api,
            "dashboard_decisions": decisions_api}
