"""SQS entry point: ``lambda_src.worker.handler``, with partial-failure reporting.

Each record is processed in its own transaction together with the record of its message id, so:

* a message reported as succeeded has committed work (failures are listed in ``batchItemFailures``);
* a duplicate delivery finds its message id and does nothing (idempotent);
* a malformed record fails only itself; the queue's redrive policy moves a message that keeps
  failing to the dead-letter queue;
* on a FIFO queue, records after a failure are reported failed too, preserving order in the group;
* with less than :data:`MIN_REMAINING_MS` left, the records not yet started are reported failed
  (SQS redelivers them) rather than risking a timeout, which would fail the whole batch;
* each record's transaction ends before the invocation would, even on a hung database; once the
  database is unavailable (it did not answer in time, or could not be reached), the records not yet
  started are reported failed at once instead of each waiting in turn.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .db import connection as db
from .errors import ServiceUnavailable, excerpt
from .json_codec import decode as _decode
from .log import logger


#: A record is not started with less time than this left in the invocation.
MIN_REMAINING_MS = 1_000


class MalformedMessage(ValueError):
    """The record cannot be processed as sent: retrying will not help, the DLQ will keep it."""


def handle_user_created(tx: db.Transaction, message: dict[str, Any], message_id: str) -> None:
    """Example work: one audit row per created user."""
    user = message.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise MalformedMessage("user.created needs user.id")
    tx.execute("INSERT INTO audit_log (event_type, user_id, message_id) VALUES (%s, %s, %s)",
               ("user.created", user["id"], message_id))


HANDLERS: dict[str, Callable[[db.Transaction, dict[str, Any], str], None]] = {
    "user.created": handle_user_created,
}


def announce_user_created(message: dict[str, Any]) -> None:
    from . import realtime

    realtime.announce_user_created(message["user"])


#: Side effects after the work committed, once per message (a duplicate delivery skips them).
AFTER_COMMIT: dict[str, Callable[[dict[str, Any]], None]] = {
    "user.created": announce_user_created,
}


def process_record(record: dict[str, Any], message_id: str, remaining_ms: int | None = None) -> bool:
    """Process one record; True when its work committed now or earlier (a duplicate)."""
    try:
        message = _decode(record.get("body") or "")
    except (ValueError, TypeError, RecursionError):
        raise MalformedMessage("body is not JSON") from None
    kind = message.get("type") if isinstance(message, dict) else None
    if not isinstance(kind, str) or kind not in HANDLERS:  # a list or object type is not hashable
        raise MalformedMessage(f"unknown message type {excerpt(kind) if isinstance(kind, str) else type(kind).__name__}")
    work = HANDLERS[kind]

    def run(tx: db.Transaction) -> bool:
        first = tx.one("INSERT INTO processed_messages (message_id) VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1",
                       (message_id,))
        if first is None:
            return False  # already processed: a duplicate delivery
        work(tx, message, message_id)
        return True

    done_now = db.transaction(run, remaining_ms=remaining_ms)
    if not done_now:
        logger.info("duplicate message skipped", extra={"messageId": message_id})
    elif message["type"] in AFTER_COMMIT:
        try:
            AFTER_COMMIT[message["type"]](message)
        except Exception:  # noqa: BLE001 - the work committed; a failed side effect must not redeliver it
            logger.warning("after-commit step failed", extra={"messageId": message_id}, exc_info=True)
    return True


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process an SQS batch; report exactly the records whose work did not commit."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise ValueError("not an SQS event: no Records list")  # the whole invocation fails: nothing is lost
    failures: list[dict[str, str]] = []
    # One event source mapping, one queue: FIFO-ness is the same for every record of the batch.
    fifo = bool(records) and isinstance(records[0], dict) and str(records[0].get("eventSourceARN", "")).endswith(".fifo")
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
        if remaining_ms is not None and remaining_ms < MIN_REMAINING_MS:
            logger.warning("out of time: the rest of the batch is left to redelivery",
                           extra={"messageId": message_id, "remainingMs": remaining_ms})
            failures.append({"itemIdentifier": message_id})
            fail_rest = True
            continue
        try:
            process_record(record, message_id, remaining_ms)
        except ServiceUnavailable:
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
