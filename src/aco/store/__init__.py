"""The shared store of decisions, outcomes and budgets (SQLite by default, PostgreSQL by URL)."""

from aco.store.records import (
    DECISION_STATUSES,
    VERIFIERS,
    Admission,
    BudgetState,
    DecisionRecord,
    OutcomeRecord,
    RefusalRecord,
    VerdictRecord,
)
from aco.store.store import CategoryModelStat, Store

__all__ = ["DECISION_STATUSES", "VERIFIERS", "Admission", "BudgetState", "CategoryModelStat", "DecisionRecord",
           "OutcomeRecord", "RefusalRecord", "Store",
           "VerdictRecord"]
