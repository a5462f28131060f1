"""A fitted value head reduced to plain numbers: the predictions replay and the live proxy both use, pickle-free.

`freeze(model)` reads a fitted head pipeline and keeps only what prediction needs:
- logistic: per categorical column the output position of each known value (unknown values add nothing, rare
  ones share the "infrequent" position), the log-scaled numbers' means and scales, each text column's TF-IDF
  vocabulary and IDF weights, the coefficients and the intercept; P = sigmoid(intercept + sum of the blocks);
- lightgbm: the booster's trees compiled to arrays (`aco.estimators.trees`); P = sigmoid(raw score).
`FrozenHead.to_state()` / `from_state()` write and read it as JSON values and arrays (see `aco.artifacts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer

from aco.estimators.trees import TreeEnsemble, compile_boosters

TFIDF_KEYS = ("analyzer", "ngram_range", "lowercase", "token_pattern", "sublinear_tf", "norm", "use_idf",
              "smooth_idf", "strip_accents", "binary")


def signed_log1p(x: np.ndarray) -> np.ndarray:
    values = np.asarray(x, dtype=float)
    return np.asarray(np.sign(values) * np.log1p(np.abs(values)))


@dataclass
class Categorical:
    """One one-hot column: the block position of each known value."""

    column: str
    positions: dict[str, int]


@dataclass
class TextBlock:
    """One TF-IDF column: its fitted vectorizer (rebuilt from vocabulary and IDF weights)."""

    column: str
    vectorizer: TfidfVectorizer

    def to_state(self) -> dict[str, Any]:
        params = {k: v for k, v in self.vectorizer.get_params().items() if k in TFIDF_KEYS}
        params["ngram_range"] = list(params["ngram_range"])
        vocabulary = self.vectorizer.vocabulary_
        terms = sorted(vocabulary, key=lambda t: vocabulary[t])
        return {"column": self.column, "params": params, "terms": terms, "idf": np.asarray(self.vectorizer.idf_)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TextBlock:
        params = dict(state["params"])
        params["ngram_range"] = tuple(params["ngram_range"])
        vectorizer = TfidfVectorizer(**params)
        vectorizer.vocabulary_ = {str(t): i for i, t in enumerate(state["terms"])}
        vectorizer.idf_ = np.asarray(state["idf"], dtype=float)
        return cls(str(state["column"]), vectorizer)


@dataclass
class FrozenHead:
    """A value head's prediction as plain numbers (see the module docstring)."""

    kind: str
    numeric: list[str]
    categorical: list[Categorical] = field(default_factory=list)
    cat_width: int = 0
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.zeros(0))
    texts: list[TextBlock] = field(default_factory=list)
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    intercept: float = 0.0
    trees: TreeEnsemble | None = None

    def _numbers(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(frame[self.numeric].to_numpy(dtype=float)) if self.numeric else np.zeros((len(frame), 0))

    def raw(self, frame: pd.DataFrame) -> np.ndarray:
        """(n,) log-odds of success."""
        if self.kind == "lightgbm":
            assert self.trees is not None
            return np.asarray(self.trees.raw_score(self._numbers(frame))[:, 0])
        out = np.full(len(frame), self.intercept)
        offset = 0
        if self.categorical:
            for cat in self.categorical:
                values = frame[cat.column].tolist()
                hot = [cat.positions.get(str(v), -1) for v in values]
                out += np.array([self.coef[h] if h >= 0 else 0.0 for h in hot])
            offset = self.cat_width
        if self.numeric:
            z = (signed_log1p(self._numbers(frame)) - self.mean) / self.scale
            out += z @ self.coef[offset: offset + len(self.numeric)]
            offset += len(self.numeric)
        for block in self.texts:
            matrix = block.vectorizer.transform(frame[block.column].tolist())
            width = matrix.shape[1]
            out += np.asarray(matrix @ self.coef[offset: offset + width]).ravel()
            offset += width
        return out

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """(n,) P(success)."""
        return np.asarray(expit(self.raw(frame)))

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "numeric": list(self.numeric),
                "categorical": [{"column": c.column, "positions": c.positions} for c in self.categorical],
                "cat_width": self.cat_width, "mean": self.mean, "scale": self.scale,
                "texts": [t.to_state() for t in self.texts], "coef": self.coef, "intercept": self.intercept,
                "trees": None if self.trees is None else self.trees.to_state()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> FrozenHead:
        return cls(kind=str(state["kind"]), numeric=[str(c) for c in state["numeric"]],
                   categorical=[Categorical(str(c["column"]), {str(k): int(v) for k, v in c["positions"].items()})
                                for c in state["categorical"]],
                   cat_width=int(state["cat_width"]), mean=np.asarray(state["mean"], float),
                   scale=np.asarray(state["scale"], float), texts=[TextBlock.from_state(t) for t in state["texts"]],
                   coef=np.asarray(state["coef"], float), intercept=float(state["intercept"]),
                   trees=None if state["trees"] is None else TreeEnsemble.from_state(state["trees"]))


def _categorical(encoder: Any, columns: Sequence[str]) -> tuple[list[Categorical], int]:
    """Block position of each known value of each column of a fitted OneHotEncoder (drop=None)."""
    out, start = [], 0
    infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(columns)
    for column, categories, rare in zip(columns, encoder.categories_, infrequent, strict=True):
        rare_set = set() if rare is None else {str(v) for v in rare}
        frequent = [str(v) for v in categories if str(v) not in rare_set]
        positions = {v: start + i for i, v in enumerate(frequent)}
        positions.update({v: start + len(frequent) for v in rare_set})
        out.append(Categorical(column, positions))
        start += len(frequent) + (1 if rare_set else 0)
    return out, start


def freeze(model: Any) -> FrozenHead:
    """The frozen form of a fitted head pipeline (`features` ColumnTransformer, then `clf`)."""
    transformer, clf = model.named_steps["features"], model.named_steps["clf"]
    parts = [(name, fitted, list(cols) if isinstance(cols, list | tuple) else cols)
             for name, fitted, cols in transformer.transformers_ if name != "remainder"]
    if hasattr(clf, "booster_"):
        numeric = [str(c) for c in parts[0][2]]
        trees = compile_boosters([clf.booster_.dump_model()], np.zeros(1))
        return FrozenHead(kind="lightgbm", numeric=numeric, trees=trees)
    head = FrozenHead(kind="logistic", numeric=[], coef=np.asarray(clf.coef_, float).ravel(),
                      intercept=float(np.asarray(clf.intercept_).ravel()[0]))
    for name, fitted, cols in parts:
        if name == "cat":
            head.categorical, head.cat_width = _categorical(fitted, [str(c) for c in cols])
        elif name == "num":
            scaler = fitted.steps[-1][1]
            head.numeric, head.mean, head.scale = [str(c) for c in cols], np.asarray(scaler.mean_, float), \
                np.asarray(scaler.scale_, float)
        else:
            head.texts.append(TextBlock(str(cols), fitted))
    return head
