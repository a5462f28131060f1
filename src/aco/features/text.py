"""Task-text features: hashed word n-grams weighted by IDF and reduced by SVD, length and code signals,
and ACO's keyword difficulty ("simple/typo" -1, "critical/security/production" +1)."""

from __future__ import annotations

import functools
import re
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import HashingVectorizer
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from aco.features.base import State, task_texts

EASY_PATTERN = r"\b(?:simple|typo|trivial|minor|rename|docstring|spelling|small)\b"
HARD_PATTERN = (r"\b(?:critical|security|production|vulnerab\w*|race condition|deadlock|crash\w*|"
                r"concurren\w*|memory leak|data loss)\b")


def _top_right_singular(matrix: sparse.csr_matrix, k: int, seed: int) -> np.ndarray:
    """The top-k right singular vectors (k, d): exact via the document Gram matrix when there are few
    documents, else randomized SVD."""
    n_docs = matrix.shape[0]
    if n_docs <= 3000:
        gram = np.asarray((matrix @ matrix.T).toarray())
        with threadpool_limits(limits=1):  # tiny problem: BLAS threads only contend
            values, vectors = np.linalg.eigh(gram)
        top = np.argsort(-values, kind="stable")[:k]
        sing = np.sqrt(np.maximum(values[top], 1e-12))
        basis = np.asarray((matrix.T @ vectors[:, top]).T) / sing[:, None]
        signs = np.sign(basis[np.arange(k), np.argmax(np.abs(basis), axis=1)])
        return np.asarray(basis * np.where(signs == 0, 1.0, signs)[:, None])
    svd = TruncatedSVD(n_components=k, random_state=seed, algorithm="randomized", n_iter=3)
    with threadpool_limits(limits=1):  # small dense products: BLAS threads only contend
        return np.asarray(svd.fit(matrix).components_)


_HASHED: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
MAX_CACHED_TEXTS = 100_000


def hashed_counts(texts: list[str], n_hash: int) -> sparse.csr_matrix:
    """Word 1-2-gram counts hashed into `n_hash` buckets (n, n_hash). Rows are kept per distinct text across calls
    (up to MAX_CACHED_TEXTS): the folds and routers of one bench featurise the same task texts again and again."""
    cache = _HASHED.setdefault(n_hash, {})
    missing = list(dict.fromkeys(t for t in texts if t not in cache))
    if missing:
        if len(cache) + len(missing) > MAX_CACHED_TEXTS:
            cache.clear()
        vectorizer = HashingVectorizer(n_features=n_hash, ngram_range=(1, 2), alternate_sign=False, norm=None,
                                       lowercase=True)
        fresh = sparse.csr_matrix(vectorizer.transform(missing))
        fresh.sort_indices()
        for i, text in enumerate(missing):
            lo, hi = fresh.indptr[i], fresh.indptr[i + 1]
            cache[text] = (fresh.indices[lo:hi].copy(), fresh.data[lo:hi].copy())
    rows = [cache[t] for t in texts]
    indptr = np.concatenate([[0], np.cumsum([len(r[0]) for r in rows])])
    indices = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, dtype=np.int32)
    data = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(texts), n_hash))


class HashedTextSVD:
    """Word 1-2-gram counts hashed into `n_hash` buckets, IDF-weighted, L2-normalised, then SVD to `n_components`.

    Only buckets seen in >= 2 training tasks are kept (the `max_buckets` most frequent), so the state is small
    (their indices, IDF and the SVD basis: arrays) and saves without pickle. Without training text the block
    has no columns.
    """

    kind = "text"

    def __init__(self, n_components: int = 64, n_hash: int = 2**16, max_buckets: int = 8000, seed: int = 0,
                 ) -> None:
        self.n_components = n_components
        self.n_hash = n_hash
        self.max_buckets = max_buckets
        self.seed = seed
        self.kept_: np.ndarray | None = None
        self.idf_: np.ndarray | None = None
        self.components_: np.ndarray | None = None

    def _weighted(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Kept-bucket counts times IDF, L2-normalised per task.

        The kept buckets are picked by filtering each row's entries through a bucket -> position table and scaled
        elementwise (no sparse slicing or diagonal products: their per-call cost is what one request paid), with the
        very arithmetic of those products (bit-identical features). One code path for one request and a whole table,
        so a request's row is bit-identical to its row in the table."""
        assert self.kept_ is not None and self.idf_ is not None
        position = self.__dict__.get("_position")
        if position is None:
            position = np.full(self.n_hash, -1, dtype=np.int64)
            position[self.kept_] = np.arange(len(self.kept_))
            self._position = position
        where = position[counts.indices]
        keep = where >= 0
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))[keep]
        data = counts.data[keep] * self.idf_[where[keep]]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=counts.shape[0]))])
        weighted = sparse.csr_matrix((data, where[keep], indptr), shape=(counts.shape[0], len(self.kept_)))
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
        scaled = weighted.data * (1.0 / np.maximum(norms, 1e-12))[rows]
        # each row's entries in reverse, the order a sparse diagonal product leaves them in: the SVD projection then
        # sums in the same order as the features every saved artifact and published figure was computed with
        reverse = np.repeat(indptr[:-1] + indptr[1:] - 1, np.diff(indptr)) - np.arange(len(scaled))
        out = sparse.csr_matrix((scaled[reverse], weighted.indices[reverse], indptr), shape=weighted.shape)
        out.has_sorted_indices = False
        return out

    def _fit_weighted(self, tasks: pd.DataFrame) -> sparse.csr_matrix:
        counts = hashed_counts(task_texts(tasks), self.n_hash)
        n_docs = counts.shape[0]
        doc_freq = np.bincount(counts.indices, minlength=self.n_hash)
        kept = np.flatnonzero(doc_freq >= min(2, n_docs))
        self.kept_ = np.sort(kept[np.argsort(-doc_freq[kept], kind="stable")[: self.max_buckets]])
        self.idf_ = np.log((1.0 + n_docs) / (1.0 + doc_freq[self.kept_])) + 1.0
        k = min(self.n_components, n_docs - 1, len(self.kept_) - 1)
        self.components_ = np.zeros((0, len(self.kept_)))
        weighted = self._weighted(counts)
        if k >= 1:
            self.components_ = _top_right_singular(weighted, k, self.seed)
        return weighted

    def fit(self, tasks: pd.DataFrame) -> Self:
        self._fit_weighted(tasks)
        return self

    def fit_transform(self, tasks: pd.DataFrame) -> np.ndarray:
        """`fit(tasks).transform(tasks)`, hashing the texts once."""
        weighted = self._fit_weighted(tasks)
        assert self.components_ is not None
        return np.asarray(weighted @ self.components_.T) if self.components_.shape[0] else np.zeros((len(tasks), 0))

    def transform(self, tasks: pd.DataFrame) -> np.ndarray:
        if self.components_ is None:
            raise ValueError("HashedTextSVD is not fitted")
        if self.components_.shape[0] == 0:
            return np.zeros((len(tasks), 0))
        return np.asarray(self._weighted(hashed_counts(task_texts(tasks), self.n_hash)) @ self.components_.T)

    def names(self) -> list[str]:
        k = 0 if self.components_ is None else self.components_.shape[0]
        return [f"text_svd_{i}" for i in range(k)]

    def to_state(self) -> State:
        if self.kept_ is None or self.idf_ is None or self.components_ is None:
            raise ValueError("HashedTextSVD is not fitted")
        return {"n_components": self.n_components, "n_hash": self.n_hash, "max_buckets": self.max_buckets,
                "seed": self.seed, "kept": self.kept_, "idf": self.idf_, "components": self.components_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> HashedTextSVD:
        out = cls(int(state["n_components"]), int(state["n_hash"]), int(state["max_buckets"]), int(state["seed"]))
        out.kept_ = np.asarray(state["kept"], dtype=np.int64)
        out.idf_ = np.asarray(state["idf"], dtype=float)
        components = np.asarray(state["components"], dtype=float)
        out.components_ = components.reshape(-1, len(out.kept_)) if len(out.kept_) else np.zeros((0, 0))
        if len(out.idf_) != len(out.kept_) or (len(out.kept_) and out.kept_.max() >= out.n_hash):
            raise ValueError("text feature state is inconsistent (kept buckets vs IDF / hash size)")
        return out


_STAT_PATTERNS = {
    "code_fences": r"```",
    "inline_code": r"`[^`\n]+`",
    "traceback": r"Traceback \(most recent call last\)",
    "file_paths": r"[\w/]+\.(?:py|js|ts|java|c|cpp|rs|go|rb)\b",
    "error_words": r"\b(?:Error|Exception|raise[sd]?|fail\w*)\b",
    "urls": r"https?://",
    "lines": r"\n",
}
_STAT_REGEXES = tuple(re.compile(p) for p in _STAT_PATTERNS.values())
_EASY = re.compile(EASY_PATTERN, re.IGNORECASE)
_HARD = re.compile(HARD_PATTERN, re.IGNORECASE)


@functools.lru_cache(maxsize=MAX_CACHED_TEXTS)
def text_stats(text: str) -> tuple[float, ...]:
    """Characters, words and the count of each `_STAT_PATTERNS` match in one text (kept per distinct text)."""
    return (float(len(text)), float(len(text.split())),
            *(float(sum(1 for _ in regex.finditer(text))) for regex in _STAT_REGEXES))


@functools.lru_cache(maxsize=MAX_CACHED_TEXTS)
def keyword_flags(text: str) -> tuple[bool, bool]:
    """(easy, hard): whether the text says 'simple/typo/...' and 'critical/security/...' (kept per distinct text)."""
    return _EASY.search(text) is not None, _HARD.search(text) is not None


class TextStats:
    """Length and code signals: log lengths and log counts of code fences, paths, tracebacks, errors, URLs."""

    kind = "stats"

    def fit(self, tasks: pd.DataFrame) -> Self:
        return self

    def transform(self, tasks: pd.DataFrame) -> np.ndarray:
        # Plain `re` over a list: the same result for one request or a whole table, without pandas' per-call
        # overhead (a single request is featurised in microseconds, not milliseconds).
        texts = task_texts(tasks)
        out = np.array([text_stats(t) for t in texts], dtype=float).reshape(len(texts), 2 + len(_STAT_REGEXES))
        return np.asarray(np.log1p(out))

    def names(self) -> list[str]:
        return ["log_chars", "log_words", *(f"log_{k}" for k in _STAT_PATTERNS)]

    def to_state(self) -> State:
        return {}


class KeywordDifficulty:
    """ACO's keyword difficulty: easy flag ('simple', 'typo', ...), hard flag ('critical', 'security', ...)
    and their sum (-1, 0 or +1)."""

    kind = "difficulty"

    def fit(self, tasks: pd.DataFrame) -> Self:
        return self

    def transform(self, tasks: pd.DataFrame) -> np.ndarray:
        flags = np.array([keyword_flags(t) for t in task_texts(tasks)], dtype=float).reshape(-1, 2)
        easy, hard = flags[:, 0], flags[:, 1]
        return np.column_stack([easy, hard, hard - easy])

    def names(self) -> list[str]:
        return ["kw_easy", "kw_hard", "kw_difficulty"]

    def to_state(self) -> State:
        return {}
