"""Shipping events from the queue: ``orders.worker.handler``, on the runtime's BatchProcessor."""
from __future__ import annotations

from typing import Any

from lambda_src.batch import BatchProcessor, MalformedMessage
from lambda_src.db.connection import Transaction
from lambda_src.log import redacted_errors


def ship(tx: Transaction, message: Any, message_id: str) -> None:
    """``{"orderId": 7}``: mark the order shipped. A message naming no order can never succeed."""
    order_id = message.get("orderId") if isinstance(message, dict) else None
    if not isinstance(order_id, int) or isinstance(order_id, bool):
        raise MalformedMessage("orderId must be an integer")
    if tx.one("UPDATE orders SET status = 'shipped' WHERE id = %s RETURNING id", (order_id,)) is None:
        raise MalformedMessage(f"no order {order_id}")


processor = BatchProcessor(ship, idempotency_table="order_messages")


@redacted_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return processor(event, context)
