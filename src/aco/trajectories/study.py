"""Ablation of the value head's candidate families under the same honest nested CV as `aco trajectories`.

For each family (cumulative: base, +localisation, +reproduction, +semantics, +pooled rows) and each K, the head
is chosen per outer fold by inner 3-fold CV AUC among that family's candidates on the training rows only, then
scored out of fold: Route-AUC (escalate = the cheap run fails) with a bootstrap 95% CI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aco.evaluation import metrics
from aco.evaluation.protocol import kfold_splits
from aco.trajectories.candidates import FAMILIES, SOURCE, candidates_upto, pooled_versions
from aco.trajectories.features import feature_frame
from aco.trajectories.loader import load_trajectory_file
from aco.trajectories.pairs import GEMINI_FILE, SONNET_FILE, Pair
from aco.trajectories.value_head import ValueHead, inner_oof, pick_head

EXTRA_FILES = {"gemini": GEMINI_FILE, "sonnet": SONNET_FILE}


def extra_rows(data_dir: Path, texts: dict[str, str], k: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature rows at turn k of the other models' trajectories (index = task id, `source` = model) and
    their resolved labels."""
    frames, labels = [], []
    for source, name in EXTRA_FILES.items():
        loaded = load_trajectory_file(data_dir / "swebench-verified" / "trajectories" / name)
        ids = sorted(loaded.trajectories)
        frames.append(feature_frame(ids, loaded.trajectories, texts, k).assign(**{SOURCE: source}))
        labels.append(np.array([loaded.outcomes[t].resolved for t in ids], dtype=int))
    return pd.concat(frames), np.concatenate(labels)


def nested_oof_sets(frame: pd.DataFrame, y: np.ndarray, sets: Mapping[str, Sequence[ValueHead]], folds: int = 5,
                    seed: int = 0) -> dict[str, tuple[np.ndarray, list[str]]]:
    """`nested_oof` for several candidate sets at once: each candidate's inner CV is computed once per outer
    fold and shared by every set holding it; each set then picks by `pick_head`, `select_head`'s rule."""
    out: dict[str, tuple[np.ndarray, list[str]]] = {name: (np.full(len(y), np.nan), []) for name in sets}
    heads = {h.label: h for hs in sets.values() for h in hs}
    for split in kfold_splits(len(y), folds, seed):
        train, train_y = frame.iloc[split.train], y[split.train]
        inner = {label: inner_oof(h, train, train_y, 3, seed) for label, h in heads.items()}
        for name, hs in sets.items():
            head, _ = pick_head(hs, [inner[h.label] for h in hs], train, train_y, calibrate=True)
            out[name][0][split.test] = head.predict(frame.iloc[split.test])
            out[name][1].append(head.label)
    return out


def route_auc(p_success: np.ndarray, success: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """AUC of 1 - P(success) for "the run fails", with its bootstrap 95% CI."""
    return metrics.roc_auc_ci(1.0 - p_success, ~success.astype(bool), seed)


def family_sets(k: int, seed: int, families: Sequence[str], extra: tuple[pd.DataFrame, np.ndarray] | None,
                target_ids: frozenset[str]) -> dict[str, list[ValueHead]]:
    """Cumulative candidate set per family; "pooled" = everything up to "semantics" plus pooled versions."""
    sets: dict[str, list[ValueHead]] = {}
    for family in families:
        if family == "pooled":
            heads = candidates_upto("semantics", k, seed)
            if extra is not None and k > 0:
                heads += pooled_versions(heads, extra[0], extra[1], target_ids)
            sets[family] = heads
        else:
            sets[family] = candidates_upto(family, k, seed)
    return sets


def run_study(pair: Pair, data_dir: Path, ks: Sequence[int], families: Sequence[str] = FAMILIES,
              seed: int = 0) -> list[dict[str, Any]]:
    """Route-AUC per (family, K) on the pair's tasks with turns; one row per measurement."""
    rows = np.flatnonzero(pair.has_turns)
    ids = [pair.task_ids[i] for i in rows]
    y = pair.cheap_success[rows].astype(int)
    out: list[dict[str, Any]] = []
    for k in ks:
        frame = feature_frame(ids, pair.trajectories, pair.texts, k)
        extra = extra_rows(data_dir, pair.texts, k) if "pooled" in families and k > 0 else None
        sets = family_sets(k, seed, families, extra, frozenset(ids))
        for family, (p, chosen) in nested_oof_sets(frame, y, sets, seed=seed).items():
            auc, lo, hi = route_auc(p, pair.cheap_success[rows], seed)
            out.append({"family": family, "k": k, "route_auc": auc, "ci": [lo, hi], "chosen": chosen,
                        "n_candidates": len(sets[family])})
    return out
