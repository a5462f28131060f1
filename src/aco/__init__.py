"""aco, the Agent Cost Optimizer: route each agent task and step to the cheapest model that gets it done."""

from aco.errors import AcoError, ArtifactError, ConfigError, DataError, UnknownRouterError
from aco.records import Decision, ModelSpec, Outcome, Step, Task, Trace
from aco.version import __version__


def __getattr__(name: str) -> object:
    """`aco.Optimizer` is imported lazily (it pulls in the store and SQLAlchemy)."""
    if name == "Optimizer":
        from aco.sdk import Optimizer

        return Optimizer
    raise AttributeError(f"module 'aco' has no attribute {name!r}")

__all__ = [
    "AcoError",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "Decision",
    "ModelSpec",
    "Optimizer",
    "Outcome",
    "Step",
    "Task",
    "Trace",
    "UnknownRouterError",
    "__version__",
]
