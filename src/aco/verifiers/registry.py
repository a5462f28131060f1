"""Verifiers registered by name (`tests`, `entropy`, `judge`, `agreement`, `length`, `posthoc`) and built from a name
and parameters (a profile's `[[profiles.<name>.verifiers]]` entries)."""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

from aco.errors import AcoError
from aco.verifiers.base import Verifier

V = TypeVar("V", bound=type[Verifier])

_REGISTRY: dict[str, type[Verifier]] = {}
_BUILTIN_MODULES = (
    "aco.verifiers.tests",
    "aco.verifiers.entropy",
    "aco.verifiers.judge",
    "aco.verifiers.agreement",
    "aco.verifiers.length",
    "aco.verifiers.posthoc",
)


class UnknownVerifierError(AcoError):
    """A verifier name (or parameter) that is not registered."""


def register_verifier(cls: V) -> V:
    """Class decorator: make a verifier available under `cls.name`."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"verifier name {cls.name!r} is already registered by {_REGISTRY[cls.name].__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def available_verifiers() -> dict[str, type[Verifier]]:
    """Every registered verifier class by name."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    return dict(sorted(_REGISTRY.items()))


def make_verifier(name: str, **params: Any) -> Verifier:
    """A verifier by name; an unknown name or parameter is an error naming what is known."""
    known = available_verifiers()
    cls = known.get(name)
    if cls is None:
        raise UnknownVerifierError(f"unknown verifier {name!r}; available: {', '.join(known)}")
    unknown = sorted(set(params) - set(cls.param_names()))
    if unknown:
        raise UnknownVerifierError(f"verifier {name!r} takes no {unknown}; it takes {cls.param_names()}")
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise UnknownVerifierError(f"verifier {name!r}: {exc}") from None
