"""Aggregate read queries over the store for the dashboard (SQLite and PostgreSQL; one SQL query per figure).

Everything here reads only the store, so any replica shows every replica's data. Money conventions: a
decision's spend is its recorded `cost_usd` (0 while open or after a failed call); its counterfactual is the
recorded `counterfactual_usd` (the same tokens on the profile's strongest candidate), else its own cost (an
expired reservation or a call without usage saves nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from aco.store.records import DecisionRecord
from aco.store.schema import BUDGET_REFUSALS, BUDGETS, DECISIONS, OUTCOMES
from aco.store.store import Store, _decision_from

DEC, OUT = DECISIONS.c, OUTCOMES.c
SPENT = sa.func.coalesce(DEC.cost_usd, 0.0)
COUNTERFACTUAL = sa.func.coalesce(DEC.counterfactual_usd, DEC.cost_usd, 0.0)
ESCALATED = sa.or_(DEC.escalated_from != "", DEC.reason.like("escalated from %"))
FALLBACK = DEC.fallback_from != ""
NO_STEP = "-"  # the filter value for decisions made without a step kind
BUCKETS_S = (1, 5, 15, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)
MAX_BUCKETS = 240


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """Which decisions the table shows: a task id prefix and exact profile, model and step (empty: any)."""

    task_prefix: str = ""
    profile: str = ""
    model: str = ""
    step_kind: str = ""  # NO_STEP selects the decisions without a step kind

    def where(self) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = []
        if self.task_prefix:
            escaped = self.task_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(DEC.task_id.like(escaped + "%", escape="\\"))
        if self.profile:
            clauses.append(DEC.profile == self.profile)
        if self.model:
            clauses.append(DEC.chosen_model == self.model)
        if self.step_kind:
            clauses.append(DEC.step_kind == ("" if self.step_kind == NO_STEP else self.step_kind))
        return clauses


@dataclass(frozen=True, slots=True)
class Totals:
    """Store-wide counts and sums."""

    decisions: int
    tasks: int
    spent_usd: float
    counterfactual_usd: float
    open_reserved_usd: float
    escalations: int
    fallbacks: int
    by_status: dict[str, int]
    outcomes: int
    successes: int


@dataclass(frozen=True, slots=True)
class TaskResults:
    """Per task with a reported outcome: its spend, its counterfactual and its last reported success."""

    spent_usd: np.ndarray
    counterfactual_usd: np.ndarray
    success: np.ndarray


def _rows(store: Store, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query).all()]


def _floor(store: Store, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """floor() of a non-negative number (SQLite's CAST truncates; PostgreSQL's would round)."""
    if store.engine.dialect.name == "sqlite":
        return sa.cast(expr, sa.Integer)
    return sa.func.floor(expr)


def _p_chosen(store: Store) -> sa.ColumnElement[Any]:
    """The decision's P(success) of the model it chose (from the JSON of P per candidate)."""
    if store.engine.dialect.name == "sqlite":
        path = sa.literal('$."') + DEC.chosen_model + sa.literal('"')
        return sa.case((sa.func.instr(DEC.chosen_model, '"') == 0, sa.func.json_extract(DEC.p_success_by_model, path)))
    return sa.cast(DEC.p_success_by_model.op("->>")(DEC.chosen_model), sa.Float)


def totals(store: Store) -> Totals:
    decision_query = sa.select(
        sa.func.count(), sa.func.count(sa.distinct(DEC.task_id)), sa.func.sum(SPENT), sa.func.sum(COUNTERFACTUAL),
        sa.func.sum(sa.case((DEC.status == "open", DEC.reserved_usd), else_=0.0)),
        sa.func.sum(sa.case((ESCALATED, 1), else_=0)), sa.func.sum(sa.case((FALLBACK, 1), else_=0)))
    status_query = sa.select(DEC.status, sa.func.count()).group_by(DEC.status)
    outcome_query = sa.select(sa.func.count(), sa.func.sum(sa.case((OUT.success, 1), else_=0)))
    with store.engine.connect() as conn:
        n, tasks, spent, cf, reserved, esc, fb = conn.execute(decision_query).one()
        statuses = {str(s): int(c) for s, c in conn.execute(status_query).all()}
        outcomes, successes = conn.execute(outcome_query).one()
    return Totals(decisions=int(n), tasks=int(tasks), spent_usd=float(spent or 0.0),
                  counterfactual_usd=float(cf or 0.0), open_reserved_usd=float(reserved or 0.0),
                  escalations=int(esc or 0), fallbacks=int(fb or 0), by_status=statuses,
                  outcomes=int(outcomes), successes=int(successes or 0))


def bucket_seconds(first_s: float, last_s: float) -> int:
    """The smallest bucket of `BUCKETS_S` that cuts [first_s, last_s] into at most `MAX_BUCKETS` buckets."""
    span = max(last_s - first_s, 0.0)
    return next((b for b in BUCKETS_S if span / b <= MAX_BUCKETS), BUCKETS_S[-1])


def spend_series(store: Store) -> tuple[int, list[tuple[float, float, float, int]]]:
    """(bucket seconds, [(bucket start, spent, counterfactual, decisions)]) by decision time, oldest first."""
    with store.engine.connect() as conn:
        first, last = conn.execute(sa.select(sa.func.min(DEC.created_at), sa.func.max(DEC.created_at))).one()
    if first is None:
        return BUCKETS_S[0], []
    bucket = bucket_seconds(float(first), float(last))
    key = _floor(store, DEC.created_at / bucket).label("bucket")
    query = (sa.select(key, sa.func.sum(SPENT), sa.func.sum(COUNTERFACTUAL), sa.func.count())
             .group_by(key).order_by(key))
    return bucket, [(float(k) * bucket, float(s or 0.0), float(c or 0.0), int(n)) for k, s, c, n in _rows(store, query)]


def task_results(store: Store) -> TaskResults:
    """Spend, counterfactual and last reported success of every task that has an outcome."""
    last = sa.select(OUT.task_id, sa.func.max(OUT.outcome_id).label("outcome_id")).group_by(OUT.task_id).subquery()
    reported = (sa.select(OUTCOMES.c.task_id, OUTCOMES.c.success)
                .join(last, OUTCOMES.c.outcome_id == last.c.outcome_id).subquery())
    spend = (sa.select(DEC.task_id, sa.func.sum(SPENT).label("spent"), sa.func.sum(COUNTERFACTUAL).label("cf"))
             .where(DEC.task_id.in_(sa.select(OUT.task_id))).group_by(DEC.task_id).subquery())
    query = (sa.select(reported.c.success, sa.func.coalesce(spend.c.spent, 0.0), sa.func.coalesce(spend.c.cf, 0.0))
             .select_from(reported.outerjoin(spend, reported.c.task_id == spend.c.task_id)))
    rows = _rows(store, query)
    data = np.array([(float(bool(s)), float(sp), float(cf)) for s, sp, cf in rows], dtype=np.float64).reshape(-1, 3)
    return TaskResults(spent_usd=data[:, 1], counterfactual_usd=data[:, 2], success=data[:, 0])


def success_cells(store: Store) -> list[tuple[str, str, int, int]]:
    """(model, category, outcomes, successes) over every reported outcome."""
    query = (sa.select(OUT.model, OUT.category, sa.func.count(), sa.func.sum(sa.case((OUT.success, 1), else_=0)))
             .group_by(OUT.model, OUT.category).order_by(OUT.model, OUT.category))
    return [(str(m), str(c), int(n), int(s or 0)) for m, c, n, s in _rows(store, query)]


def escalations(store: Store) -> list[tuple[str, str, int]]:
    """(from model, to model, decisions) of escalations: `escalated_from`, else parsed from the reason."""
    query = (sa.select(DEC.escalated_from, DEC.reason, DEC.chosen_model, sa.func.count()).where(ESCALATED)
             .group_by(DEC.escalated_from, DEC.reason, DEC.chosen_model))
    counts: dict[tuple[str, str], int] = {}
    for source, reason, target, n in _rows(store, query):
        if not source:
            source = str(reason).removeprefix("escalated from ").split(":", 1)[0].strip()
        counts[(str(source), str(target))] = counts.get((str(source), str(target)), 0) + int(n)
    return sorted(((s, t, n) for (s, t), n in counts.items()), key=lambda r: (-r[2], r[0], r[1]))


def fallbacks(store: Store) -> list[tuple[str, str, int]]:
    """(failed model, model tried next, decisions) of fallbacks after an upstream failure."""
    query = (sa.select(DEC.fallback_from, DEC.chosen_model, sa.func.count()).where(FALLBACK)
             .group_by(DEC.fallback_from, DEC.chosen_model))
    return sorted(((str(s), str(t), int(n)) for s, t, n in _rows(store, query)), key=lambda r: (-r[2], r[0], r[1]))


def failures(store: Store) -> list[tuple[str, int]]:
    """(model, calls that ended `failed`) per model."""
    query = (sa.select(DEC.chosen_model, sa.func.count()).where(DEC.status == "failed")
             .group_by(DEC.chosen_model).order_by(sa.func.count().desc()))
    return [(str(m), int(n)) for m, n in _rows(store, query)]


def by_column(store: Store, column: str) -> list[tuple[str, int, float, float]]:
    """(value, decisions, spent, counterfactual) per value of `profile` or `chosen_model`, dearest first."""
    key = DEC[column]
    query = (sa.select(key, sa.func.count(), sa.func.sum(SPENT), sa.func.sum(COUNTERFACTUAL))
             .group_by(key).order_by(sa.func.sum(SPENT).desc(), key))
    return [(str(k), int(n), float(s or 0.0), float(c or 0.0)) for k, n, s, c in _rows(store, query)]


def budget_totals(store: Store) -> dict[str, float]:
    """Tasks with a budget and the sums of their limits, reservations and spend; refusals and what they asked."""
    b, r = BUDGETS.c, BUDGET_REFUSALS.c
    with store.engine.connect() as conn:
        tasks, limit, reserved, spent = conn.execute(sa.select(
            sa.func.count(), sa.func.sum(b.budget_usd), sa.func.sum(b.reserved_usd), sa.func.sum(b.spent_usd))).one()
        refused, needed, refused_tasks = conn.execute(sa.select(
            sa.func.count(), sa.func.sum(r.needed_usd), sa.func.count(sa.distinct(r.task_id)))).one()
    return {"tasks": int(tasks), "budget_usd": float(limit or 0.0), "reserved_usd": float(reserved or 0.0),
            "spent_usd": float(spent or 0.0), "refusals": int(refused), "refused_needed_usd": float(needed or 0.0),
            "refused_tasks": int(refused_tasks)}


def refusals_by(store: Store) -> list[tuple[str, str, int]]:
    """(profile, cheapest model asked, refusals)."""
    r = BUDGET_REFUSALS.c
    query = (sa.select(r.profile, r.model, sa.func.count()).group_by(r.profile, r.model)
             .order_by(sa.func.count().desc(), r.profile, r.model))
    return [(str(p), str(m), int(n)) for p, m, n in _rows(store, query)]


def calibration_pairs(store: Store) -> tuple[np.ndarray, np.ndarray]:
    """(predicted P(success), realised success) per reported outcome: the P the decision it names gave its
    model, else that of the task's latest decision that chose the outcome's model (outcomes matching none
    are left out)."""
    p = _p_chosen(store)
    named = sa.select(p).where(DEC.decision_id == OUT.decision_id).limit(1).scalar_subquery()
    latest = (sa.select(p).where(DEC.task_id == OUT.task_id).where(DEC.chosen_model == OUT.model)
              .order_by(DEC.created_at.desc()).limit(1).scalar_subquery())
    predicted = sa.case((OUT.decision_id.is_not(None), named), else_=latest).label("p")
    inner = sa.select(predicted, OUT.success.label("success")).subquery()
    query = sa.select(inner.c.p, inner.c.success).where(inner.c.p.is_not(None))
    rows = _rows(store, query)
    data = np.array([(float(pv), float(bool(s))) for pv, s in rows], dtype=np.float64).reshape(-1, 2)
    return data[:, 0], data[:, 1]


def filter_options(store: Store) -> dict[str, list[str]]:
    """The distinct profiles, chosen models and step kinds, for the table's filters."""
    with store.engine.connect() as conn:
        out = {name: sorted(str(v) for v in conn.execute(sa.select(col).distinct()).scalars())
               for name, col in (("profiles", DEC.profile), ("models", DEC.chosen_model), ("steps", DEC.step_kind))}
    out["steps"] = [s if s else NO_STEP for s in out["steps"]]
    return out


def decision_page(store: Store, flt: DecisionFilter, offset: int, limit: int) -> tuple[int, list[DecisionRecord]]:
    """(matching decisions, the page of them from `offset`), newest first."""
    where = flt.where()
    count = sa.select(sa.func.count()).select_from(DECISIONS).where(*where)
    page = (sa.select(DECISIONS).where(*where).order_by(DEC.created_at.desc(), DEC.decision_id.desc())
            .offset(offset).limit(limit))
    with store.engine.connect() as conn:
        total = int(conn.execute(count).scalar() or 0)
        rows = [_decision_from(row) for row in conn.execute(page).mappings()]
    return total, rows
