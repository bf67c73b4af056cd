"""SQS batches with partial-failure reporting: :class:`BatchProcessor` runs the user's record handler.

Each record is processed in its own transaction together with the record of its message id (in the
idempotency table the processor is given), so:

* a message reported as succeeded has committed work (failures are listed in ``batchItemFailures``);
* a duplicate delivery finds its message id and does nothing (idempotent);
* a malformed record fails only itself; the queue's redrive policy moves a message that keeps
  failing to the dead-letter queue;
* on a FIFO queue, records after a failure are reported failed too, preserving order in the group;
* with less than ``min_remaining_ms`` left, the records not yet started are reported failed
  (SQS redelivers them) rather than risking a timeout, which would fail the whole batch;
* each record's transaction ends before the invocation would, even on a hung database; once the
  database is unavailable (:class:`~lambda_src.db.errors.DatabaseUnavailable`), the records not yet
  started are reported failed at once instead of each waiting in turn.

The record handler is ``handler(tx, message, message_id)``: ``message`` is the record's body decoded
from JSON, ``tx`` the transaction its message id is recorded in. It may return a callable, run once
after the transaction committed (a duplicate delivery skips it; its failure is logged, not retried).

The idempotency table needs one column, ``message_id text PRIMARY KEY``, and may have more with
defaults (the example's ``processed_messages`` adds ``processed_at``).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .db import connection as db
from .db.errors import DatabaseUnavailable
from .json_codec import decode as _decode
from .log import logger

#: A record is not started with less time than this left in the invocation.
MIN_REMAINING_MS = 1_000
_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?")

RecordHandler = Callable[[db.Transaction, Any, str], "Callable[[], None] | None"]


class MalformedMessage(ValueError):
    """The record cannot be processed as sent: retrying will not help, the DLQ will keep it."""


class BatchProcessor:
    """An SQS event → ``{"batchItemFailures": [...]}``, one transaction per record.

    :param record_handler: the work for one record (see the module docstring). Required.
    :param idempotency_table: where processed message ids are recorded. Default: ``processed_messages``.
    :param min_remaining_ms: no record is started with less time left. Default: :data:`MIN_REMAINING_MS`.
    """

    def __init__(self, record_handler: RecordHandler, *, idempotency_table: str = "processed_messages",
                 min_remaining_ms: int = MIN_REMAINING_MS) -> None:
        if not _TABLE.fullmatch(idempotency_table):
            raise ValueError(f"idempotency_table must be a lowercase SQL identifier (schema.table allowed), "
                             f"got {idempotency_table!r}")
        self.record_handler = record_handler
        self.idempotency_table = idempotency_table
        self.min_remaining_ms = min_remaining_ms
        self._claim = (f"INSERT INTO {idempotency_table} (message_id) VALUES (%s) "
                       "ON CONFLICT DO NOTHING RETURNING 1")

    def process_record(self, record: dict[str, Any], message_id: str, remaining_ms: int | None = None) -> bool:
        """Process one record; True when its work committed now, False when it had already (a duplicate)."""
        try:
            message = _decode(record.get("body") or "")
        except (ValueError, TypeError, RecursionError):
            raise MalformedMessage("body is not JSON") from None
        after_commit: list[Callable[[], None]] = []

        def run(tx: db.Transaction) -> bool:
            if tx.one(self._claim, (message_id,)) is None:
                return False  # already processed: a duplicate delivery
            then = self.record_handler(tx, message, message_id)
            if then is not None:
                after_commit.append(then)
            return True

        done_now = db.transaction(run, remaining_ms=remaining_ms)
        if not done_now:
            logger.info("duplicate message skipped", extra={"messageId": message_id})
        for step in after_commit:
            try:
                step()
            except Exception:  # noqa: BLE001 - the work committed; a failed side effect must not redeliver it
                logger.warning("after-commit step failed", extra={"messageId": message_id}, exc_info=True)
        return done_now

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Process an SQS batch; report exactly the records whose work did not commit. Transactions
        the record handler's after-commit steps run (a broadcast) are bounded by the invocation too."""
        with db.invocation(context):
            return self._process(event, context)

    def _process(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(records, list):
            raise ValueError("not an SQS event: no Records list")  # the whole invocation fails: nothing is lost
        failures: list[dict[str, str]] = []
        # One event source mapping, one queue: FIFO-ness is the same for every record of the batch.
        fifo = (bool(records) and isinstance(records[0], dict)
                and str(records[0].get("eventSourceARN", "")).endswith(".fifo"))
        fail_rest = False  # after a failure on a FIFO queue, or when time runs out
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        for record in records:
            message_id = record.get("messageId") if isinstance(record, dict) else None
            if not isinstance(message_id, str):
                continue  # without an id SQS cannot redrive it individually; nothing we can report
            if fail_rest:
                failures.append({"itemIdentifier": message_id})
                continue
            remaining_ms = remaining() if remaining else None
            if remaining_ms is not None and remaining_ms < self.min_remaining_ms:
                logger.warning("out of time: the rest of the batch is left to redelivery",
                               extra={"messageId": message_id, "remainingMs": remaining_ms})
                failures.append({"itemIdentifier": message_id})
                fail_rest = True
                continue
            try:
                self.process_record(record, message_id, remaining_ms)
            except DatabaseUnavailable:
                logger.warning("database unavailable: the rest of the batch is left to redelivery",
                               extra={"messageId": message_id})
                failures.append({"itemIdentifier": message_id})
                fail_rest = True
            except MalformedMessage as error:
                logger.warning("malformed message", extra={"messageId": message_id, "error": str(error)})
                failures.append({"itemIdentifier": message_id})
                fail_rest = fifo
            except Exception:
                logger.exception("message failed", extra={"messageId": message_id})
                failures.append({"itemIdentifier": message_id})
                fail_rest = fifo
        return {"batchItemFailures": failures}


__all__ = ["MIN_REMAINING_MS", "BatchProcessor", "MalformedMessage", "RecordHandler"]
