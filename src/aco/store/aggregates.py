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
    """Per task with a reported outcome: its spend, its counterfactual, its last reported success, and the
    P(success) predicted for it (NaN when no decision matches the outcome)."""

    spent_usd: np.ndarray
    counterfactual_usd: np.ndarray
    success: np.ndarray
    p_success: np.ndarray


def _rows(store: Store, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query).all()]


def _floor(store: Store, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """floor() of a non-negative number (SQLite's CAST truncates; PostgreSQL's would round)."""
    if store.engine.dialect.name == "sqlite":
        return sa.cast(expr, sa.Integer)
    return sa.func.floor(expr)


def _p_chosen(store: Store, table: Any) -> sa.ColumnElement[Any]:
    """A decision's P(success) of the model it chose (from the JSON of P per candidate); `table`: DECISIONS or an
    alias of it."""
    c = table.c
    if store.engine.dialect.name == "sqlite":
        path = sa.literal('$."') + c.chosen_model + sa.literal('"')
        return sa.case((sa.func.instr(c.chosen_model, '"') == 0, sa.func.json_extract(c.p_success_by_model, path)))
    return sa.cast(c.p_success_by_model.op("->>")(c.chosen_model), sa.Float)


@dataclass(frozen=True, slots=True)
class Rollup:
    """Decisions summed two ways, each one GROUP BY: per time bucket (the spend series) and per (profile, model,
    status) (read in the order of an index, no sort of the table); together they serve the totals and the
    per-profile and per-model splits."""

    bucket_s: int
    series: list[tuple[float, int, float, float]]  # (bucket start, decisions, spent, counterfactual), oldest first
    cells: list[tuple[str, str, str, int, float, float, float]]  # (profile, model, status, decisions, spent,
    #                                                                counterfactual, open reserved)

    def spend_series(self) -> list[tuple[float, float, float, int]]:
        """[(bucket start, spent, counterfactual, decisions)], oldest first."""
        return [(t, spent, cf, n) for t, n, spent, cf in self.series]

    def by(self, field: str) -> list[tuple[str, int, float, float]]:
        """(value, decisions, spent, counterfactual) per `profile` or `model`, dearest first."""
        col = {"profile": 0, "model": 1}[field]
        acc: dict[str, list[float]] = {}
        for row in self.cells:
            a = acc.setdefault(str(row[col]), [0.0, 0.0, 0.0])
            a[0] += row[3]
            a[1] += row[4]
            a[2] += row[5]
        return sorted(((k, int(a[0]), a[1], a[2]) for k, a in acc.items()), key=lambda r: (-r[2], r[0]))


def rollup(store: Store) -> Rollup:
    """The decisions' first and last time (which set the bucket), then the two GROUP BYs of `Rollup`."""
    with store.engine.connect() as conn:  # min and max apart: each is one step along the time index
        first = conn.execute(sa.select(sa.func.min(DEC.created_at))).scalar()
        last = conn.execute(sa.select(sa.func.max(DEC.created_at))).scalar()
    if first is None or last is None:
        return Rollup(BUCKETS_S[0], [], [])
    bucket = bucket_seconds(float(first), float(last))
    key = _floor(store, DEC.created_at / bucket).label("bucket")
    by_time = (sa.select(key, sa.func.count(), sa.func.sum(SPENT), sa.func.sum(COUNTERFACTUAL))
               .group_by(key).order_by(key))
    by_split = (sa.select(DEC.profile, DEC.chosen_model, DEC.status, sa.func.count(), sa.func.sum(SPENT),
                          sa.func.sum(COUNTERFACTUAL),
                          sa.func.sum(sa.case((DEC.status == "open", DEC.reserved_usd), else_=0.0)))
                .group_by(DEC.profile, DEC.chosen_model, DEC.status))
    series = [(float(k) * bucket, int(n), float(s or 0.0), float(c or 0.0)) for k, n, s, c in _rows(store, by_time)]
    cells = [(str(p), str(m), str(st), int(n), float(s or 0.0), float(c or 0.0), float(o or 0.0))
             for p, m, st, n, s, c, o in _rows(store, by_split)]
    return Rollup(bucket, series, cells)


def totals(store: Store, rolled: Rollup | None = None, escalated: list[tuple[str, str, int]] | None = None,
           fell_back: list[tuple[str, str, int]] | None = None) -> Totals:
    """Store-wide figures; `rolled`, `escalated` and `fell_back` (`rollup`, `escalations` and `fallbacks` of
    this store) are queried when not given."""
    rolled = rolled if rolled is not None else rollup(store)
    escalated = escalated if escalated is not None else escalations(store)
    fell_back = fell_back if fell_back is not None else fallbacks(store)
    statuses: dict[str, int] = {}
    for row in rolled.cells:
        statuses[row[2]] = statuses.get(row[2], 0) + row[3]
    tasks_query = sa.select(sa.func.count()).select_from(sa.select(DEC.task_id).distinct().subquery())
    outcome_query = sa.select(sa.func.count(), sa.func.sum(sa.case((OUT.success, 1), else_=0)))
    with store.engine.connect() as conn:
        tasks = conn.execute(tasks_query).scalar()
        outcomes, successes = conn.execute(outcome_query).one()
    r = rolled.cells
    return Totals(decisions=sum(x[3] for x in r), tasks=int(tasks or 0), spent_usd=sum(x[4] for x in r),
                  counterfactual_usd=sum(x[5] for x in r), open_reserved_usd=sum(x[6] for x in r),
                  escalations=sum(x[2] for x in escalated), fallbacks=sum(x[2] for x in fell_back),
                  by_status=statuses, outcomes=int(outcomes), successes=int(successes or 0))


def fingerprint(store: Store) -> tuple[Any, ...]:
    """A cheap mark of the store's state (index-backed counts and ids): any new or settled decision, outcome,
    budget or refusal changes it (a decision is settled once, which lowers the count of open ones)."""
    refusal = BUDGET_REFUSALS.c.refusal_id
    with store.engine.connect() as conn:
        decisions = conn.execute(sa.select(sa.func.count()).select_from(DECISIONS)).scalar()
        still_open = conn.execute(sa.select(sa.func.count()).where(DEC.status == "open")).scalar()
        outcomes = conn.execute(sa.select(sa.func.count(), sa.func.max(OUT.outcome_id))).one()
        refusals = conn.execute(sa.select(sa.func.count(), sa.func.max(refusal))).one()
        budgets = conn.execute(sa.select(sa.func.count()).select_from(BUDGETS)).scalar()
    return (decisions, still_open, *outcomes, *refusals, budgets)


def bucket_seconds(first_s: float, last_s: float) -> int:
    """The smallest bucket of `BUCKETS_S` that cuts [first_s, last_s] into at most `MAX_BUCKETS` buckets."""
    span = max(last_s - first_s, 0.0)
    return next((b for b in BUCKETS_S if span / b <= MAX_BUCKETS), BUCKETS_S[-1])


def _driver_rows(store: Store, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """A query's rows as the driver's plain tuples (no type processing). For queries that return many rows: a
    tuple of strings and numbers is soon left alone by the garbage collector, where SQLAlchemy's Row objects
    stay tracked and make it sweep the whole heap."""
    sql = str(query.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()


def task_results(store: Store) -> TaskResults:
    """Every task with a reported outcome, in one query: its decisions' spend and counterfactual, its last
    outcome, and the prediction that outcome is checked against: the P(success) the decision the outcome names
    gave its model, else the one the task's last decision gave its model when that is the outcome's model."""
    per_task = (sa.select(DEC.task_id, sa.func.sum(SPENT).label("spent"), sa.func.sum(COUNTERFACTUAL).label("cf"),
                          sa.func.max(DEC.created_at).label("last_t"))
                .group_by(DEC.task_id).subquery())  # every task (read in index order); the join keeps those reported
    last = sa.select(OUT.task_id, sa.func.max(OUT.outcome_id).label("oid")).group_by(OUT.task_id).subquery()
    outcome, last_decision, named = OUTCOMES.alias("o"), DECISIONS.alias("dl"), DECISIONS.alias("dn")
    joined = (last.join(outcome, outcome.c.outcome_id == last.c.oid)
              .outerjoin(per_task, per_task.c.task_id == last.c.task_id)
              .outerjoin(last_decision, sa.and_(last_decision.c.task_id == per_task.c.task_id,
                                                last_decision.c.created_at == per_task.c.last_t))
              .outerjoin(named, named.c.decision_id == outcome.c.decision_id))
    predicted = sa.case(
        (outcome.c.decision_id.is_not(None), _p_chosen(store, named)),
        (last_decision.c.chosen_model == outcome.c.model, _p_chosen(store, last_decision)))
    query = sa.select(last.c.task_id, sa.func.coalesce(per_task.c.spent, 0.0), sa.func.coalesce(per_task.c.cf, 0.0),
                      sa.case((outcome.c.success, 1.0), else_=0.0), predicted).select_from(joined)
    rows = _driver_rows(store, query)
    if len({row[0] for row in rows}) < len(rows):  # two last decisions at the same instant: keep one
        rows = list({row[0]: row for row in reversed(rows)}.values())[::-1]
    arr = np.array([row[1:] for row in rows], dtype=np.float64).reshape(-1, 4)  # NULL (no prediction) as NaN
    return TaskResults(spent_usd=arr[:, 0], counterfactual_usd=arr[:, 1], success=arr[:, 2], p_success=arr[:, 3])


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


def filter_options(store: Store) -> dict[str, list[str]]:
    """The distinct profiles, chosen models and step kinds, for the table's filters (one scan)."""
    query = sa.select(DEC.profile, DEC.chosen_model, DEC.step_kind).distinct()
    rows = _rows(store, query)
    return {"profiles": sorted({str(r[0]) for r in rows}), "models": sorted({str(r[1]) for r in rows}),
            "steps": sorted({str(r[2]) or NO_STEP for r in rows})}


def decision_page(store: Store, flt: DecisionFilter, offset: int, limit: int) -> tuple[int, list[DecisionRecord]]:
    """(matching decisions, the page of them from `offset`), newest first."""
    where = flt.where()
    count = sa.select(sa.func.count()).select_from(DECISIONS).where(*where)
    order = (DEC.created_at.desc(), DEC.decision_id.desc())
    ids = sa.select(DEC.decision_id).where(*where).order_by(*order).offset(offset).limit(limit)  # narrow sort
    page = sa.select(DECISIONS).where(DEC.decision_id.in_(ids.scalar_subquery())).order_by(*order)
    with store.engine.connect() as conn:
        total = int(conn.execute(count).scalar() or 0)
        rows = [_decision_from(row) for row in conn.execute(page).mappings()]
    return total, rows
