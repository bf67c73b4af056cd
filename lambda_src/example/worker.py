"""The example's SQS entry point: ``example.worker.handler``.

The runtime's :class:`~lambda_src.batch.BatchProcessor` does the batch (partial failures, FIFO,
idempotency in ``processed_messages``, time left); this module says what one message means.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lambda_src.log import redacted_errors
from lambda_src.batch import MIN_REMAINING_MS, BatchProcessor, MalformedMessage
from lambda_src.db.connection import Transaction
from lambda_src.errors import excerpt


def handle_user_created(tx: Transaction, message: dict[str, Any], message_id: str) -> None:
    """Example work: one audit row per created user."""
    user = message.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise MalformedMessage("user.created needs user.id")
    tx.execute("INSERT INTO audit_log (event_type, user_id, message_id) VALUES (%s, %s, %s)",
               ("user.created", user["id"], message_id))


HANDLERS: dict[str, Callable[[Transaction, dict[str, Any], str], None]] = {
    "user.created": handle_user_created,
}


def announce_user_created(message: dict[str, Any]) -> None:
    from .announce import announce_user_created as announce

    announce(message["user"])


#: Side effects after the work committed, once per message (a duplicate delivery skips them).
AFTER_COMMIT: dict[str, Callable[[dict[str, Any]], None]] = {
    "user.created": announce_user_created,
}


def handle_record(tx: Transaction, message: Any, message_id: str) -> Callable[[], None] | None:
    """Dispatch on the message's ``type``; an unknown type is malformed (the DLQ keeps it)."""
    kind = message.get("type") if isinstance(message, dict) else None
    if not isinstance(kind, str) or kind not in HANDLERS:  # a list or object type is not hashable
        raise MalformedMessage(f"unknown message type {excerpt(kind) if isinstance(kind, str) else type(kind).__name__}")
    HANDLERS[kind](tx, message, message_id)
    after = AFTER_COMMIT.get(kind)
    return (lambda: after(message)) if after else None


processor = BatchProcessor(handle_record, idempotency_table="processed_messages")


@redacted_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process an SQS batch; report exactly the records whose work did not commit."""
    return processor(event, context)


__all__ = ["AFTER_COMMIT", "HANDLERS", "MIN_REMAINING_MS", "MalformedMessage", "handler", "processor"]
