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
          max_connections_percent: int, accept_unbounded: bool) -> list[str]:
    """Error messages (empty when the budget holds), each naming functions and numbers."""
    errors = []
    budget = proxy_budget(min_capacity, max_capacity, max_connections_percent)
    unbounded = [consumer for consumer in consumers if consumer.max_concurrency is None]
    if unbounded and not accept_unbounded:
        names = ", ".join(consumer.name for consumer in unbounded)
        errors.append(
            f"connection budget: {names} connect(s) to the database with unbounded concurrency; set "
            f"reserved_concurrent_executions (or an SQS max_concurrency / provisioned concurrency), or pass "
            f"accept_unbounded_concurrency=True to accept exhausting the proxy's {budget} connections")
    total = sum(consumer.connections for consumer in consumers)
    if total > budget:
        lines = "; ".join(f"{c.name}: {c.max_concurrency} × {c.connections_per_container} = {c.connections} ({c.source})"
                          for c in consumers)
        errors.append(
            f"connection budget exceeded: {total} connections > budget {budget} "
            f"(= {max_connections_percent}% of max_connections {max_connections(min_capacity, max_capacity)} at "
            f"max_capacity={max_capacity:g} ACU, min_capacity={min_capacity:g} ACU). {lines}")
    return errors
