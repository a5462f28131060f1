"""The decision/outcome/budget store: SQLite (WAL) by default, PostgreSQL by URL, SQLAlchemy 2.0 Core.

Thread-safe (one engine, a connection per call) and usable from several processes: every write is one
transaction, and a budget reservation is a single conditional UPDATE, so it can never overspend.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite

from aco.errors import ConfigError
from aco.records import Usage
from aco.store.records import (
    Admission,
    BudgetState,
    DecisionRecord,
    OutcomeRecord,
    RefusalRecord,
    VerdictRecord,
    now_s,
)
from aco.store.schema import BUDGET_REFUSALS, BUDGETS, DECISIONS, MIGRATIONS, OUTCOMES, SCHEMA_VERSION, VERDICTS

_EPS_USD = 1e-12
CategoryModelStat = tuple[str, str, int, float, float]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _make_engine(url: str) -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"store URL {url!r} is not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        try:
            return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"PostgreSQL store needs the driver: pip install 'aco[postgres]' ({exc})") from None
    raise ConfigError(f"unsupported store backend {backend!r} in {url!r}: use sqlite:/// or postgresql+psycopg://")


def _decision_row(rec: DecisionRecord) -> dict[str, Any]:
    return {
        "decision_id": rec.decision_id, "task_id": rec.task_id, "profile": rec.profile,
        "step_kind": rec.step_kind, "category": rec.category, "candidates": list(rec.candidates),
        "chosen_model": rec.chosen_model, "propensity": float(rec.propensity),
        "p_success_by_model": {k: float(v) for k, v in rec.p_success_by_model.items()},
        "features": {k: float(v) for k, v in rec.features.items()}, "reason": rec.reason,
        "reserved_usd": float(rec.reserved_usd), "created_at": float(rec.created_at),
        "endpoint": rec.endpoint, "fallback_from": rec.fallback_from, "escalated_from": rec.escalated_from,
        "status": rec.status, "cost_usd": rec.cost_usd, "counterfactual_usd": rec.counterfactual_usd,
        **_usage_row(rec.usage), "settled_at": rec.settled_at,
    }


_USAGE_FIELDS = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens")


def _usage_row(usage: Usage | None) -> dict[str, int | None]:
    return {name: None if usage is None else int(getattr(usage, name)) for name in _USAGE_FIELDS}


def _decision_from(row: sa.RowMapping) -> DecisionRecord:
    usage = None
    if any(row[name] is not None for name in _USAGE_FIELDS):
        usage = Usage(**{name: int(row[name] or 0) for name in _USAGE_FIELDS})
    return DecisionRecord(
        decision_id=row["decision_id"], task_id=row["task_id"], profile=row["profile"],
        step_kind=row["step_kind"], category=row["category"], candidates=tuple(row["candidates"]),
        chosen_model=row["chosen_model"], propensity=row["propensity"],
        p_success_by_model=dict(row["p_success_by_model"]), features=dict(row["features"]),
        reason=row["reason"], reserved_usd=row["reserved_usd"], created_at=row["created_at"],
        endpoint=row["endpoint"], fallback_from=row["fallback_from"], escalated_from=row["escalated_from"],
        status=row["status"], cost_usd=row["cost_usd"], counterfactual_usd=row["counterfactual_usd"],
        usage=usage, settled_at=row["settled_at"])


def _outcome_from(row: sa.RowMapping) -> OutcomeRecord:
    return OutcomeRecord(
        task_id=row["task_id"], decision_id=row["decision_id"], model=row["model"], score=row["score"],
        success=bool(row["success"]), cost_usd=row["cost_usd"], verifier=row["verifier"],
        created_at=row["created_at"], category=row["category"])


class _Statements:
    """Budget statements built once with bind parameters (building SQL constructs per call is the slow part)."""

    def __init__(self, dialect: str) -> None:
        task = sa.bindparam("b_task_id", type_=sa.String)
        amount = sa.bindparam("amount_usd", type_=sa.Float)
        self.reserve = (sa.update(BUDGETS).where(BUDGETS.c.task_id == task)
                        .where(BUDGETS.c.spent_usd + BUDGETS.c.reserved_usd + amount <= BUDGETS.c.budget_usd + _EPS_USD)
                        .values(reserved_usd=BUDGETS.c.reserved_usd + amount))
        self.exists = sa.select(BUDGETS.c.task_id).where(BUDGETS.c.task_id == task)
        release = BUDGETS.c.reserved_usd - sa.bindparam("b_reserved_usd", type_=sa.Float)
        floor = sa.func.max(release, 0.0) if dialect == "sqlite" else sa.func.greatest(release, 0.0)
        self.settle = (sa.update(BUDGETS).where(BUDGETS.c.task_id == task)
                       .values(reserved_usd=floor,
                               spent_usd=BUDGETS.c.spent_usd + sa.bindparam("actual_usd", type_=sa.Float)))
        self.insert_decision = sa.insert(DECISIONS)
        self.finish_decision = (
            sa.update(DECISIONS)
            .where(DECISIONS.c.decision_id == sa.bindparam("b_decision_id", type_=sa.String))
            .where(DECISIONS.c.status.in_(("open", "advisory")))
            .values(status=sa.bindparam("b_status", type_=sa.String),
                    cost_usd=sa.bindparam("b_cost_usd", type_=sa.Float),
                    counterfactual_usd=sa.bindparam("b_counterfactual_usd", type_=sa.Float),
                    settled_at=sa.bindparam("b_settled_at", type_=sa.Float),
                    **{name: sa.bindparam(f"b_{name}", type_=sa.Integer) for name in _USAGE_FIELDS}))
        self.reservation_of = sa.select(DECISIONS.c.task_id, DECISIONS.c.reserved_usd).where(
            DECISIONS.c.decision_id == sa.bindparam("b_decision_id", type_=sa.String))
        self.open_budget: sa.Executable | None = None
        if dialect in ("sqlite", "postgresql"):
            module = sa.dialects.sqlite if dialect == "sqlite" else sa.dialects.postgresql
            self.open_budget = module.insert(BUDGETS).on_conflict_do_nothing(index_elements=["task_id"])


class Store:
    """Persisted decisions, outcomes and per-task budgets. Build with `Store.open(url)`."""

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._sql = _Statements(engine.dialect.name)

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to `url` (e.g. `sqlite:///aco.db`, `postgresql+psycopg://...`) and apply migrations."""
        store = cls(_make_engine(url), url)
        store.migrate()
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- migrations --------------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(SCHEMA_VERSION.name):
                return 0
            return int(conn.execute(sa.select(sa.func.max(SCHEMA_VERSION.c.version))).scalar() or 0)

    def migrate(self) -> int:
        """Apply every migration newer than the stored version, each in its own transaction."""
        for version, step in MIGRATIONS:
            try:
                with self.engine.begin() as conn:
                    SCHEMA_VERSION.create(conn, checkfirst=True)
                    current = conn.execute(sa.select(sa.func.max(SCHEMA_VERSION.c.version))).scalar() or 0
                    if current >= version:
                        continue
                    step(conn)
                    conn.execute(sa.insert(SCHEMA_VERSION).values(version=version, applied_at=now_s()))
            except (sa.exc.IntegrityError, sa.exc.OperationalError, sa.exc.ProgrammingError):
                # another process applied it at the same moment: re-check and go on
                if self.schema_version() < version:
                    raise
        return self.schema_version()

    # --- decisions and outcomes --------------------------------------------------------------------
    def record_decision(self, rec: DecisionRecord) -> str:
        """Persist a decision (one transaction); returns its id."""
        with self.engine.begin() as conn:
            conn.execute(self._sql.insert_decision, _decision_row(rec))
        return rec.decision_id

    def record_outcome(self, rec: OutcomeRecord) -> None:
        """Persist an outcome; an empty category is taken from the decision (or the task's last one)."""
        with self.engine.begin() as conn:
            if not rec.category:
                query = sa.select(DECISIONS.c.category).where(DECISIONS.c.task_id == rec.task_id)
                if rec.decision_id:
                    query = sa.select(DECISIONS.c.category).where(DECISIONS.c.decision_id == rec.decision_id)
                category = conn.execute(query.order_by(DECISIONS.c.created_at.desc()).limit(1)).scalar()
                rec = replace(rec, category=category or "")
            conn.execute(sa.insert(OUTCOMES).values(
                task_id=rec.task_id, decision_id=rec.decision_id, model=rec.model, category=rec.category,
                score=float(rec.score), success=bool(rec.success), cost_usd=float(rec.cost_usd),
                verifier=rec.verifier, created_at=float(rec.created_at)))

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(DECISIONS).where(DECISIONS.c.decision_id == decision_id)).mappings().first()
        return _decision_from(row) if row is not None else None

    def decisions(self, task_id: str | None = None, limit: int | None = None) -> list[DecisionRecord]:
        """Decisions in creation order (optionally of one task, optionally the first `limit`)."""
        query = sa.select(DECISIONS).order_by(DECISIONS.c.created_at, DECISIONS.c.decision_id)
        if task_id is not None:
            query = query.where(DECISIONS.c.task_id == task_id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_decision_from(row) for row in conn.execute(query).mappings()]

    def outcomes(self, task_id: str | None = None) -> list[OutcomeRecord]:
        query = sa.select(OUTCOMES).order_by(OUTCOMES.c.outcome_id)
        if task_id is not None:
            query = query.where(OUTCOMES.c.task_id == task_id)
        with self.engine.connect() as conn:
            return [_outcome_from(row) for row in conn.execute(query).mappings()]

    def record_verdict(self, rec: VerdictRecord) -> None:
        """Persist a verifier's verdict on a decision (one row per verifier and answer)."""
        with self.engine.begin() as conn:
            conn.execute(sa.insert(VERDICTS).values(
                decision_id=rec.decision_id, task_id=rec.task_id, verifier=rec.verifier,
                p_correct=None if rec.p_correct is None else float(rec.p_correct), reason=rec.reason,
                signals={k: float(v) for k, v in rec.signals.items()}, cost_usd=float(rec.cost_usd),
                created_at=float(rec.created_at)))

    def verdicts(self, *, task_id: str | None = None, decision_id: str | None = None,
                 verifier: str | None = None) -> list[VerdictRecord]:
        """Verdicts in the order they were recorded, optionally of one task, decision or verifier."""
        query = sa.select(VERDICTS).order_by(VERDICTS.c.verdict_id)
        for column, value in ((VERDICTS.c.task_id, task_id), (VERDICTS.c.decision_id, decision_id),
                              (VERDICTS.c.verifier, verifier)):
            if value is not None:
                query = query.where(column == value)
        with self.engine.connect() as conn:
            return [VerdictRecord(decision_id=r["decision_id"], task_id=r["task_id"], verifier=r["verifier"],
                                  p_correct=r["p_correct"], reason=r["reason"], signals=dict(r["signals"]),
                                  cost_usd=r["cost_usd"], created_at=r["created_at"])
                    for r in conn.execute(query).mappings()]

    def category_model_stats(self) -> list[CategoryModelStat]:
        """(category, model, n, success_sum, cost_usd_sum) over all outcomes, aggregated in SQL."""
        succ = sa.func.sum(sa.case((OUTCOMES.c.success, 1.0), else_=0.0))
        cost = sa.func.sum(OUTCOMES.c.cost_usd)
        query = (sa.select(OUTCOMES.c.category, OUTCOMES.c.model, sa.func.count(), succ, cost)
                 .group_by(OUTCOMES.c.category, OUTCOMES.c.model)
                 .order_by(OUTCOMES.c.category, OUTCOMES.c.model))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(str(c), str(m), int(n), float(s or 0.0), float(usd or 0.0)) for c, m, n, s, usd in rows]

    # --- budgets -----------------------------------------------------------------------------------
    def open_budget(self, task_id: str, budget_usd: float) -> None:
        """Create the task's budget if it has none (an existing budget is kept as it is)."""
        with self.engine.begin() as conn:
            self._open_budget(conn, task_id, budget_usd)

    def _open_budget(self, conn: sa.Connection, task_id: str, budget_usd: float) -> None:
        if budget_usd < 0:
            raise ValueError(f"budget_usd must be >= 0, got {budget_usd}")
        row = {"task_id": task_id, "budget_usd": float(budget_usd), "reserved_usd": 0.0, "spent_usd": 0.0}
        if self._sql.open_budget is not None:
            conn.execute(self._sql.open_budget, row)
        elif conn.execute(self._sql.exists, {"b_task_id": task_id}).first() is None:  # pragma: no cover
            conn.execute(sa.insert(BUDGETS), row)

    def reserve(self, task_id: str, amount_usd: float) -> bool:
        """Atomically reserve `amount_usd` of the task's budget; False (nothing reserved) if it would overspend.

        A task without a budget has no limit (True). One conditional UPDATE: the row lock (PostgreSQL) or
        the database write lock (SQLite) makes the check and the increment one step, across processes.
        """
        if amount_usd < 0:
            raise ValueError(f"amount_usd must be >= 0, got {amount_usd}")
        params = {"b_task_id": task_id, "amount_usd": float(amount_usd)}
        with self.engine.begin() as conn:
            if conn.execute(self._sql.reserve, params).rowcount == 1:
                return True
            return conn.execute(self._sql.exists, params).first() is None

    def reserve_and_record(self, rec: DecisionRecord, open_budget_usd: float | None = None) -> Admission:
        """One transaction: open the task's budget (with `open_budget_usd`, if it has none yet), reserve
        `rec.reserved_usd` of it and persist the decision.

        Not admitted (and nothing written but the budget) when the reservation would overspend. `budgeted` says
        whether the task has a budget (whose reservations must be settled).
        """
        params = {"b_task_id": rec.task_id, "amount_usd": float(rec.reserved_usd)}
        with self.engine.begin() as conn:
            if open_budget_usd is not None:
                self._open_budget(conn, rec.task_id, open_budget_usd)
            if rec.reserved_usd > 0 and conn.execute(self._sql.reserve, params).rowcount == 1:
                budgeted = True
            else:
                budgeted = open_budget_usd is not None or conn.execute(self._sql.exists, params).first() is not None
                if budgeted and rec.reserved_usd > 0:
                    return Admission(ok=False, budgeted=True)
            conn.execute(self._sql.insert_decision, _decision_row(rec))
        return Admission(ok=True, budgeted=budgeted)

    def settle(self, task_id: str, reserved_usd: float, actual_usd: float) -> None:
        """Release a reservation and book the actual cost (one UPDATE; no-op for a task without budget).

        Prefer `settle_decision`, which also records what the call cost on the decision and settles only once.
        """
        with self.engine.begin() as conn:
            conn.execute(self._sql.settle, {"b_task_id": task_id, "b_reserved_usd": float(reserved_usd),
                                            "actual_usd": float(actual_usd)})

    def settle_decision(self, decision_id: str, cost_usd: float, *, usage: Usage | None = None,
                        counterfactual_usd: float | None = None, status: str = "settled",
                        settled_at: float | None = None) -> bool:
        """End an open decision's call in one transaction: record its cost and usage on the decision, release
        its reservation and book `cost_usd` on its task's budget.

        Idempotent: only an `open` (or `advisory`: no reservation, the caller made the call) decision is settled
        (True); settling it again, or an unknown id, changes nothing and returns False, so a reservation is
        never released twice.
        """
        if status not in ("settled", "failed", "expired"):
            raise ValueError(f"status must be settled, failed or expired, got {status!r}")
        if cost_usd < 0:
            raise ValueError(f"cost_usd must be >= 0, got {cost_usd}")
        params: dict[str, Any] = {
            "b_decision_id": decision_id, "b_status": status, "b_cost_usd": float(cost_usd),
            "b_counterfactual_usd": None if counterfactual_usd is None else float(counterfactual_usd),
            "b_settled_at": now_s() if settled_at is None else float(settled_at),
            **{f"b_{k}": v for k, v in _usage_row(usage).items()}}
        with self.engine.begin() as conn:
            if conn.execute(self._sql.finish_decision, params).rowcount != 1:
                return False
            task_id, reserved_usd = conn.execute(self._sql.reservation_of, params).one()
            conn.execute(self._sql.settle, {"b_task_id": task_id, "b_reserved_usd": float(reserved_usd),
                                            "actual_usd": float(cost_usd)})
        return True

    def expire_reservations(self, older_than_s: float, now: float | None = None) -> list[DecisionRecord]:
        """Settle every decision still `open` that was made more than `older_than_s` ago (its process died or
        lost the call): the reservation is released and its amount booked as spent (the call may have been
        billed; the estimate keeps the budget safe), status `expired`. Returns the expired decisions."""
        cutoff = (now_s() if now is None else now) - older_than_s
        query = (sa.select(DECISIONS).where(DECISIONS.c.status == "open").where(DECISIONS.c.created_at < cutoff)
                 .order_by(DECISIONS.c.created_at))
        with self.engine.connect() as conn:
            stale = [_decision_from(row) for row in conn.execute(query).mappings()]
        return [rec for rec in stale
                if self.settle_decision(rec.decision_id, rec.reserved_usd, status="expired")]

    def record_refusal(self, rec: RefusalRecord) -> None:
        """Log a call refused for lack of budget (the dashboard's "refused" figures)."""
        with self.engine.begin() as conn:
            conn.execute(sa.insert(BUDGET_REFUSALS).values(
                task_id=rec.task_id, profile=rec.profile, category=rec.category, model=rec.model,
                needed_usd=float(rec.needed_usd),
                remaining_usd=None if rec.remaining_usd is None else float(rec.remaining_usd),
                created_at=float(rec.created_at)))

    def refusals(self, task_id: str | None = None) -> list[RefusalRecord]:
        query = sa.select(BUDGET_REFUSALS).order_by(BUDGET_REFUSALS.c.refusal_id)
        if task_id is not None:
            query = query.where(BUDGET_REFUSALS.c.task_id == task_id)
        with self.engine.connect() as conn:
            return [RefusalRecord(task_id=r["task_id"], profile=r["profile"], model=r["model"],
                                  needed_usd=r["needed_usd"], remaining_usd=r["remaining_usd"],
                                  category=r["category"], created_at=r["created_at"])
                    for r in conn.execute(query).mappings()]

    def budget(self, task_id: str) -> tuple[float, float, float] | None:
        """(budget_usd, reserved_usd, spent_usd) of the task, or None when it has no budget."""
        state = self.budget_state(task_id)
        return None if state is None else (state.budget_usd, state.reserved_usd, state.spent_usd)

    def budget_state(self, task_id: str) -> BudgetState | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(BUDGETS).where(BUDGETS.c.task_id == task_id)).mappings().first()
        if row is None:
            return None
        return BudgetState(row["budget_usd"], row["reserved_usd"], row["spent_usd"])
