"""Model-name aliases for --train/--test transfer: mapping files, aco configs, alignment and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aco.datasets.aliases import align_models, read_aliases, rename_models
from aco.errors import DataError
from tests.evaluation.tables import grouped_table


def test_mapping_files_in_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "aliases.toml"
    toml.write_text('[aliases]\n"mistralai/Mixtral-8x7B-Instruct-v0.1" = "mistralai/mixtral-8x7b-chat"\n')
    assert read_aliases(toml) == {"mistralai/Mixtral-8x7B-Instruct-v0.1": "mistralai/mixtral-8x7b-chat"}
    js = tmp_path / "aliases.json"
    js.write_text('{"aliases": {"a": "b"}}')
    assert read_aliases(js) == {"a": "b"}


def test_aliases_from_an_aco_config(tmp_path: Path) -> None:
    config = tmp_path / "aco.toml"
    config.write_text(
        '[[upstreams]]\nname = "up"\nbase_url = "http://127.0.0.1:9"\n'
        '[[models]]\nname = "gpt-4-1106-preview"\nupstream = "up"\nupstream_model = "gpt-4-1106"\n'
        'aliases = ["GPT-4-1106"]\n'
        '[profiles.default]\ncandidates = ["gpt-4-1106-preview"]\n')
    assert read_aliases(config) == {"gpt-4-1106": "gpt-4-1106-preview", "GPT-4-1106": "gpt-4-1106-preview"}


@pytest.mark.parametrize(("text", "match"), [('[aliases]\nx = 1\n', "aliases` table"), ("nope = [", "not valid TOML"),
                                             ('[other]\nx = "y"\n', "aliases` table")])
def test_bad_mapping_files_name_the_file(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        read_aliases(path)
    assert info.value.path == path
    with pytest.raises(DataError, match="cannot read"):
        read_aliases(tmp_path / "absent.toml")


def test_align_renames_and_keeps_the_common_models_in_training_order() -> None:
    table = grouped_table(10)
    other = rename_models(table, {"cheap": "cheap-v2", "spiky": "spiky-v2"}).select_models(["spiky-v2", "cheap-v2"])
    train, test = align_models(table, other, {"cheap-v2": "cheap", "spiky-v2": "spiky"})
    assert train.model_names == test.model_names == ["cheap", "spiky"]
    np.testing.assert_array_equal(test.score[:, 0], table.score[:, 0])
    with pytest.raises(DataError, match="share 0 model"):
        align_models(table, other, {})
