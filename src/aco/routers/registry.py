"""Routers registered by name, built from a spec string such as `always:gpt-5`, `peer:logreg`, `gbdt`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from aco.errors import UnknownRouterError
from aco.policies.objective import Objective
from aco.routers.base import Router

R = TypeVar("R", bound=type[Router])

_REGISTRY: dict[str, type[Router]] = {}
_BUILTIN_MODULES = (
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
)
_loaded = False


def register(cls: R) -> R:
    """Class decorator: make a router available under `cls.name`."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"router name {cls.name!r} is already registered by {_REGISTRY[cls.name].__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    _loaded = True


def available() -> dict[str, type[Router]]:
    """Every registered router class by name."""
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))


def make_router(spec: str, **params: Any) -> Router:
    """Build a router from `name` or `name:argument` (the argument goes to the class's `spec_arg`)."""
    _load_builtins()
    name, _, arg = spec.partition(":")
    name = name.strip()
    cls = _REGISTRY.get(name)
    if cls is None:
        raise UnknownRouterError(f"unknown router {spec!r}; available: {', '.join(sorted(_REGISTRY))}")
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
    _load_builtins()
    cls = _REGISTRY.get(spec.partition(":")[0].strip())
    if cls is not None and "value_usd" in cls._param_names():
        params.setdefault("value_usd", objective.value_usd)
    return make_router(spec, **params)


def router_label(router: Router) -> str:
    """The spec a router was built from, else its name."""
    return str(getattr(router, "spec_", router.name))


Factory = Callable[[], Router]
