"""What a table carries (router requirements) and aligning two tables by model name."""

from __future__ import annotations

import numpy as np
import pytest

from aco.datasets.table import OutcomeTable
from aco.errors import DataError
from tests.evaluation.tables import two_model_table


def test_lacks_names_what_is_missing() -> None:
    table = two_model_table()
    assert table.lacks("two_models") is None
    assert table.lacks("run_signals") == "needs observable run signals (e.g. api_calls, response); tiny has none"
    with_calls = OutcomeTable(name="calls", tasks=table.tasks, models=table.models, score=table.score,
                              cost_usd=table.cost_usd, signals={"api_calls": np.ones((4, 2))},
                              observable_signals=("api_calls",))
    assert with_calls.lacks("run_signals") is None and with_calls.lacks("numeric_signals") is None
    assert with_calls.lacks("responses") is not None
    assert table.select_models(["cheap"]).lacks("two_models") == "needs at least two models; tiny has 1"
    with pytest.raises(ValueError, match="unknown requirement"):
        table.lacks("gpus")


def test_aligned_to_reorders_models_by_name() -> None:
    table = two_model_table()
    flipped = table.select_models(["strong", "cheap"])
    aligned = flipped.aligned_to(table)
    assert aligned.model_names == ["cheap", "strong"]
    np.testing.assert_array_equal(aligned.score, table.score)
    assert table.aligned_to(table) is table


def test_aligned_to_names_a_model_in_one_table_only() -> None:
    table = two_model_table()
    with pytest.raises(DataError, match=r"'strong' only in tiny") as info:
        table.select_models(["cheap"]).aligned_to(table)
    assert "different models" in str(info.value)
