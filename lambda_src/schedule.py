"""Scheduled jobs (EventBridge Scheduler or a rule): the time a run is for, and running once per time.

A row keyed by (job, scheduled time), written in the same transaction as the job's work, makes a
retried or duplicated invocation for the same time a no-op. The table needs ``job text``,
``scheduled_time timestamptz`` (primary key together) and ``result jsonb`` (nullable).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .db.connection import Transaction

_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?")


def scheduled_time(event: Any) -> datetime:
    """The time this run is for: ``scheduledTime`` (Scheduler input) or ``time`` (rule event)."""
    raw = None
    if isinstance(event, dict):
        raw = event.get("scheduledTime") or event.get("time")
    if not isinstance(raw, str):
        raise ValueError("the scheduled event carries no scheduledTime/time")
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def claim(tx: Transaction, job: str, when: datetime, *, table: str = "job_runs") -> bool:
    """Record that ``job`` runs for ``when`` in ``tx``; False when a run for that time already did."""
    if not _TABLE.fullmatch(table):
        raise ValueError(f"table must be a lowercase SQL identifier, got {table!r}")
    return tx.one(f"INSERT INTO {table} (job, scheduled_time) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                  (job, when)) is not None


def record_result(tx: Transaction, job: str, when: datetime, result: dict[str, Any], *,
                  table: str = "job_runs") -> None:
    """Store the run's result (JSON) on its row."""
    from .json_codec import encode

    if not _TABLE.fullmatch(table):
        raise ValueError(f"table must be a lowercase SQL identifier, got {table!r}")
    tx.execute(f"UPDATE {table} SET result = %s WHERE job = %s AND scheduled_time = %s", (encode(result), job, when))


__all__ = ["claim", "record_result", "scheduled_time"]
