"""Classes registered by name (routers, verifiers): a decorator registers one; the built-in modules are imported
once, on first use, so that importing a registry costs nothing."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import ClassVar, Generic, Protocol, TypeVar


class Named(Protocol):
    name: ClassVar[str]


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Name -> class for one kind of plug-in (`kind` names it in errors)."""

    def __init__(self, kind: str, builtin_modules: Sequence[str]) -> None:
        self.kind = kind
        self.builtin_modules = tuple(builtin_modules)
        self.classes: dict[str, type[T]] = {}
        self._loaded = False

    def register(self, cls: type[T]) -> type[T]:
        """Make `cls` available under `cls.name` (a second class under the same name is an error)."""
        if not cls.name:
            raise ValueError(f"{cls.__name__} has no name")
        known = self.classes.get(cls.name)
        if known is not None and known is not cls:
            raise ValueError(f"{self.kind} name {cls.name!r} is already registered by {known.__name__}")
        self.classes[cls.name] = cls
        return cls

    def available(self) -> dict[str, type[T]]:
        """Every registered class by name, the built-in ones imported first."""
        if not self._loaded:
            for module in self.builtin_modules:
                importlib.import_module(module)
            self._loaded = True
        return dict(sorted(self.classes.items()))
