"""Routers: a registry of baselines, peers and learned routers sharing one contract."""

from aco.routers.base import Router, Routing
from aco.routers.registry import available, make_router, register

__all__ = ["Router", "Routing", "available", "make_router", "register"]
