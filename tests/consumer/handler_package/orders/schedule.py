"""The daily count of shipped orders: ``orders.schedule.handler``, once per scheduled time."""
from __future__ import annotations

from typing import Any

from lambda_src.db import connection as db
from lambda_src.log import redacted_errors
from lambda_src.schedule import claim, record_result, scheduled_time

JOB = "shipped-count"
RUNS = "order_job_runs"


@redacted_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    when = scheduled_time(event)

    def work(tx: db.Transaction) -> dict[str, Any]:
        if not claim(tx, JOB, when, table=RUNS):
            return {"skipped": True}
        (shipped,) = tx.one("SELECT count(*) FROM orders WHERE status = 'shipped'")
        result = {"shipped": shipped}
        record_result(tx, JOB, when, result, table=RUNS)
        return result

    return db.transaction(work, remaining_ms=db.remaining_ms(context))
