"""A calibrated classifier of P(run succeeds) from numeric features and (optionally) the task text.

Used by the trajectory value head (features of the first K turns) and by the cascade's post-hoc estimator
(signals of the finished cheap run). `kind="logistic"`: logistic regression on log-scaled numbers and TF-IDF
of the text columns, its strength fixed (`c`) or chosen by inner 3-fold log-loss on the training rows;
`kind="lightgbm"`: gradient boosting on the numbers only. Optional sigmoid calibration cross-fitted on the
training rows. `select_head` picks among candidate heads by inner-CV AUC on the training rows only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from aco.evaluation import metrics
from aco.evaluation.protocol import kfold_splits
from aco.trajectories.frozen_head import FrozenHead, freeze, signed_log1p

C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def _pipeline(numeric: Sequence[str], categorical: Sequence[str], text_columns: Sequence[str], seed: int,
              c: float | None = None, char_columns: Sequence[str] = ()) -> Pipeline:
    parts: list[tuple[str, object, object]] = []
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=3), list(categorical)))
    if numeric:
        parts.append(("num", make_pipeline(FunctionTransformer(signed_log1p), StandardScaler()), list(numeric)))
    for column in text_columns:
        parts.append((f"txt_{column}", TfidfVectorizer(min_df=2, max_features=20000, sublinear_tf=True), column))
    for column in char_columns:
        parts.append((f"chr_{column}", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3,
                                                       max_features=30000, sublinear_tf=True), column))
    clf: object = (LogisticRegression(C=c, solver="liblinear", random_state=seed) if c is not None else
                   LogisticRegressionCV(Cs=C_GRID, cv=3, scoring="neg_log_loss", solver="liblinear",
                                        random_state=seed))
    return Pipeline([("features", ColumnTransformer(parts)), ("clf", clf)])


def _lightgbm(numeric: Sequence[str], seed: int) -> Pipeline:
    gbm = lgb.LGBMClassifier(n_estimators=150, learning_rate=0.03, num_leaves=7, min_child_samples=10,
                             subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=seed, verbose=-1,
                             n_jobs=1)  # tiny tables: OpenMP threads only contend (36 ms per tree on a loaded host)
    return Pipeline([("features", ColumnTransformer([("num", "passthrough", list(numeric))])), ("clf", gbm)])


@dataclass
class ValueHead:
    """P(success) from a frame with the `numeric` and `categorical` columns and, with `use_text`, the text columns.

    Text columns are `text` (the task) and any extra in `extra_text` (e.g. the turns' actions and thoughts), as
    word TF-IDF; columns in `char_text` get character 3-5-gram TF-IDF (logistic only, with `use_text`).
    `kind` is "logistic" (C fixed by `c`, or chosen by inner log-loss when None) or "lightgbm" (numbers only).
    """

    numeric: Sequence[str]
    categorical: Sequence[str] = ()
    use_text: bool = True
    extra_text: Sequence[str] = ()
    calibration_folds: int = 0
    seed: int = 0
    kind: str = "logistic"
    c: float | None = None
    label: str = ""
    task_text: bool = True
    char_text: Sequence[str] = ()
    model_: object | None = field(default=None, init=False, repr=False)
    constant_: float | None = field(default=None, init=False)
    platt_: tuple[float, float] | None = field(default=None, init=False)
    frozen_: FrozenHead | None = field(default=None, init=False, repr=False)

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> ValueHead:
        """Fit on training rows; a single-class target gives a constant prediction."""
        labels = np.asarray(y, dtype=int)
        if not self.numeric and not self.categorical and not self.use_text:
            raise ValueError("ValueHead needs numeric or categorical columns or text")
        if self.kind not in ("logistic", "lightgbm"):
            raise ValueError(f"ValueHead kind must be 'logistic' or 'lightgbm', got {self.kind!r}")
        counts = np.bincount(labels, minlength=2)
        if counts.min() < max(self.calibration_folds, 3):
            self.constant_ = float(labels.mean()) if len(labels) else 0.5
            return self
        names = ("text", *self.extra_text) if self.task_text else tuple(self.extra_text)
        columns = [c for c in names if self.use_text and self.kind == "logistic"
                   and c in frame.columns and bool(frame[c].astype(str).str.strip().any())]
        chars = [c for c in self.char_text if self.use_text and self.kind == "logistic"
                 and c in frame.columns and bool(frame[c].astype(str).str.strip().any())]
        try:
            self.model_ = self._fit_model(frame, labels, columns, chars)
        except ValueError as exc:  # e.g. an empty vocabulary on a tiny slice: fall back to the numbers
            if not (columns or chars) or "vocabulary" not in str(exc):
                raise
            self.model_ = self._fit_model(frame, labels, [])
        self.constant_ = None
        self.frozen_ = None if self.calibration_folds > 1 else freeze(self.model_)
        return self

    def _fit_model(self, frame: pd.DataFrame, labels: np.ndarray, text_columns: Sequence[str],
                   char_columns: Sequence[str] = ()) -> object:
        if self.kind == "lightgbm" and not self.numeric:
            raise ValueError("a lightgbm ValueHead needs numeric columns")
        if not self.numeric and not self.categorical and not text_columns and not char_columns:
            raise ValueError("ValueHead has no usable input (no numeric or categorical columns, no text)")
        model: object = (_lightgbm(self.numeric, self.seed) if self.kind == "lightgbm"
                         else _pipeline(self.numeric, self.categorical, text_columns, self.seed, self.c,
                                        char_columns))
        if self.calibration_folds > 1:
            model = CalibratedClassifierCV(model, method="sigmoid", cv=self.calibration_folds)
        with warnings.catch_warnings():  # scikit-learn announces LogisticRegressionCV API changes
            warnings.simplefilter("ignore", FutureWarning)
            model.fit(frame, labels)  # type: ignore[attr-defined]
        return model

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """(n,) calibrated P(success)."""
        if self.constant_ is not None:
            return np.full(len(frame), self.constant_)
        if self.frozen_ is not None:
            proba = self.frozen_.predict_proba(frame)
        elif self.model_ is None:
            raise RuntimeError("ValueHead is not fitted")
        else:
            proba = np.asarray(self.model_.predict_proba(frame)[:, 1], dtype=float)  # type: ignore[attr-defined]
        if self.platt_ is not None:
            slope, intercept = self.platt_
            return np.asarray(1.0 / (1.0 + np.exp(-(slope * _logit(proba) + intercept))))
        return proba


    def to_state(self) -> dict[str, Any]:
        """Parameters and the fitted prediction as JSON values and arrays (see `aco.artifacts`)."""
        if self.constant_ is None and self.frozen_ is None:
            raise ValueError(f"value head {self.label!r} cannot be saved (not fitted, or sigmoid-calibrated folds)")
        params = {k: list(v) if isinstance(v, tuple | list) else v for k, v in (
            ("numeric", self.numeric), ("categorical", self.categorical), ("use_text", self.use_text),
            ("extra_text", self.extra_text), ("seed", self.seed), ("kind", self.kind), ("c", self.c),
            ("label", self.label), ("task_text", self.task_text), ("char_text", self.char_text))}
        return {"params": params, "constant": self.constant_, "platt": None if self.platt_ is None else
                list(self.platt_), "frozen": None if self.frozen_ is None else self.frozen_.to_state()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ValueHead:
        """A fitted head from `to_state` output."""
        params: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in state["params"].items()}
        head = cls(**params)
        head.constant_ = None if state["constant"] is None else float(state["constant"])
        head.platt_ = None if state["platt"] is None else (float(state["platt"][0]), float(state["platt"][1]))
        head.frozen_ = None if state["frozen"] is None else FrozenHead.from_state(state["frozen"])
        return head


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(p, dtype=float), 1e-6, 1.0 - 1e-6)
    return np.asarray(np.log(clipped / (1.0 - clipped)))


def platt(p_inner: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Monotone (slope >= 0) sigmoid recalibration of inner out-of-fold probabilities: (slope, intercept)."""
    model = LogisticRegression(C=1e4).fit(_logit(p_inner)[:, None], np.asarray(y, dtype=int))
    slope, intercept = float(model.coef_[0, 0]), float(model.intercept_[0])
    if slope <= 0.0:  # no usable ranking: predict the base rate
        return 0.0, float(_logit(np.array([np.mean(y)]))[0])
    return slope, intercept


def inner_oof(head: ValueHead, frame: pd.DataFrame, y: np.ndarray, folds: int = 3, seed: int = 0) -> np.ndarray:
    """Out-of-fold P(success) of `head` cross-validated inside the given (training) rows only."""
    labels = np.asarray(y, dtype=int)
    p = np.full(len(labels), np.nan)
    for split in kfold_splits(len(labels), folds, seed):
        fresh = replace(head)
        p[split.test] = fresh.fit(frame.iloc[split.train], labels[split.train]).predict(frame.iloc[split.test])
    return p


def select_head(candidates: Sequence[ValueHead], frame: pd.DataFrame, y: np.ndarray, folds: int = 3,
                seed: int = 0, calibrate: bool = False) -> tuple[ValueHead, dict[str, float]]:
    """The candidate with the best inner-CV AUC on these (training) rows, refitted on all of them.

    With `calibrate`, its probabilities are recalibrated by a monotone sigmoid fitted on its inner
    out-of-fold predictions (ranking, hence AUC, unchanged).

    Returns the fitted head and each candidate's inner AUC (by label, or position when unlabelled).
    """
    if not candidates:
        raise ValueError("select_head needs at least one candidate")
    labels = np.asarray(y, dtype=int)
    if np.bincount(labels, minlength=2).min() < max(folds, 3):
        return replace(candidates[0]).fit(frame, labels), {}
    oof = [inner_oof(h, frame, labels, folds, seed) for h in candidates]
    return pick_head(candidates, oof, frame, labels, calibrate)


def pick_head(candidates: Sequence[ValueHead], oof: Sequence[np.ndarray], frame: pd.DataFrame, y: np.ndarray,
              calibrate: bool = False) -> tuple[ValueHead, dict[str, float]]:
    """`select_head`'s rule given each candidate's inner out-of-fold predictions `oof`: the best inner AUC
    (the first on ties), refitted on all rows and, with `calibrate`, Platt-recalibrated on its inner predictions."""
    labels = np.asarray(y, dtype=int)
    scores = {h.label or str(i): metrics.roc_auc(p, labels)
              for i, (h, p) in enumerate(zip(candidates, oof, strict=True))}
    values = [v if np.isfinite(v) else 0.0 for v in scores.values()]
    pick = int(np.argmax(values))
    best = replace(candidates[pick]).fit(frame, labels)
    if calibrate and best.constant_ is None:
        best.platt_ = platt(oof[pick], labels)
    return best, scores


def nested_oof(frame: pd.DataFrame, y: np.ndarray, candidates: Sequence[ValueHead], folds: int = 5,
               seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold P(success), the head chosen per outer fold by `select_head` (inner CV, calibrated) on that
    fold's training rows only; also the chosen head's label per fold."""
    labels = np.asarray(y, dtype=int)
    p = np.full(len(labels), np.nan)
    chosen: list[str] = []
    for split in kfold_splits(len(labels), folds, seed):
        head, _ = select_head(candidates, frame.iloc[split.train], labels[split.train], seed=seed, calibrate=True)
        chosen.append(head.label)
        p[split.test] = head.predict(frame.iloc[split.test])
    return p, chosen
