"""Feature extractors by name, and rebuilding them from saved state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aco.errors import ArtifactError
from aco.features.base import ExtractorFactory, FeatureExtractor, Features, parse_spec
from aco.features.categorical import OneHot
from aco.features.embeddings import SentenceEmbeddings
from aco.features.text import HashedTextSVD, KeywordDifficulty, TextStats

DEFAULT_FEATURES = "text,stats,difficulty,category,source,language"


def factories() -> dict[str, ExtractorFactory]:
    """Every extractor name and how to build it from a seed."""
    return {
        "text": lambda seed: HashedTextSVD(seed=seed),
        "stats": lambda seed: TextStats(),
        "difficulty": lambda seed: KeywordDifficulty(),
        "category": lambda seed: OneHot("category"),
        "source": lambda seed: OneHot("source"),
        "language": lambda seed: OneHot("language"),
        "embeddings": lambda seed: SentenceEmbeddings(),
    }


def make_features(spec: str = DEFAULT_FEATURES, seed: int = 0) -> Features:
    """Features from a comma-separated spec, e.g. 'text,stats,difficulty,category,source'."""
    return parse_spec(spec, factories(), seed)


def extractor_from_state(state: Mapping[str, Any]) -> FeatureExtractor:
    """Rebuild one extractor from `Features.to_state()` output."""
    kind = str(state["kind"])
    body = dict(state)
    if kind == "text":
        return HashedTextSVD.from_state(body)
    if kind == "stats":
        return TextStats()
    if kind == "difficulty":
        return KeywordDifficulty()
    if kind == "embeddings":
        return SentenceEmbeddings.from_state(body)
    if kind in ("category", "source", "language") or "levels" in body:
        return OneHot.from_state(body)
    raise ValueError(f"unknown feature kind {kind!r}")


def features_from_state(state: Mapping[str, Any]) -> Features:
    """Rebuild `Features` from its `to_state()` output (an ArtifactError when it is malformed)."""
    try:
        return Features([extractor_from_state(s) for s in state["extractors"]])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"feature state is malformed: {exc}") from None
