"""Errors aco raises. Each one names what was wrong: the file, the row, the field."""

from __future__ import annotations

from pathlib import Path


class AcoError(Exception):
    """Base class of every error aco raises on purpose."""


class DataError(AcoError):
    """A data file is missing or malformed; the message names the file, line and field."""

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.field = field
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ConfigError(AcoError):
    """A configuration file or setting is invalid."""


class ArtifactError(AcoError):
    """A saved router artifact is corrupt, of another version, or does not match the data."""


class UnknownRouterError(AcoError):
    """No router is registered under the requested name."""


class UnknownModelError(AcoError, KeyError):
    """A model name that is not among the table's or the profile's candidates."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotFittedError(AcoError):
    """A router was asked to route before it was fitted."""
