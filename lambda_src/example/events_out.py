"""Publishing domain events: a transactional outbox, sent to SQS without boto3.

The event row is written in the same transaction as the change, so a committed change always has
its event. After commit the API tries to send it at once; the scheduled job sends whatever is left
(for example when SQS was unreachable), so no event is lost. SQS deduplicates nothing on standard
queues: the worker's idempotency (message ids recorded in its transaction) handles a resend.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from datetime import datetime

    from lambda_src.aws import Credentials
    from typing import Any

from lambda_src import config
from lambda_src.db.connection import Transaction
from lambda_src.json_codec import decode as _decode, encode as _encode
from lambda_src.log import logger

SEND_TIMEOUT_SECONDS = 2.0


def record(tx: Transaction, event_type: str, payload: dict[str, Any] | str) -> int:
    """Write an event in the caller's transaction (``payload`` as a dict, or already JSON text);
    returns its outbox id."""
    return tx.one("INSERT INTO outbox (event_type, payload) VALUES (%s, %s) RETURNING id",
                  (event_type, payload if isinstance(payload, str) else _encode(payload)))[0]


def send_to_sqs(queue_url: str, body: str, *, region: str, credentials: Credentials,
                now: datetime | None = None, timeout: float = SEND_TIMEOUT_SECONDS) -> str:
    """SQS SendMessage over the AWS JSON protocol, SigV4-signed; returns the message id."""
    from urllib.parse import urlsplit

    from lambda_src import aws  # imported when sending, keeping signing off the cold-start import path

    parts = urlsplit(queue_url)
    payload = _encode({"QueueUrl": queue_url, "MessageBody": body}).encode()
    answer = aws.call("sqs", region, "POST", f"{parts.scheme}://{parts.netloc}/", payload,
                      {"content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.SendMessage"},
                      timeout, credentials=credentials, now=now)
    return _decode(answer)["MessageId"]


def publish_pending(transaction_runner: Any, *, limit: int = 100) -> int:
    """Send unpublished outbox events to the queue; returns how many were sent.

    ``transaction_runner`` is :func:`lambda_src.db.connection.transaction`. Rows are locked with
    ``SKIP LOCKED`` so concurrent publishers never send the same row at the same time.
    """
    settings = config.load()
    if not settings.queue_url:
        return 0
    from lambda_src.aws import Credentials

    credentials = Credentials.from_environment()

    def send_batch(tx: Transaction) -> int:
        rows = tx.all("SELECT id, event_type, payload FROM outbox WHERE published_at IS NULL ORDER BY id "
                      "LIMIT %s FOR UPDATE SKIP LOCKED", (limit,))
        sent = 0
        for outbox_id, event_type, payload in rows:
            body = _encode({"type": event_type, "outboxId": outbox_id, **payload})
            try:
                send_to_sqs(settings.queue_url, body, region=settings.region, credentials=credentials)
            except OSError as error:  # network, HTTP and timeout errors: leave the row for the next run
                logger.warning("event not published; will retry", extra={"outboxId": outbox_id, "error": str(error)})
                break
            tx.execute("UPDATE outbox SET published_at = now() WHERE id = %s", (outbox_id,))
            sent += 1
        return sent

    return transaction_runner(send_batch)
