"""`GET /dashboard` on `aco serve`: a key-protected page that reads only the store (every replica's data)."""

from aco.server.dashboard.views import dashboard_handlers

__all__ = ["dashboard_handlers"]
