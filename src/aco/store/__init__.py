"""The shared store of decisions, outcomes and budgets (SQLite by default, PostgreSQL by URL)."""

from aco.store.records import VERIFIERS, Admission, BudgetState, DecisionRecord, OutcomeRecord
from aco.store.store import CategoryModelStat, Store

__all__ = ["VERIFIERS", "Admission", "BudgetState", "CategoryModelStat", "DecisionRecord", "OutcomeRecord", "Store"]
