"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder of the shared datasets (default: $ACO_DATA_DIR, else ../shared/datasets).",
                 show_default=False),
]
