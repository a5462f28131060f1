"""Routers registered by name, built from a spec string such as `always:gpt-5`, `peer:logreg`, `gbdt`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aco.errors import UnknownRouterError
from aco.policies.objective import Objective
from aco.registry import Registry
from aco.routers.base import Router

R = TypeVar("R", bound=type[Router])

REGISTRY: Registry[Router] = Registry("router", (
    "aco.routers.baselines",
    "aco.routers.peers",
    "aco.routers.online",
    "aco.routers.learned",
    "aco.routers.hybrid",
    "aco.routers.cascade",
    "aco.routers.agreement",
    "aco.routers.category_beta",
    "aco.routers.escalation",
    "aco.routers.shift",
))


def register(cls: R) -> R:
    """Class decorator: make a router available under `cls.name`."""
    REGISTRY.register(cls)
    return cls


def available() -> dict[str, type[Router]]:
    """Every registered router class by name."""
    return REGISTRY.available()


def make_router(spec: str, **params: Any) -> Router:
    """Build a router from `name` or `name:argument` (the argument goes to the class's `spec_arg`)."""
    known = available()
    name, _, arg = spec.partition(":")
    name = name.strip()
    cls = known.get(name)
    if cls is None:
        raise UnknownRouterError(f"unknown router {spec!r}; available: {', '.join(known)}")
    spec_param: str | None = getattr(cls, "spec_arg", None)
    if arg:
        if spec_param is None:
            raise UnknownRouterError(f"router {name!r} takes no ':' argument (got {spec!r})")
        params = {spec_param: arg, **params}
    elif spec_param is not None and getattr(cls, "spec_arg_required", False) and not params.get(spec_param):
        raise UnknownRouterError(f"router {name!r} needs an argument: {name}:<{spec_param}>")
    router = cls(**params)
    router.spec_ = spec  # type: ignore[attr-defined]
    return router


def build_router(spec: str, objective: Objective, **params: Any) -> Router:
    """`make_router`, with `value_usd` from `objective` for every router that trades success against cost."""
    cls = available().get(spec.partition(":")[0].strip())
    if cls is not None and "value_usd" in cls._param_names():
        params.setdefault("value_usd", objective.value_usd)
    return make_router(spec, **params)


def router_label(router: Router) -> str:
    """The spec a router was built from, else its name."""
    return str(getattr(router, "spec_", router.name))


Factory = Callable[[], Router]
