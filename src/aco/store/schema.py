"""Tables (SQLAlchemy Core) and ordered, versioned migrations applied by `Store.open`."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

METADATA = sa.MetaData()

SCHEMA_VERSION = sa.Table(
    "schema_version", METADATA,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Float, nullable=False),
)

DECISIONS = sa.Table(
    "decisions", METADATA,
    sa.Column("decision_id", sa.String(64), primary_key=True),
    sa.Column("task_id", sa.String(256), nullable=False, index=True),
    sa.Column("profile", sa.String(128), nullable=False),
    sa.Column("step_kind", sa.String(32), nullable=False),
    sa.Column("category", sa.String(256), nullable=False),
    sa.Column("candidates", sa.JSON, nullable=False),
    sa.Column("chosen_model", sa.String(256), nullable=False),
    sa.Column("propensity", sa.Float, nullable=False),
    sa.Column("p_success_by_model", sa.JSON, nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reserved_usd", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # v2: how the call ended (open = reserved, call in flight; settled; failed; expired) and what it cost
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("endpoint", sa.String(32), nullable=False, server_default=""),
    sa.Column("fallback_from", sa.String(256), nullable=False, server_default=""),
    sa.Column("escalated_from", sa.String(256), nullable=False, server_default=""),
    sa.Column("cost_usd", sa.Float, nullable=True),
    sa.Column("counterfactual_usd", sa.Float, nullable=True),
    sa.Column("input_tokens", sa.Integer, nullable=True),
    sa.Column("output_tokens", sa.Integer, nullable=True),
    sa.Column("cached_input_tokens", sa.Integer, nullable=True),
    sa.Column("cache_write_tokens", sa.Integer, nullable=True),
    sa.Column("reasoning_tokens", sa.Integer, nullable=True),
    sa.Column("settled_at", sa.Float, nullable=True),
)

DECISIONS_STATUS_INDEX = sa.Index("ix_decisions_status", DECISIONS.c.status)

# v2 columns of `decisions`, added to a v1 table by `_v2` (a new database gets them from `_v1`)
DECISION_V2_COLUMNS = ("status", "endpoint", "fallback_from", "escalated_from", "cost_usd", "counterfactual_usd",
                       "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
                       "reasoning_tokens", "settled_at")

OUTCOMES = sa.Table(
    "outcomes", METADATA,
    sa.Column("outcome_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.String(256), nullable=False, index=True),
    sa.Column("decision_id", sa.String(64), nullable=True, index=True),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("category", sa.String(256), nullable=False, server_default=""),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("verifier", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

BUDGETS = sa.Table(
    "budgets", METADATA,
    sa.Column("task_id", sa.String(256), primary_key=True),
    sa.Column("budget_usd", sa.Float, nullable=False),
    sa.Column("reserved_usd", sa.Float, nullable=False),
    sa.Column("spent_usd", sa.Float, nullable=False),
)


BUDGET_REFUSALS = sa.Table(
    "budget_refusals", METADATA,
    sa.Column("refusal_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.String(256), nullable=False, index=True),
    sa.Column("profile", sa.String(128), nullable=False),
    sa.Column("category", sa.String(256), nullable=False),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("needed_usd", sa.Float, nullable=False),
    sa.Column("remaining_usd", sa.Float, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
)


VERDICTS = sa.Table(
    "verdicts", METADATA,
    sa.Column("verdict_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.String(64), nullable=False, index=True),
    sa.Column("task_id", sa.String(256), nullable=False, index=True),
    sa.Column("verifier", sa.String(32), nullable=False, index=True),
    sa.Column("p_correct", sa.Float, nullable=True),  # NULL: the verifier abstained (`reason` says why)
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("signals", sa.JSON, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)


def _v1(conn: sa.Connection) -> None:
    for table in (DECISIONS, OUTCOMES, BUDGETS):
        table.create(conn, checkfirst=True)


def _v2(conn: sa.Connection) -> None:
    """Per-decision settlement (status, actual cost, token usage) and refused budget reservations."""
    present = {c["name"] for c in sa.inspect(conn).get_columns(DECISIONS.name)}
    preparer = conn.dialect.identifier_preparer
    for name in DECISION_V2_COLUMNS:
        if name in present:
            continue
        column = DECISIONS.c[name]
        kind = column.type.compile(dialect=conn.dialect)
        default = f" DEFAULT '{column.server_default.arg}'" if column.server_default is not None else ""  # type: ignore[attr-defined]
        null = "" if column.nullable else " NOT NULL"
        conn.exec_driver_sql(f"ALTER TABLE {DECISIONS.name} ADD COLUMN {preparer.quote(name)} {kind}{default}{null}")
    if "status" not in present:  # decisions logged before v2: how they ended is unknown
        conn.execute(sa.update(DECISIONS).values(status="unknown"))
    DECISIONS_STATUS_INDEX.create(conn, checkfirst=True)
    BUDGET_REFUSALS.create(conn, checkfirst=True)


def _v3(conn: sa.Connection) -> None:
    """Verifier verdicts: one row per verifier that judged a decision's answer (name, P(correct) or an
    abstention, its signals and what verifying cost)."""
    VERDICTS.create(conn, checkfirst=True)


# Ordered steps: (version, apply). Append new steps; never edit a released one.
MIGRATIONS: tuple[tuple[int, Callable[[sa.Connection], None]], ...] = (
    (1, _v1),
    (2, _v2),
    (3, _v3),
)
LATEST_VERSION = MIGRATIONS[-1][0]
