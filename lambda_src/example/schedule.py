"""The example's scheduled entry point: ``example.schedule.handler`` (EventBridge Scheduler or a rule).

The example job, once per scheduled time: compute the day's user statistics, purge idempotency
records older than the DLQ retention, and send any outbox events the API could not. A row in
``job_runs`` keyed by (job, scheduled time), written in the same transaction, makes a retried or
duplicated invocation for the same time a no-op.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from lambda_src.db import connection as db
from lambda_src.log import logger, redacted_errors
from lambda_src.schedule import claim, record_result, scheduled_time

from . import events_out

JOB = "daily-maintenance"
#: Idempotency records are kept as long as SQS may still deliver (14-day DLQ retention).
PROCESSED_RETENTION_DAYS = 14


def run_job(when: datetime, context: Any = None) -> dict[str, Any]:
    """Run the job for ``when``; returns its result, or ``{"skipped": True}`` when it already ran.

    Each transaction ends before the invocation of ``context`` would (a hung database raises
    :class:`~lambda_src.db.errors.DatabaseUnavailable`: the scheduler retries); without a context,
    ``DB_TRANSACTION_TIMEOUT`` bounds each."""

    def work(tx: db.Transaction) -> dict[str, Any]:
        if not claim(tx, JOB, when):
            return {"skipped": True}
        day = when.date()
        total, created = tx.one("SELECT count(*), count(*) FILTER (WHERE created_at::date = %s) FROM users", (day,))
        tx.execute("INSERT INTO daily_stats (day, users_total, users_created) VALUES (%s, %s, %s) "
                   "ON CONFLICT (day) DO UPDATE SET users_total = EXCLUDED.users_total, "
                   "users_created = EXCLUDED.users_created, computed_at = now()", (day, total, created))
        purged = tx.execute("DELETE FROM processed_messages WHERE processed_at < %s - make_interval(days => %s)",
                            (when, PROCESSED_RETENTION_DAYS)).rowcount
        result = {"day": day.isoformat(), "usersTotal": total, "usersCreated": created, "purged": purged}
        record_result(tx, JOB, when, result)
        return result

    result = db.transaction(work, remaining_ms=db.remaining_ms(context))
    if not result.get("skipped"):
        result["published"] = events_out.publish_pending(db.runner(context))
    return result


@redacted_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Raise on failure, so the scheduler's retry policy and DLQ take over."""
    when = scheduled_time(event)
    result = run_job(when, context)
    logger.info("scheduled job finished", extra={"job": JOB, "scheduledTime": when.isoformat(), **result})
    return result
