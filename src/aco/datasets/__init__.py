"""Real outcome datasets (read in place from the shared data folder) and the `OutcomeTable` they load into."""

from aco.datasets.fetch import fetch_dataset
from aco.datasets.generic import load_outcomes_file
from aco.datasets.registry import DATASETS, clear_cache, dataset_info, dataset_source, describe, load_dataset
from aco.datasets.routerbench import load_wide_csv
from aco.datasets.table import OutcomeTable, TaskSet, assign_cost_tiers

__all__ = [
    "DATASETS",
    "OutcomeTable",
    "TaskSet",
    "assign_cost_tiers",
    "clear_cache",
    "dataset_info",
    "dataset_source",
    "describe",
    "fetch_dataset",
    "load_dataset",
    "load_outcomes_file",
    "load_wide_csv",
]
