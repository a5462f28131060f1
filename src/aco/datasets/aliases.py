"""Model-name aliases for cross-dataset transfer: one model under different names in two tables.

A mapping file is TOML or JSON with an `aliases` table (`"alias" = "name"`), or an aco config whose `[[models]]`
name their `upstream_model` and optional `aliases = [...]` (each maps to the model's `name`).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from aco.datasets.table import OutcomeTable
from aco.errors import DataError


def read_aliases(path: Path) -> dict[str, str]:
    """alias -> canonical model name from a mapping file or an aco config."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the alias file: {exc.strerror or exc}", path=path) from None
    try:
        raw: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {exc}", path=path) from None
    if isinstance(raw, dict) and "models" in raw:
        from aco.config import load_config

        config = load_config(path)
        return {alias: m.name for m in config.models for alias in (m.upstream_model, *m.aliases) if alias}
    table = raw.get("aliases") if isinstance(raw, dict) else None
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise DataError("expected an `aliases` table of alias = model name strings (or an aco config with "
                        "[[models]])", path=path, field="aliases")
    return dict(table)


def rename_models(table: OutcomeTable, aliases: dict[str, str]) -> OutcomeTable:
    """The table with every model known by an alias renamed to its canonical name."""
    models = tuple(replace(m, name=aliases.get(m.name, m.name)) for m in table.models)
    return replace(table, models=models)


def align_models(train: OutcomeTable, test: OutcomeTable, aliases: dict[str, str],
                 ) -> tuple[OutcomeTable, OutcomeTable]:
    """Both tables renamed through `aliases` and restricted to their common models, in the training order."""
    train, test = rename_models(train, aliases), rename_models(test, aliases)
    common = [m for m in train.model_names if m in set(test.model_names)]
    if len(common) < 2:
        raise DataError(f"--train {train.name} and --test {test.name} share {len(common)} model(s) after aliases "
                        f"(need 2): train has {train.model_names}, test has {test.model_names}", field="model")
    return train.select_models(common), test.select_models(common)
