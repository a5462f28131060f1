"""Options shared by several commands, and how they are resolved: the data folder, tables, `--json` output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from aco.datasets.table import OutcomeTable
from aco.settings import AcoSettings

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder of the shared datasets (default: $ACO_DATA_DIR, else ../shared/datasets).",
                 show_default=False),
]


def load_table(name: str, data_dir: Path | None) -> OutcomeTable:
    """The table a DATASET argument names (a dataset name or an outcomes file), from `--data-dir` or the settings."""
    from aco.datasets.registry import load_dataset

    return load_dataset(name, data_dir if data_dir is not None else AcoSettings().data_dir)


def json_safe(value: Any) -> Any:
    """JSON-safe values: NaN and infinities become null, numpy scalars become Python numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value


def write_json(path: Path, value: Any) -> None:
    """Write `value` as indented JSON (see `json_safe`), creating the parent folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_safe(value), indent=2, default=str))
