"""The OpenAI-compatible routing proxy, its upstream client, the replay upstream and metrics."""

from aco.server.app import create_app
from aco.server.replay_upstream import ReplayBook, TrajectoryBook, create_replay_app

__all__ = ["ReplayBook", "TrajectoryBook", "create_app", "create_replay_app"]
