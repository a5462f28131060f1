"""aco, the Agent Cost Optimizer: route each agent task and step to the cheapest model that gets it done."""

from aco.errors import AcoError, ArtifactError, ConfigError, DataError, UnknownRouterError
from aco.records import Decision, ModelSpec, Outcome, Step, Task, Trace

__version__ = "0.1.0"

__all__ = [
    "AcoError",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "Decision",
    "ModelSpec",
    "Outcome",
    "Step",
    "Task",
    "Trace",
    "UnknownRouterError",
    "__version__",
]
