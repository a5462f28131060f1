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
)

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


def _v1(conn: sa.Connection) -> None:
    for table in (DECISIONS, OUTCOMES, BUDGETS):
        table.create(conn, checkfirst=True)


# Ordered steps: (version, apply). Append new steps; never edit a released one.
MIGRATIONS: tuple[tuple[int, Callable[[sa.Connection], None]], ...] = (
    (1, _v1),
)
LATEST_VERSION = MIGRATIONS[-1][0]
