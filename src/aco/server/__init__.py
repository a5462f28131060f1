"""The OpenAI-compatible routing proxy, its upstream client, the replay upstream and metrics."""

from aco.server.app import create_app
from aco.server.replay_pairs import PairBook
from aco.server.replay_upstream import ReplayBook, create_replay_app, prompt_text

__all__ = ["PairBook", "ReplayBook", "create_app", "create_replay_app", "prompt_text"]
