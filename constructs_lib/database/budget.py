"""The database connection budget: what every connected function may open, checked at synth.

When Lambda scales out, concurrent executions roughly equal open connections. Every function that
connects must therefore have bounded concurrency, and the sum of (concurrency × connections per
container) must fit in the proxy's share of the cluster's ``max_connections``.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import defaults


@dataclass(frozen=True)
class Consumer:
    """One function connected to the database."""

    name: str
    max_concurrency: int | None
    connections_per_container: int
    source: str  # where the concurrency bound comes from, for the report

    @property
    def connections(self) -> int:
        return (self.max_concurrency or 0) * self.connections_per_container


def max_connections(min_capacity: float, max_capacity: float) -> int:
    """Aurora PostgreSQL Serverless v2's default ``max_connections`` for this capacity range."""
    eligible = [connections for acu, connections in defaults.MAX_CONNECTIONS_BY_MAX_ACU if acu <= max_capacity]
    value = eligible[-1] if eligible else defaults.MAX_CONNECTIONS_BY_MAX_ACU[0][1]
    if min_capacity <= 0.5:
        value = min(value, defaults.MAX_CONNECTIONS_CAP_LOW_MIN_ACU)
    return value


def proxy_budget(min_capacity: float, max_capacity: float, max_connections_percent: int) -> int:
    """Connections the proxy may open: its percentage of ``max_connections``."""
    return max_connections(min_capacity, max_capacity) * max_connections_percent // 100


def check(consumers: list[Consumer], *, min_capacity: float, max_capacity: float,
          max_connections_percent: int, accept_unbounded: bool, holder: str = "the proxy's") -> list[str]:
    """Error messages (empty when the budget holds), each naming functions and numbers."""
    errors = []
    budget = proxy_budget(min_capacity, max_capacity, max_connections_percent)
    if not accept_unbounded:
        errors += [
            f"connection budget: {consumer.name} connects to the database with unbounded concurrency (each "
            "concurrent execution holds a connection). Bound it: set reserved_concurrent_executions on its "
            "ServerlessFunction, or max_concurrency on its QueueWorker (an SQS event source), or pass "
            "max_concurrency to grant_connect when something else bounds it; or set "
            "accept_unbounded_concurrency=True on the ServerlessDatabase to accept that it may exhaust "
            f"{holder} {budget} connections"
            for consumer in consumers if consumer.max_concurrency is None]
    total = sum(consumer.connections for consumer in consumers)
    if total > budget:
        lines = "; ".join(f"{c.name}: {c.max_concurrency} × {c.connections_per_container} = {c.connections} ({c.source})"
                          for c in consumers)
        errors.append(
            f"connection budget exceeded: {total} connections > budget {budget} "
            f"(= {max_connections_percent}% of max_connections {max_connections(min_capacity, max_capacity)} at "
            f"max_capacity={max_capacity:g} ACU, min_capacity={min_capacity:g} ACU). {lines}. Lower a function's "
            "reserved_concurrent_executions, its QueueWorker's max_concurrency or grant_connect's "
            "connections_per_container, or raise the ServerlessDatabase's max_capacity or "
            "proxy_max_connections_percent")
    return errors
