"""Feature extractors: shapes, determinism, signals, and state round trips (no pickle)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from aco.errors import ConfigError
from aco.features import features_from_state, make_features
from aco.features.categorical import OneHot
from aco.features.embeddings import SentenceEmbeddings
from aco.features.text import HashedTextSVD, KeywordDifficulty, TextStats


def _tasks() -> pd.DataFrame:
    texts = ["Fix a simple typo in README", "Critical security bug: crash in production parser",
             "Traceback (most recent call last):\n  File \"a.py\"\nValueError", "Add `foo` option to cli.py",
             "rename variable in utils", "race condition in the scheduler causes data loss"] * 3
    return pd.DataFrame({"text": texts, "category": ["docs", "core", "core", "cli", "docs", "core"] * 3,
                         "source": ["a", "b"] * 9})


def test_text_svd_is_deterministic_and_round_trips() -> None:
    tasks = _tasks()
    first = HashedTextSVD(n_components=4, seed=1).fit(tasks).transform(tasks)
    second = HashedTextSVD(n_components=4, seed=1).fit(tasks).transform(tasks)
    assert first.shape == (len(tasks), 4)
    np.testing.assert_allclose(first, second)
    restored = HashedTextSVD.from_state(HashedTextSVD(n_components=4, seed=1).fit(tasks).to_state())
    np.testing.assert_allclose(restored.transform(tasks), first, atol=1e-12)


def test_text_svd_without_text_has_no_columns() -> None:
    tasks = pd.DataFrame({"text": ["", ""], "category": ["a", "b"]})
    assert HashedTextSVD().fit(tasks).transform(tasks).shape == (2, 0)


def test_text_stats_and_difficulty_see_the_signals() -> None:
    tasks = _tasks()
    stats = TextStats().fit(tasks).transform(tasks)
    names = TextStats().names()
    assert stats.shape == (len(tasks), len(names))
    assert stats[2, names.index("log_traceback")] > 0 and stats[0, names.index("log_traceback")] == 0
    difficulty = KeywordDifficulty().transform(tasks)
    assert difficulty[0].tolist() == [1.0, 0.0, -1.0]
    assert difficulty[1].tolist() == [0.0, 1.0, 1.0]


def test_one_hot_ignores_unseen_levels() -> None:
    encoder = OneHot("category").fit(_tasks())
    out = encoder.transform(pd.DataFrame({"category": ["core", "unseen"]}))
    assert encoder.levels_ == ["cli", "core", "docs"]
    assert out.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]


def test_features_union_concatenates_and_rebuilds_from_state() -> None:
    tasks = _tasks()
    features = make_features("text,stats,difficulty,category,source").fit(tasks)
    X = features.transform(tasks)
    assert X.shape == (len(tasks), len(features.names()))
    restored = features_from_state(features.to_state())
    np.testing.assert_allclose(restored.transform(tasks), X, atol=1e-12)


def test_unknown_feature_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown feature"):
        make_features("text,nonsense")


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is not None,
                    reason="the embeddings extra is installed")
def test_embeddings_without_the_extra_say_how_to_install() -> None:
    with pytest.raises(ConfigError, match=r"aco\[embeddings\]"):
        SentenceEmbeddings().fit(_tasks())


def test_one_request_gets_the_same_row_as_the_whole_table_and_missing_text_is_empty() -> None:
    tasks = pd.concat([_tasks(), pd.DataFrame({"text": [None, np.nan], "category": [None, "core"]})],
                      ignore_index=True)
    features = make_features("text,stats,difficulty,category,source", seed=0).fit(tasks)
    whole = features.transform(tasks)
    for row in (0, 2, len(tasks) - 2, len(tasks) - 1):
        np.testing.assert_allclose(features.transform(tasks.iloc[row: row + 1]), whole[row: row + 1], atol=1e-12)
    empty = features.transform(pd.DataFrame({"text": [""], "category": [""], "source": [""]}))
    np.testing.assert_allclose(whole[len(tasks) - 2], empty[0], atol=1e-12)  # None/NaN read as ''
    assert np.isfinite(whole).all()


def test_text_features_keep_the_sparse_product_arithmetic() -> None:
    """The per-request fast path computes exactly what slicing and multiplying sparse matrices computed (saved
    artifacts and published figures stay bit-identical)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import HashingVectorizer

    from aco.features.text import HashedTextSVD

    words = ["fix", "the", "bug", "in", "parser", "add", "a", "test", "for", "the", "cache", "race", "condition"]
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=int(rng.integers(3, 30)))) for _ in range(200)]
    tasks = pd.DataFrame({"text": texts, "category": ""}, index=[f"t{i}" for i in range(200)])
    svd = HashedTextSVD(n_components=8).fit(tasks)
    vectorizer = HashingVectorizer(n_features=svd.n_hash, ngram_range=(1, 2), alternate_sign=False, norm=None)
    assert svd.kept_ is not None and svd.idf_ is not None and svd.components_ is not None
    counts = sparse.csr_matrix(vectorizer.transform(texts))[:, svd.kept_]
    weighted = sparse.csr_matrix(counts.multiply(svd.idf_[None, :]))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
    reference = sparse.csr_matrix(sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ weighted) @ svd.components_.T
    assert np.array_equal(svd.transform(tasks), np.asarray(reference))
    assert np.array_equal(svd.transform(tasks.iloc[[7]]), svd.transform(tasks)[[7]])
