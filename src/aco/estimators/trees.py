"""Gradient-boosted trees compiled to flat numpy arrays: exact LightGBM predictions, fast and pickle-free.

Every node of every tree is one row of the arrays; a leaf points to itself, so walking `depth` steps from
the roots lands on each tree's leaf for every row at once (vectorised over rows and trees).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TreeEnsemble:
    """Trees of several boosters; tree t adds its leaf value to output column `tree_output[t]`."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    tree_output: np.ndarray
    bias: np.ndarray
    depth: int

    def __post_init__(self) -> None:
        onehot = np.zeros((len(self.roots), len(self.bias)))
        onehot[np.arange(len(self.roots)), self.tree_output] = 1.0
        object.__setattr__(self, "_output_matrix", onehot)

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        """Summed leaf values per output (n, n_outputs): LightGBM's raw score (log-odds)."""
        X = np.asarray(X, float)
        n = X.shape[0]
        out = np.tile(self.bias, (n, 1))
        if len(self.roots) == 0:
            return out
        node = np.broadcast_to(self.roots, (n, len(self.roots)))
        rows = np.arange(n)[:, None]
        for _ in range(self.depth):
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        output_matrix: np.ndarray = getattr(self, "_output_matrix")  # noqa: B009
        return np.asarray(out + self.value[node] @ output_matrix)

    def to_state(self) -> dict[str, Any]:
        return {"feature": self.feature, "threshold": self.threshold, "left": self.left, "right": self.right,
                "value": self.value, "roots": self.roots, "tree_output": self.tree_output, "bias": self.bias,
                "depth": self.depth}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TreeEnsemble:
        ints = {k: np.asarray(state[k], dtype=np.int64) for k in ("feature", "left", "right", "roots", "tree_output")}
        out = cls(threshold=np.asarray(state["threshold"], float), value=np.asarray(state["value"], float),
                  bias=np.asarray(state["bias"], float), depth=int(state["depth"]), **ints)
        n_nodes = len(out.value)
        for key in ("left", "right", "roots"):
            arr = ints[key]
            if len(arr) and (arr.min() < 0 or arr.max() >= n_nodes):
                raise ValueError(f"tree array {key!r} points outside the {n_nodes} nodes")
        return out


class _Builder:
    def __init__(self) -> None:
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.left: list[int] = []
        self.right: list[int] = []
        self.value: list[float] = []
        self.depth = 0

    def add(self, node: dict[str, Any], level: int = 0) -> int:
        idx = len(self.value)
        self.feature.append(0)
        self.threshold.append(0.0)
        self.left.append(idx)
        self.right.append(idx)
        self.value.append(float(node.get("leaf_value", 0.0)))
        if "split_feature" in node:
            if node.get("decision_type", "<=") != "<=":
                raise ValueError("only numerical '<=' splits are supported")
            self.feature[idx] = int(node["split_feature"])
            self.threshold[idx] = float(node["threshold"])
            self.left[idx] = self.add(node["left_child"], level + 1)
            self.right[idx] = self.add(node["right_child"], level + 1)
        else:
            self.depth = max(self.depth, level)
        return idx


def compile_boosters(dumps: list[dict[str, Any] | None], constants: np.ndarray) -> TreeEnsemble:
    """One output per booster dump (`Booster.dump_model()`); a None dump is a constant raw score."""
    builder = _Builder()
    roots: list[int] = []
    outputs: list[int] = []
    bias = np.asarray(constants, float).copy()
    for j, dump in enumerate(dumps):
        if dump is None:
            continue
        bias[j] = 0.0
        for tree in dump["tree_info"]:
            roots.append(builder.add(tree["tree_structure"]))
            outputs.append(j)
    return TreeEnsemble(
        feature=np.asarray(builder.feature, dtype=np.int64), threshold=np.asarray(builder.threshold),
        left=np.asarray(builder.left, dtype=np.int64), right=np.asarray(builder.right, dtype=np.int64),
        value=np.asarray(builder.value), roots=np.asarray(roots, dtype=np.int64),
        tree_output=np.asarray(outputs, dtype=np.int64), bias=bias, depth=builder.depth,
    )
