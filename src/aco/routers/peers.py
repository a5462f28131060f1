"""`peer:<name>`: replays a published router's own decisions, carried by the table as task columns.

Loaders that have published decisions (CodeRouterBench's `peer_decisions/`) add one task column
`peer:<name>` holding the chosen model per task; this router only reads that column.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from aco.datasets.table import OutcomeTable, TaskSet
from aco.errors import DataError
from aco.routers.base import Router, Routing
from aco.routers.registry import register

PEER_PREFIX = "peer:"


def peer_names(table: OutcomeTable | TaskSet) -> list[str]:
    """Names of the published routers whose decisions the table carries."""
    return sorted(c[len(PEER_PREFIX):] for c in table.tasks.columns if str(c).startswith(PEER_PREFIX))


@register
class PeerRouter(Router):
    """The published decisions of router `peer` on the same tasks (nothing is learned)."""

    name = "peer"
    spec_arg: ClassVar[str] = "peer"
    spec_arg_required: ClassVar[bool] = True

    def __init__(self, peer: str = "") -> None:
        self.peer = peer

    def unmet_requirement(self, table: OutcomeTable) -> str | None:
        """The table must carry this peer's published decisions (a `peer:<name>` task column)."""
        if PEER_PREFIX + self.peer in table.tasks.columns:
            return None
        return (f"needs the published decisions of peer {self.peer!r}; {table.name} has: "
                f"{', '.join(peer_names(table)) or 'none'}")

    def _fit(self, table: OutcomeTable) -> None:
        why = self.unmet_requirement(table)
        if why is not None:
            raise DataError(why, path=table.name)

    def route(self, tasks: TaskSet) -> Routing:
        chosen = tasks.tasks[PEER_PREFIX + self.peer].tolist()
        lookup = {name: i for i, name in enumerate(tasks.model_names)}
        idx = np.array([lookup.get(str(c), -1) for c in chosen], dtype=int)
        if (idx < 0).any():
            bad = int(np.flatnonzero(idx < 0)[0])
            raise DataError(f"peer {self.peer!r} has no usable decision ({chosen[bad]!r}) for this task",
                            path=f"peer_decisions/{self.peer}.jsonl", field=tasks.task_ids[bad])
        return Routing(model_idx=idx, reasons=[f"published decision of {self.peer}"] * len(idx))
