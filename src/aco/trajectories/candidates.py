"""Candidate value heads for turn K, by feature family (each fixed a priori; `select_head` picks by inner CV).

Families, cumulative in this order: "base" (the original candidates), "localisation", "reproduction",
"semantics" (thoughts/actions/observations TF-IDF apart, char n-grams, tokens per turn) and "pooled" (extra
training rows from other models' trajectories, see `PooledHead`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aco.trajectories.features import TASK_FEATURES, TRAJECTORY_FEATURES
from aco.trajectories.grounding import GROUNDING_FEATURES
from aco.trajectories.value_head import ValueHead

FAMILIES = ("base", "localisation", "reproduction", "semantics", "pooled")
LOCALISATION = tuple(f for f in GROUNDING_FEATURES if f.startswith("loc_"))
REPRODUCTION = tuple(f for f in GROUNDING_FEATURES if f.startswith("repro_"))
TOKENS = tuple(f for f in GROUNDING_FEATURES if "_tokens_turn" in f)
SOURCE = "source"
TARGET_SOURCE = "target"


@dataclass
class PooledHead(ValueHead):
    """A `ValueHead` trained on the given rows plus other models' rows (`extra_frame`, labels `extra_y`).

    An extra row is used only when its task (`extra_frame.index`) is among the training rows or is not a
    `target_ids` task at all, so no held-out task's row from any model ever reaches training. The `source`
    categorical column tells the rows apart; predictions are for source "target".
    """

    extra_frame: pd.DataFrame | None = field(default=None, repr=False)
    extra_y: np.ndarray | None = field(default=None, repr=False)
    target_ids: Collection[str] = field(default=frozenset(), repr=False)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> PooledHead:
        """Fit on `frame` plus the allowed extra rows."""
        if self.extra_frame is None or self.extra_y is None:
            super().fit(self._tag(frame), y)
            return self
        train_ids = set(frame.index)
        targets = set(self.target_ids)
        keep = np.array([t in train_ids or t not in targets for t in self.extra_frame.index], dtype=bool)
        rows = pd.concat([self._tag(frame), self.extra_frame[keep]])
        super().fit(rows, np.concatenate([np.asarray(y, dtype=int), np.asarray(self.extra_y, dtype=int)[keep]]))
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """(n,) P(success) of the target model's rows."""
        return super().predict(self._tag(frame))

    @staticmethod
    def _tag(frame: pd.DataFrame) -> pd.DataFrame:
        if SOURCE in frame.columns:
            return frame
        return frame.assign(**{SOURCE: TARGET_SOURCE})


def base_heads(k: int, seed: int = 0) -> list[ValueHead]:
    """The original candidates: logistic and LightGBM on turn features, TF-IDF of turns, and both."""
    numeric = list(TASK_FEATURES) + (list(TRAJECTORY_FEATURES) if k > 0 else [])
    heads = [ValueHead(numeric=numeric, categorical=("repo",), extra_text=("turns_text",) if k > 0 else (),
                       seed=seed, label="logistic-features+text"),
             ValueHead(numeric=numeric, kind="lightgbm", seed=seed, label="lightgbm-features")]
    if k > 0:
        heads += [ValueHead(numeric=(), use_text=True, task_text=False, extra_text=("turns_full_text",), c=c,
                            seed=seed, label=f"bow-turns-C{c:g}") for c in (1.0, 10.0)]
        heads.append(ValueHead(numeric=numeric, use_text=True, task_text=False, extra_text=("turns_full_text",),
                               c=1.0, seed=seed, label="bow-turns+features-C1"))
    return heads


def _feature_heads(numeric: list[str], tag: str, seed: int) -> list[ValueHead]:
    """Logistic (numbers only, and with TF-IDF of all turns) and LightGBM on `numeric`."""
    return [ValueHead(numeric=numeric, use_text=False, seed=seed, label=f"logistic-{tag}"),
            ValueHead(numeric=numeric, kind="lightgbm", seed=seed, label=f"lightgbm-{tag}"),
            ValueHead(numeric=numeric, use_text=True, task_text=False, extra_text=("turns_full_text",), c=1.0,
                      seed=seed, label=f"bow-turns+{tag}-C1")]


def family_heads(family: str, k: int, seed: int = 0) -> list[ValueHead]:
    """The candidates one family adds at turn k (none at k = 0 except "base")."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    if family == "base":
        return base_heads(k, seed)
    if k == 0:
        return []
    numeric = list(TASK_FEATURES) + list(TRAJECTORY_FEATURES)
    if family == "localisation":
        return _feature_heads(numeric + list(LOCALISATION), "loc", seed)
    if family == "reproduction":
        return _feature_heads(numeric + list(LOCALISATION) + list(REPRODUCTION), "loc+repro", seed)
    if family == "semantics":
        return [ValueHead(numeric=numeric + list(TOKENS), use_text=True, task_text=False,
                          extra_text=("thoughts_text", "actions_text", "obs_text"), c=c, seed=seed,
                          label=f"tfidf-apart+tokens-C{c:g}") for c in (1.0, 10.0)] + [
                ValueHead(numeric=(), use_text=True, task_text=False, char_text=("thoughts_text", "actions_text"),
                          c=c, seed=seed, label=f"char-ngrams-C{c:g}") for c in (1.0, 10.0)]
    return []


def candidates_upto(family: str, k: int, seed: int = 0) -> list[ValueHead]:
    """Every candidate of the families up to and including `family` (cumulative, in `FAMILIES` order)."""
    upto = FAMILIES[:FAMILIES.index(family) + 1]
    return [h for f in upto for h in family_heads(f, k, seed)]


def pooled_versions(heads: list[ValueHead], extra_frame: pd.DataFrame, extra_y: np.ndarray,
                    target_ids: Collection[str]) -> list[ValueHead]:
    """Each logistic head again as a `PooledHead` with the `source` indicator (LightGBM heads are skipped)."""
    out: list[ValueHead] = []
    for h in heads:
        if h.kind != "logistic":
            continue
        out.append(PooledHead(numeric=h.numeric, categorical=(*h.categorical, SOURCE), use_text=h.use_text,
                              extra_text=h.extra_text, seed=h.seed, c=h.c, label=f"pooled-{h.label}",
                              task_text=h.task_text, char_text=h.char_text, extra_frame=extra_frame,
                              extra_y=extra_y, target_ids=target_ids))
    return out
