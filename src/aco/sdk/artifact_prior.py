"""A trained router artifact (`router.aco`) as a per-task P(success) prior of a live profile.

The artifact is loaded once at startup; a decision featurises the task text once (when the task opens) and
reads the calibrated P(success) of the profile's candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aco.errors import AcoError, ArtifactError
from aco.records import ModelSpec


@dataclass(frozen=True)
class ArtifactPrior:
    """P(success) per candidate from a saved learned router (columns = the candidates' artifact indices)."""

    router: Any
    label: str  # "artifact <router name>"
    path: Path
    candidates: tuple[str, ...]
    columns: np.ndarray
    models: tuple[ModelSpec, ...]

    @classmethod
    def load(cls, path: Path, candidates: tuple[str, ...], profile: str) -> ArtifactPrior:
        """Load and check `path` (every candidate must be one of the artifact's models); warm it up once."""
        from aco.artifacts import load_router, model_specs

        where = f"profile {profile!r}: router artifact {path}"
        try:
            router, metadata = load_router(path)
        except ArtifactError as exc:
            raise ArtifactError(f"{where}: {exc}") from None
        names = [str(m["name"]) for m in metadata["models"]]
        missing = [c for c in candidates if c not in names]
        if missing:
            raise ArtifactError(f"{where}: candidates {missing} are not among the artifact's models {names}")
        if not hasattr(router, "predict"):
            raise ArtifactError(f"{where}: router {metadata['router']!r} gives no P(success) (use gbdt, knn, "
                                "logreg, mf or category-stats)")
        prior = cls(router, f"artifact {metadata['router']}", path, candidates,
                    np.array([names.index(c) for c in candidates]), model_specs(metadata))
        try:
            prior.p_success("warm-up", "")
        except (AcoError, KeyError, ValueError, TypeError) as exc:
            raise ArtifactError(f"{where}: cannot predict ({type(exc).__name__}: {exc})") from None
        return prior

    def p_success(self, text: str, category: str) -> dict[str, float]:
        """Calibrated P(success) of each candidate for one task."""
        from aco.datasets.table import TaskSet

        tasks = pd.DataFrame({"text": [text], "category": [category], "source": [""], "group": [""]},
                             index=pd.Index(["request"], name="task_id"))
        p, _ = self.router.predict(TaskSet(tasks=tasks, models=self.models))
        row = np.clip(np.asarray(p, dtype=float)[0, self.columns], 0.0, 1.0)
        return dict(zip(self.candidates, row.tolist(), strict=True))
