"""Prometheus metrics of one proxy app (its own registry: no process globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class ProxyMetrics:
    """Requests, chosen models, cost, latency, fallbacks and budget rejections."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("aco_requests", "Requests by endpoint and HTTP status", ["endpoint", "status"],
                                registry=r)
        self.chosen = Counter("aco_chosen_model", "Routing decisions by profile and chosen model",
                              ["profile", "model"], registry=r)
        self.cost_usd = Counter("aco_cost_usd", "Cost of upstream calls in USD", ["model"], registry=r)
        self.upstream_latency = Histogram("aco_upstream_latency_seconds", "Upstream call latency", ["model"],
                                          buckets=_LATENCY_BUCKETS_S, registry=r)
        self.decision_latency = Histogram("aco_decision_latency_seconds", "Routing decision latency (incl. store)",
                                          buckets=_LATENCY_BUCKETS_S, registry=r)
        self.fallbacks = Counter("aco_fallbacks", "Fallbacks to the next model", ["from_model", "reason"],
                                 registry=r)
        self.escalations = Counter("aco_escalations", "Escalations after a verifier rejected an answer",
                                   ["from_model"], registry=r)
        self.budget_rejections = Counter("aco_budget_rejections", "Calls refused for lack of budget", ["profile"],
                                         registry=r)
        self.outcomes = Counter("aco_outcomes", "Reported outcomes", ["model", "success"], registry=r)
        self.passthrough = Counter("aco_passthrough", "Requests passed straight through", ["model"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
