"""Fitted router state as JSON values and numpy arrays: what `aco.artifacts` writes for every registered router.

`encode` / `decode` turn plain fitted attributes (numbers, strings, arrays, lists, tuples, dicts, objectives,
nested fitted routers) into JSON-able values and back; anything else is an `ArtifactError` naming the attribute,
so a router with richer state (estimators, value heads, an online loop) writes its own `to_state` / `load_state`.
`state_of` / `load_into` save and restore any router: its own `to_state` / `load_state` where it defines them,
else its plain fitted attributes. `router_state` / `router_from_state` hold a whole fitted router inside another's
state (e.g. a prior).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from aco.errors import ArtifactError
from aco.records import ModelSpec

if TYPE_CHECKING:
    from aco.routers.base import Router

_TUPLE, _ITEMS, _ROUTER, _OBJECTIVE = "__tuple__", "__items__", "__router__", "__objective__"


def encode(value: Any, where: str = "state") -> Any:
    """A JSON-able copy of `value` (arrays stay arrays: the artifact writer moves them into arrays.npz)."""
    from aco.policies.objective import Objective
    from aco.routers.base import Router

    if isinstance(value, Objective):
        return {_OBJECTIVE: [value.value_usd, value.source]}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise ArtifactError(f"{where}: object arrays cannot be saved safely")
        return value
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Router):
        return {_ROUTER: router_state(value)}
    if isinstance(value, tuple):
        return {_TUPLE: [encode(v, where) for v in value]}
    if isinstance(value, list):
        return [encode(v, where) for v in value]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {k: encode(v, f"{where}.{k}") for k, v in value.items()}
        return {_ITEMS: [[encode(k, where), encode(v, where)] for k, v in value.items()]}
    raise ArtifactError(f"{where}: a {type(value).__name__} cannot be saved")


def decode(value: Any) -> Any:
    """The value `encode` was given (arrays come back as arrays)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {_TUPLE}:
            return tuple(decode(v) for v in value[_TUPLE])
        if set(value) == {_ITEMS}:
            return {_hashable(decode(k)): decode(v) for k, v in value[_ITEMS]}
        if set(value) == {_ROUTER}:
            return router_from_state(value[_ROUTER])
        if set(value) == {_OBJECTIVE}:
            from aco.policies.objective import Objective

            return Objective(float(value[_OBJECTIVE][0]), str(value[_OBJECTIVE][1]))
        return {k: decode(v) for k, v in value.items()}
    return value


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list | tuple) else key


def json_params(router: Router) -> dict[str, Any]:
    """The router's parameters as JSON values (a router given as a parameter is named by its spec)."""
    from aco.routers.base import Router
    from aco.routers.registry import router_label

    def plain(value: Any) -> Any:
        if isinstance(value, Router):
            return router_label(value)
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, np.generic):
            return value.item()
        return value

    return {k: plain(v) for k, v in router.get_params().items()}


def state_of(router: Router) -> dict[str, Any]:
    """A fitted router's state as JSON values and arrays: its own `to_state`, else its plain fitted attributes
    (those ending in `_`, minus the candidate models `with_models` restores and its `transient` ones)."""
    if router.uses_outcomes:
        raise ArtifactError(f"router {router.name!r} reads recorded outcomes: it is evaluation-only and cannot be "
                            "saved")
    own = getattr(router, "to_state", None)
    if own is not None:
        return dict(own())
    skip = {"models_", "model_specs_", "mean_cost_usd_", "spec_", *router.transient}
    return {k: encode(v, f"{router.name}.{k}") for k, v in vars(router).items() if k.endswith("_") and k not in skip}


def load_into(router: Router, state: Mapping[str, Any]) -> None:
    """Restore what `state_of` wrote (the candidate models are restored first, by `with_models`)."""
    own = getattr(router, "load_state", None)
    if own is not None:
        own(dict(state))
        return
    for key, value in state.items():
        setattr(router, key, decode(value))
    router.reseed()


def router_state(router: Router) -> dict[str, Any]:
    """A fitted router as one state value: its spec, parameters, candidate models and fitted state."""
    from aco.routers.registry import router_label

    return {"spec": router_label(router), "name": router.name, "params": json_params(router),
            "models": [asdict(m) for m in router.model_specs_], "mean_cost_usd": np.asarray(router.mean_cost_usd_),
            "state": state_of(router)}


def router_from_state(state: Mapping[str, Any]) -> Router:
    """The fitted router `router_state` wrote."""
    from aco.routers.registry import make_router

    fields = set(ModelSpec.__dataclass_fields__)
    specs = tuple(ModelSpec(**{k: v for k, v in m.items() if k in fields}) for m in state["models"])
    router = make_router(str(state["name"]), **dict(state["params"]))
    router.spec_ = str(state["spec"])  # type: ignore[attr-defined]
    router.with_models(specs, np.asarray(state["mean_cost_usd"], dtype=float))
    load_into(router, state["state"])
    return router
