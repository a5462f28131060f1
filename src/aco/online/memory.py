"""Memory: the execution-grounded experience the orchestrator reads before deciding and writes after.

Every decision (task, candidates, chosen model, its propensity, P(success) per candidate, features) and
every outcome is recorded. The orchestrator reads per-(category, model) statistics and the k nearest past
tasks. `InMemoryMemory` keeps it all in arrays (fast streaming replay); `aco.online.memory_sql.StoreMemory`
writes through to the SQL trace store and rebuilds the same index when reopened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """One decision as logged: enough to replay it and to evaluate other policies off-policy."""

    decision_id: str
    task_id: str
    category: str
    candidates: tuple[str, ...]
    chosen_model: str
    propensity: float
    p_success_by_model: dict[str, float] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Experience:
    """One observed outcome: what `model` gave on a task, as judged by `verifier`."""

    task_id: str
    category: str
    model: str
    score: float
    success: bool
    cost_usd: float
    verifier: str
    decision_id: str | None = None
    features: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelStats:
    """Per-model sums over a slice of memory, in the order of the requested models."""

    n: np.ndarray
    score_sum: np.ndarray
    cost_usd_sum: np.ndarray


@dataclass(frozen=True)
class Neighbours:
    """The k nearest past outcomes: cosine similarity, model position and score of each."""

    similarity: np.ndarray
    model_idx: np.ndarray
    score: np.ndarray


def dense(features: dict[str, float], n_features: int) -> np.ndarray:
    """A sparse `{"f<j>": value}` feature dict as a dense vector of length `n_features`."""
    out = np.zeros(n_features)
    for key, value in features.items():
        j = int(key[1:])
        if 0 <= j < n_features:
            out[j] = value
    return out


def sparse(vector: np.ndarray) -> dict[str, float]:
    """The non-zero entries of a feature vector as `{"f<j>": value}` (how the store keeps them)."""
    nz = np.flatnonzero(vector)
    return {f"f{j}": float(vector[j]) for j in nz}


class Memory(Protocol):
    """What the orchestrator needs from a trace store."""

    def record_decision(self, decision: LoggedDecision) -> str: ...

    def record_outcome(self, experience: Experience) -> None: ...

    def stats(self, models: Sequence[str], category: str | None = None) -> ModelStats: ...

    def neighbours(self, features: np.ndarray, models: Sequence[str], k: int) -> Neighbours: ...

    def decisions(self) -> list[LoggedDecision]: ...

    def outcomes(self) -> list[Experience]: ...


class InMemoryMemory:
    """Memory in process arrays; kNN is one matrix-vector product over the past feature rows."""

    def __init__(self, n_features: int = 256) -> None:
        self.n_features = n_features
        self._decisions: list[LoggedDecision] = []
        self._outcomes: list[Experience] = []
        self._rows = np.zeros((64, n_features))
        self._sums: dict[tuple[str, str], np.ndarray] = {}  # (category, model) -> [n, score, cost]

    def record_decision(self, decision: LoggedDecision) -> str:
        self._decisions.append(decision)
        return decision.decision_id

    def record_outcome(self, experience: Experience) -> None:
        n = len(self._outcomes)
        if n == len(self._rows):
            self._rows = np.vstack([self._rows, np.zeros_like(self._rows)])
        self._rows[n] = dense(experience.features, self.n_features)
        self._outcomes.append(experience)
        key = (experience.category, experience.model)
        sums = self._sums.setdefault(key, np.zeros(3))
        sums += (1.0, experience.score, experience.cost_usd)

    def stats(self, models: Sequence[str], category: str | None = None) -> ModelStats:
        out = np.zeros((len(models), 3))
        for j, model in enumerate(models):
            for (cat, name), sums in self._sums.items():
                if name == model and (category is None or cat == category):
                    out[j] += sums
        return ModelStats(n=out[:, 0], score_sum=out[:, 1], cost_usd_sum=out[:, 2])

    def neighbours(self, features: np.ndarray, models: Sequence[str], k: int) -> Neighbours:
        n = len(self._outcomes)
        if n == 0 or k <= 0:
            return Neighbours(np.zeros(0), np.zeros(0, dtype=int), np.zeros(0))
        sim = self._rows[:n] @ np.asarray(features, dtype=float)
        top = np.argsort(-sim, kind="stable")[:k]
        lookup = {name: j for j, name in enumerate(models)}
        idx = np.array([lookup.get(self._outcomes[i].model, -1) for i in top], dtype=int)
        keep = idx >= 0
        scores = np.array([self._outcomes[i].score for i in top])
        return Neighbours(sim[top][keep], idx[keep], scores[keep])

    def decisions(self) -> list[LoggedDecision]:
        return list(self._decisions)

    def outcomes(self) -> list[Experience]:
        return list(self._outcomes)

    def to_state(self) -> dict[str, Any]:
        """The outcomes as arrays (features as a sparse CSR matrix; decisions are not kept): an artifact's copy."""
        out = self._outcomes
        names = {"task": sorted({e.task_id for e in out}), "category": sorted({e.category for e in out}),
                 "model": sorted({e.model for e in out}), "verifier": sorted({e.verifier for e in out})}
        codes = {key: np.array([values.index(getattr(e, "task_id" if key == "task" else key)) for e in out],
                               dtype=np.int64) for key, values in names.items()}
        indptr, indices, data = [0], [], []
        for e in out:
            for key, value in e.features.items():
                indices.append(int(key[1:]))
                data.append(value)
            indptr.append(len(indices))
        return {"n_features": self.n_features, "names": names, "codes": codes,
                "score": np.array([e.score for e in out]), "success": np.array([e.success for e in out]),
                "cost_usd": np.array([e.cost_usd for e in out]), "indptr": np.array(indptr, dtype=np.int64),
                "indices": np.array(indices, dtype=np.int64), "data": np.array(data, dtype=float)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> InMemoryMemory:
        """A memory holding the outcomes `to_state` wrote."""
        memory = cls(int(state["n_features"]))
        names, codes = state["names"], state["codes"]
        indptr, indices, data = state["indptr"], state["indices"], state["data"]
        for i in range(len(state["score"])):
            lo, hi = int(indptr[i]), int(indptr[i + 1])
            memory.record_outcome(Experience(
                task_id=str(names["task"][codes["task"][i]]), category=str(names["category"][codes["category"][i]]),
                model=str(names["model"][codes["model"][i]]), score=float(state["score"][i]),
                success=bool(state["success"][i]), cost_usd=float(state["cost_usd"][i]),
                verifier=str(names["verifier"][codes["verifier"][i]]),
                features={f"f{int(j)}": float(v) for j, v in zip(indices[lo:hi], data[lo:hi], strict=True)}))
        return memory
