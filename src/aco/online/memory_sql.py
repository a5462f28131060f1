"""`StoreMemory`: Memory on the SQL trace store (`aco.store`, SQLite WAL by default, PostgreSQL by URL).

Every decision and outcome is written through to the store (one committed transaction each), so a crash
loses nothing that was recorded and another process (the live proxy) reads the same experience. Reads
(per-(category, model) statistics, nearest neighbours) go to an in-process index that `refresh()`
rebuilds from the store; it is built when the memory is opened, so a restart resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aco.online.memory import Experience, InMemoryMemory, LoggedDecision, ModelStats, Neighbours
from aco.store import DecisionRecord, OutcomeRecord, Store

DEFAULT_PROFILE = "online"


def _to_record(decision: LoggedDecision, profile: str) -> DecisionRecord:
    return DecisionRecord(
        decision_id=decision.decision_id, task_id=decision.task_id, profile=profile,
        chosen_model=decision.chosen_model, category=decision.category, candidates=decision.candidates,
        propensity=decision.propensity, p_success_by_model=dict(decision.p_success_by_model),
        features=dict(decision.features), reason=decision.reason)


def _from_record(rec: DecisionRecord) -> LoggedDecision:
    return LoggedDecision(
        decision_id=rec.decision_id, task_id=rec.task_id, category=rec.category, candidates=rec.candidates,
        chosen_model=rec.chosen_model, propensity=rec.propensity,
        p_success_by_model=dict(rec.p_success_by_model), features=dict(rec.features), reason=rec.reason)


class StoreMemory:
    """Write-through Memory on a `Store`; the index is rebuilt from the store on open and `refresh()`."""

    def __init__(self, store: Store, n_features: int = 256, profile: str = DEFAULT_PROFILE) -> None:
        self.store = store
        self.n_features = n_features
        self.profile = profile
        self._index = InMemoryMemory(n_features)
        self.refresh()

    @classmethod
    def open(cls, url: str, n_features: int = 256, profile: str = DEFAULT_PROFILE) -> StoreMemory:
        """Open (and migrate) the store at `url` and load its experience."""
        return cls(Store.open(url), n_features, profile)

    def close(self) -> None:
        self.store.close()

    def refresh(self) -> None:
        """Rebuild the read index from everything committed in the store (by any process)."""
        index = InMemoryMemory(self.n_features)
        decisions = {d.decision_id: d for d in self.store.decisions()}
        for d in decisions.values():
            index.record_decision(_from_record(d))
        for out in self.store.outcomes():
            dec = decisions.get(out.decision_id or "")
            index.record_outcome(Experience(
                task_id=out.task_id, category=out.category, model=out.model, score=out.score,
                success=out.success, cost_usd=out.cost_usd, verifier=out.verifier, decision_id=out.decision_id,
                features=dict(dec.features) if dec is not None else {}))
        self._index = index

    def record_decision(self, decision: LoggedDecision) -> str:
        decision_id = self.store.record_decision(_to_record(decision, self.profile))
        self._index.record_decision(decision)
        return decision_id

    def record_outcome(self, experience: Experience) -> None:
        self.store.record_outcome(OutcomeRecord(
            task_id=experience.task_id, model=experience.model, score=experience.score,
            success=experience.success, cost_usd=experience.cost_usd, decision_id=experience.decision_id,
            verifier=experience.verifier, category=experience.category))
        self._index.record_outcome(experience)

    def stats(self, models: Sequence[str], category: str | None = None) -> ModelStats:
        return self._index.stats(models, category)

    def neighbours(self, features: np.ndarray, models: Sequence[str], k: int) -> Neighbours:
        return self._index.neighbours(features, models, k)

    def decisions(self) -> list[LoggedDecision]:
        return self._index.decisions()

    def outcomes(self) -> list[Experience]:
        return self._index.outcomes()
