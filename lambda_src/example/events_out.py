"""Publishing domain events: a transactional outbox, sent to SQS without boto3.

The event row is written in the same transaction as the change, so a committed change always has
its event. After commit the API tries to send it at once; the scheduled job sends whatever is left
(for example when SQS was unreachable), so no event is lost. SQS deduplicates nothing on standard
queues: the worker's idempotency (message ids recorded in its transaction) handles a resend.
"""
from __future__ import annotations

import json

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from datetime import datetime

    from lambda_src.db.sigv4 import Credentials
    from typing import Any

from lambda_src import config
from lambda_src.db.connection import Transaction
from lambda_src.json_codec import encode as _encode
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
    import urllib.request  # imported when sending, keeping it off the cold-start import path

    from lambda_src.db.sigv4 import sign_headers
    from datetime import datetime, timezone
    from urllib.parse import urlsplit

    parts = urlsplit(queue_url)
    endpoint = f"{parts.scheme}://{parts.netloc}/"
    payload = json.dumps({"QueueUrl": queue_url, "MessageBody": body}).encode()
    headers = sign_headers(method="POST", host=parts.netloc, path="/", body=payload,
                           headers={"content-type": "application/x-amz-json-1.0",
                                    "x-amz-target": "AmazonSQS.SendMessage"},
                           service="sqs", region=region, credentials=credentials,
                           now=now or datetime.now(timezone.utc))
    request = urllib.request.Request(endpoint, data=payload, method="POST",
                                     headers={k: v for k, v in headers.items() if k != "host"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - fixed AWS endpoint
        return json.loads(response.read())["MessageId"]


def publish_pending(transaction_runner: Any, *, limit: int = 100) -> int:
    """Send unpublished outbox events to the queue; returns how many were sent.

    ``transaction_runner`` is :func:`lambda_src.db.connection.transaction`. Rows are locked with
    ``SKIP LOCKED`` so concurrent publishers never send the same row at the same time.
    """
    settings = config.load()
    if not settings.queue_url:
        return 0
    from lambda_src.db.sigv4 import Credentials

    credentials = Credentials.from_environment()

    def send_batch(tx: Transaction) -> int:
        rows = tx.all("SELECT id, event_type, payload FROM outbox WHERE published_at IS NULL ORDER BY id "
                      "LIMIT %s FOR UPDATE SKIP LOCKED", (limit,))
        sent = 0
        for outbox_id, event_type, payload in rows:
            body = json.dumps({"type": event_type, "outboxId": outbox_id, **payload})
            try:
                send_to_sqs(settings.queue_url, body, region=settings.region, credentials=credentials)
            except OSError as error:  # network, HTTP and timeout errors: leave the row for the next run
                logger.warning("event not published; will retry", extra={"outboxId": outbox_id, "error": str(error)})
                break
            tx.execute("UPDATE outbox SET published_at = now() WHERE id = %s", (outbox_id,))
            sent += 1
        return sent

    return transaction_runner(send_batch)
