"""The `Controller` abstraction: a multi-step policy over one task, and its exact replay on recorded outcomes.

At each decision point a controller reads the task, the runs so far and what they showed (observable
signals only) and returns an action: `Continue(model)` / `Escalate(model)` run a model, `Verify` asks the
controller's verifier (`aco.verifiers`, the same object the proxy asks) about the latest result, `Stop` ends the
task and keeps the latest result (or none: give up). Replay charges every run exactly: the sum of the recorded
costs of every model it ran, plus verification: a fixed `verify_cost_usd` per verification and what the
verifier's own calls cost (replay answers them from the table's recorded responses and costs).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from aco.datasets.table import OutcomeTable
from aco.routers.base import Router, Routing
from aco.routers.decision import Run, TaskContext, context_from_row
from aco.verifiers.base import RESPONSE, Call, Caller, Reply, Verdict, Verifier, fails


@dataclass(frozen=True, slots=True)
class Continue:
    """Run (or keep running) `model`."""

    model: int


@dataclass(frozen=True, slots=True)
class Escalate:
    """Run a stronger `model` after the current one."""

    model: int


@dataclass(frozen=True, slots=True)
class Verify:
    """Ask the verifier about the latest result."""


@dataclass(frozen=True, slots=True)
class Stop:
    """End the task: keep the latest result, or hand it over (`give_up`) with no result."""

    give_up: bool = False


Action = Continue | Escalate | Verify | Stop


@dataclass(frozen=True)
class Observation:
    """What one finished run of `model` showed: observable signals only (never the verdict)."""

    model: int
    signals: dict[str, Any]


@dataclass
class ControllerState:
    """The task and everything seen so far: runs, their observations and the verifier's answers."""

    task_index: int
    text: str
    runs: list[int] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    context: TaskContext | None = None  # the task as the per-request API sees it (set by the environment)
    names: tuple[str, ...] = ()  # the models' names (set by the environment)
    caller: Caller | None = None  # makes a verifier's calls (replay: from the recorded responses)

    def run_of(self, observation: Observation) -> Run:
        """An observation as the per-request API's `Run` (the model by name)."""
        name = self.names[observation.model] if self.names else str(observation.model)
        return Run(name, observation.signals)


class Controller(ABC):
    """A multi-step policy: `decide(state)` returns the next action; `verifier` answers its `Verify` actions."""

    max_steps: int = 16
    verifier: Verifier | None = None

    @abstractmethod
    def decide(self, state: ControllerState) -> Action:
        """The next action for one task."""

    def verify(self, state: ControllerState) -> Verdict:
        """The verifier's verdict on the latest run (with no verifier: an abstention, the result stands)."""
        if self.verifier is None or not state.observations:
            return Verdict("none", None, reason="no verifier")
        runs = tuple(state.run_of(o) for o in state.observations)
        context = TaskContext(task_id=str(state.task_index), text=state.text) if state.context is None \
            else state.context
        context = replace(context, runs=runs)
        return self.verifier.verify(context, runs[-1], state.caller)


@dataclass(frozen=True)
class ControllerReplay:
    """Replay of a controller over a table: a `Routing` (final model, every paid run) plus extra costs."""

    routing: Routing
    gave_up: np.ndarray
    verify_cost_usd: np.ndarray
    n_actions: np.ndarray

    def cost_usd(self, table: OutcomeTable) -> np.ndarray:
        """Per task: every run the controller made (exact recorded costs) plus verification."""
        attempts = np.asarray(self.routing.attempts, dtype=bool)
        return np.asarray((attempts * table.cost_usd).sum(axis=1) + self.verify_cost_usd)

    def score(self, table: OutcomeTable) -> np.ndarray:
        """Per task: the final run's recorded score (0 when the controller gave up without a result)."""
        got = table.score[np.arange(table.n_tasks), self.routing.model_idx]
        return np.where(self.gave_up, 0.0, got)


def _observe(table: OutcomeTable, task: int, model: int) -> Observation:
    tasks = table.task_set()
    return Observation(model, {k: np.asarray(v)[task, model] for k, v in tasks.observable.items()})


def recorded_caller(table: OutcomeTable, row: int) -> Caller:
    """A verifier's calls answered from task `row`'s recordings: a model's recorded response, at its recorded
    cost (a model without a recording, or n > 1 samples of one recording, is an error reply)."""
    responses = table.task_set().observable.get(RESPONSE)

    def call(request: Call) -> Reply:
        if request.model not in table.model_names or responses is None:
            return Reply(request.model, error=f"no recorded response of {request.model!r} on this task")
        if request.n > 1:
            return Reply(request.model, error=f"{request.n} samples asked, the table records one answer per model")
        j = table.model_index(request.model)
        return Reply(request.model, (str(np.asarray(responses)[row, j]),), float(table.cost_usd[row, j]))

    return call


def replay_controller(controller: Controller, table: OutcomeTable, verify_cost_usd: float = 0.0,
                      rows: Sequence[int] | None = None) -> ControllerReplay:
    """Run `controller` on each task of `table` against the recorded outcomes; every run is paid."""
    positions = list(range(table.n_tasks)) if rows is None else list(rows)
    sub = table.subset(positions)
    n, m = sub.n_tasks, sub.n_models
    attempts = np.zeros((n, m), dtype=bool)
    final = np.zeros(n, dtype=int)
    gave_up = np.zeros(n, dtype=bool)
    verify = np.zeros(n)
    actions = np.zeros(n, dtype=int)
    texts = sub.tasks["text"].tolist()
    names = tuple(sub.model_names)
    for i in range(n):
        state = ControllerState(task_index=i, text=texts[i], context=context_from_row(sub.tasks, i), names=names,
                                caller=recorded_caller(sub, i))
        for _ in range(controller.max_steps):
            action = controller.decide(state)
            actions[i] += 1
            if isinstance(action, Continue | Escalate):
                if not 0 <= action.model < m:
                    raise ValueError(f"controller chose model {action.model} outside 0..{m - 1}")
                attempts[i, action.model] = True
                state.runs.append(action.model)
                state.observations.append(_observe(sub, i, action.model))
            elif isinstance(action, Verify):
                verdict = controller.verify(state)
                verify[i] += verify_cost_usd + verdict.cost_usd
                state.verdicts.append(verdict)
            else:
                gave_up[i] = action.give_up or not state.runs
                break
        final[i] = state.runs[-1] if state.runs else 0
    routing = Routing(model_idx=final, attempts=attempts)
    return ControllerReplay(routing=routing, gave_up=gave_up, verify_cost_usd=verify, n_actions=actions)


class ChainController(Controller):
    """A cascade as a controller: run the chain in order; after each run but the last, verify and stop unless the
    verdict fails (`aco.verifiers.base.fails`: P(correct) < threshold; an abstention lets the result stand)."""

    def __init__(self, chain: Sequence[int], threshold: float = 0.5, verifier: Verifier | None = None) -> None:
        if len(chain) < 1:
            raise ValueError("a chain needs at least one model")
        self.chain = tuple(chain)
        self.threshold = threshold
        self.verifier = verifier

    def decide(self, state: ControllerState) -> Action:
        if not state.runs:
            return Continue(self.chain[0])
        if len(state.runs) == len(self.chain):
            return Stop()  # the last model's result stands: verifying it would change nothing
        if len(state.verdicts) < len(state.runs):
            return Verify()
        if not fails(state.verdicts[-1], self.threshold):
            return Stop()
        return Escalate(self.chain[len(state.runs)])


class RouterController(Controller):
    """A router's per-request decisions (`Router.decide`) as a controller: the same decisions drive replay
    (`replay_controller`, every run paid) and the live proxy (real upstream calls)."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def decide(self, state: ControllerState) -> Action:
        if state.context is None:
            raise ValueError("RouterController needs the task's context (ControllerState.context)")
        if state.runs and not self.router.multi_step:
            return Stop()  # a single-step router decided once; its run is the result
        names = self.router.models_
        runs = tuple(Run(names[o.model], o.signals) for o in state.observations)
        decision = self.router.decide(replace(state.context, runs=runs))
        model = names.index(decision.model)
        if decision.action == "stop":
            return Stop(give_up=decision.give_up)
        if decision.action == "verify":
            return Verify()
        if state.runs and model == state.runs[-1]:
            return Stop()  # continuing the model that already ran: its result is final here
        return Escalate(model) if state.runs else Continue(model)
