"""Sentence embeddings of the task text, behind the optional extra `embeddings` (sentence-transformers).

The import is lazy: the default install never pulls torch. Without the extra, `fit` raises a ConfigError
that says how to install it.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from aco.errors import ConfigError
from aco.features.base import State, task_column


class SentenceEmbeddings:
    """Mean-pooled sentence-transformers embeddings (L2-normalised) of the task text."""

    kind = "embeddings"

    def __init__(self, model_name: str = "sentence-transformers/all-MiniLM-L6-v2", batch_size: int = 64) -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self._encoder: Any = None
        self.dim_: int | None = None

    def _load(self) -> Any:
        if self._encoder is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ConfigError("sentence embeddings need the optional extra: pip install 'aco[embeddings]'"
                                  ) from None
            self._encoder = SentenceTransformer(self.model_name, device="cpu")
        return self._encoder

    def fit(self, tasks: pd.DataFrame) -> Self:
        self.dim_ = int(self._load().get_sentence_embedding_dimension())
        return self

    def transform(self, tasks: pd.DataFrame) -> np.ndarray:
        texts = task_column(tasks, "text").tolist()
        vectors = self._load().encode(texts, batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float64)

    def names(self) -> list[str]:
        return [f"emb_{i}" for i in range(self.dim_ or 0)]

    def to_state(self) -> State:
        return {"model_name": self.model_name, "batch_size": self.batch_size, "dim": self.dim_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SentenceEmbeddings:
        out = cls(str(state["model_name"]), int(state["batch_size"]))
        out.dim_ = None if state.get("dim") is None else int(state["dim"])
        return out
