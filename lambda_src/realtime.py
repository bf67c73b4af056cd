"""Pushing to WebSocket clients: connections and channels in PostgreSQL, posts through the
API Gateway Management API (SigV4-signed with the standard library; no boto3).

* :func:`broadcast` posts a message to every connection subscribed to a channel. A connection
  that is gone (HTTP 410 ``GoneException``) is deleted and the broadcast carries on; another failure
  is retried with backoff, then reported. The database query and the post loop are timed apart.
* :class:`ManagementApi` is the client; its endpoint is the stage's callback URL
  (``WEBSOCKET_CALLBACK_URL``, set by the ``LambdaWebSocketApi`` construct).
"""
from __future__ import annotations

import time

from . import config
from .db import connection as db
from .json_codec import decode as _decode, encode as _encode
from .log import logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RETRY_DELAYS_SECONDS = (0.05, 0.2, 0.5)
POST_TIMEOUT_SECONDS = 3.0


class ConnectionGone(Exception):
    """The client disconnected (the Management API answered 410 Gone)."""


class ManagementApi:
    """``POST``/``GET``/``DELETE`` on ``@connections/{id}`` of one WebSocket stage."""

    def __init__(self, callback_url: str, region: str | None = None) -> None:
        self.callback_url = callback_url.rstrip("/")
        self.region = region or config.load().region

    def _request(self, method: str, connection_id: str, body: bytes = b"") -> bytes:
        import urllib.error
        from urllib.parse import quote

        from . import aws

        url = f"{self.callback_url}/@connections/{quote(connection_id, safe='')}"
        try:
            return aws.call("execute-api", self.region, method, url, body,
                            {"content-type": "application/json"} if body else {}, POST_TIMEOUT_SECONDS)
        except urllib.error.HTTPError as error:
            if error.code == 410:
                raise ConnectionGone(connection_id) from None
            raise

    def post(self, connection_id: str, message: Any) -> None:
        self._request("POST", connection_id, message if isinstance(message, bytes) else _encode(message).encode())

    def get(self, connection_id: str) -> dict[str, Any]:
        return _decode(self._request("GET", connection_id) or b"{}")

    def delete(self, connection_id: str) -> None:
        self._request("DELETE", connection_id)


def management_api() -> ManagementApi | None:
    """The client for this function's stage, or None when no WebSocket API is wired in."""
    url = config.load().websocket_callback_url
    return ManagementApi(url) if url else None


def send(api: ManagementApi, connection_id: str, message: Any) -> str:
    """Post with retries: ``"sent"``, ``"gone"`` (410: the caller removes it) or ``"failed"``."""
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS_SECONDS)):
        if delay:
            time.sleep(delay)
        try:
            api.post(connection_id, message)
            return "sent"
        except ConnectionGone:
            return "gone"
        except OSError as error:  # network, timeouts, HTTP 5xx/429
            logger.warning("post to connection failed", extra={"connectionId": connection_id, "attempt": attempt + 1,
                                                              "error": str(error)})
    return "failed"


def broadcast(channel: str, message: Any, api: ManagementApi | None = None) -> dict[str, Any]:
    """Send ``message`` to every subscriber of ``channel``; prune gone connections; report counts."""
    api = api or management_api()
    if api is None:
        return {"channel": channel, "sent": 0, "gone": 0, "failed": [], "skipped": "no WebSocket API configured"}
    started = time.perf_counter()
    ids = [row[0] for row in db.transaction(lambda tx: tx.all(
        "SELECT connection_id FROM ws_subscriptions WHERE channel = %s ORDER BY connection_id", (channel,)))]
    queried = time.perf_counter()
    payload = _encode({"channel": channel, "data": message}).encode()
    outcomes: dict[str, list[str]] = {"sent": [], "gone": [], "failed": []}
    for connection_id in ids:
        outcomes[send(api, connection_id, payload)].append(connection_id)
    posted = time.perf_counter()
    if outcomes["gone"]:
        db.transaction(lambda tx: tx.execute("DELETE FROM ws_connections WHERE connection_id = ANY(%s)", (outcomes["gone"],)))
    report = {"channel": channel, "sent": len(outcomes["sent"]), "gone": len(outcomes["gone"]), "failed": outcomes["failed"],
              "queryMs": round((queried - started) * 1000, 3), "postMs": round((posted - queried) * 1000, 3)}
    if outcomes["failed"]:
        logger.warning("broadcast incomplete", extra=report)
    return report
