"""WebSocket events (API Gateway WebSocket API): :class:`WebSocketApp` and the channel actions.

``$connect`` lets in only a caller the API authenticated (IAM on ``$connect``, the construct's
default, or a Lambda authorizer): without one it answers 401 and API Gateway refuses the handshake,
whatever the API in front is set to. ``$connect`` and ``$disconnect`` keep ``ws_connections`` up to
date (a stale row is removed on disconnect, and by broadcasts that meet a 410). Messages are JSON frames ``{"action": …}``
routed like HTTP routes; a malformed frame, an unknown action or an oversized message gets an
error message sent to that client only, and nothing else happens.

:func:`add_channel_actions` registers ``subscribe`` / ``unsubscribe`` ``{"channel": "users"}`` and
``ping``, the subscriptions :func:`lambda_src.realtime.broadcast` posts to. When the database is
unavailable, ``$connect`` answers 503 (the handshake is refused; the client reconnects later) and a
message gets a ``service_unavailable`` error.
"""
from __future__ import annotations

import re

from . import realtime
from .db import connection as db
from .db.errors import DatabaseUnavailable
from .errors import BadRequest, HTTPError, NotFound, PayloadTooLarge, excerpt
from .json_codec import decode as _decode
from .log import logger
from .web.caller import caller_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: API Gateway's WebSocket quotas (not adjustable): a frame carries at most 32 KB, and a message of
#: several frames up to 128 KB reaches the function whole; a larger frame or message closes the
#: connection with code 1009, and a larger ``@connections`` post is refused (413). The local gateway
#: (devtools) enforces these same constants.
MAX_FRAME_BYTES = 32 * 1024
MAX_MESSAGE_BYTES = 128 * 1024
CHANNEL = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


class WebSocketApp:
    """Routes WebSocket events: connect, disconnect and actions chosen by the ``action`` field.

    :param public: let a connection in without an authenticated caller. Default: False (401).
    """

    def __init__(self, *, public: bool = False) -> None:
        self.actions: dict[str, Any] = {}
        self.public = public

    def action(self, name: str):  # type: ignore[no-untyped-def]
        def register(function):  # type: ignore[no-untyped-def]
            self.actions[name] = function
            return function
        return register

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with db.invocation(context):  # every transaction below is bounded by this invocation's time left
            return self._handle(event, context)

    def _handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        request_context = event.get("requestContext") if isinstance(event, dict) else None
        if not isinstance(request_context, dict) or not isinstance(request_context.get("connectionId"), str):
            raise ValueError("not a WebSocket event: requestContext.connectionId missing")
        connection_id = request_context["connectionId"]
        event_type = request_context.get("eventType")
        if event_type == "CONNECT":
            if not self.public and caller_of(event) is None:
                logger.warning("connection refused: no authenticated caller", extra={"connectionId": connection_id})
                return {"statusCode": 401}
            try:
                db.transaction(lambda tx: tx.execute("INSERT INTO ws_connections (connection_id) VALUES (%s) "
                                                     "ON CONFLICT DO NOTHING", (connection_id,)))
            except DatabaseUnavailable:
                logger.warning("connection refused: database unavailable", extra={"connectionId": connection_id})
                return {"statusCode": 503}
            return {"statusCode": 200}
        if event_type == "DISCONNECT":
            try:
                db.transaction(lambda tx: tx.execute("DELETE FROM ws_connections WHERE connection_id = %s",
                                                     (connection_id,)))
            except DatabaseUnavailable:  # API Gateway never retries a disconnect: the row is left, and the next
                # broadcast to it gets 410 Gone and deletes it (realtime.broadcast)
                logger.warning("disconnect not recorded: database unavailable", extra={"connectionId": connection_id})
            return {"statusCode": 200}
        try:
            reply = self._dispatch(connection_id, event.get("body"))
        except HTTPError as error:
            reply = {"error": {"code": error.code, "message": error.message}}
        except DatabaseUnavailable as error:
            reply = {"error": {"code": "service_unavailable", "message": error.message,
                               "retryAfter": error.retry_after}}
        except Exception:
            logger.exception("websocket action failed", extra={"connectionId": connection_id})
            reply = {"error": {"code": "internal_error", "message": "Internal error"}}
        self._reply(connection_id, reply)
        return {"statusCode": 200}

    def _dispatch(self, connection_id: str, body: Any) -> Any:
        if not isinstance(body, str):
            raise BadRequest("A WebSocket message must be a JSON text frame")
        if len(body.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"Messages are limited to {MAX_MESSAGE_BYTES} bytes")
        try:
            message = _decode(body)
        except (ValueError, RecursionError):
            raise BadRequest("Malformed JSON frame") from None
        if not isinstance(message, dict) or not isinstance(message.get("action"), str):
            raise BadRequest('A message is a JSON object with an "action"')
        action = self.actions.get(message["action"])
        if action is None:
            raise NotFound(f"Unknown action {excerpt(message['action'])}; known: {', '.join(sorted(self.actions))}")
        return action(connection_id, message)

    @staticmethod
    def _reply(connection_id: str, reply: Any) -> None:
        api = realtime.management_api()
        if api is not None and reply is not None:
            if realtime.send(api, connection_id, reply) == "gone":
                db.transaction(lambda tx: tx.execute("DELETE FROM ws_connections WHERE connection_id = %s", (connection_id,)))


def _channel(message: dict[str, Any]) -> str:
    channel = message.get("channel")
    if not isinstance(channel, str) or not CHANNEL.fullmatch(channel):
        raise BadRequest("channel must be 1–63 lowercase letters, digits, '_', '.' or '-'")
    return channel


def subscribe(connection_id: str, message: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(message)
    db.transaction(lambda tx: tx.execute(
        "INSERT INTO ws_subscriptions (connection_id, channel) SELECT %s, %s "
        "WHERE EXISTS (SELECT 1 FROM ws_connections WHERE connection_id = %s) ON CONFLICT DO NOTHING",
        (connection_id, channel, connection_id)))
    return {"subscribed": channel}


def unsubscribe(connection_id: str, message: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(message)
    db.transaction(lambda tx: tx.execute("DELETE FROM ws_subscriptions WHERE connection_id = %s AND channel = %s",
                                         (connection_id, channel)))
    return {"unsubscribed": channel}


def ping(connection_id: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"pong": True}


def add_channel_actions(app: WebSocketApp) -> WebSocketApp:
    """Register ``subscribe``, ``unsubscribe`` and ``ping`` on ``app``; returns it."""
    for name, action in (("subscribe", subscribe), ("unsubscribe", unsubscribe), ("ping", ping)):
        app.action(name)(action)
    return app


__all__ = ["CHANNEL", "MAX_FRAME_BYTES", "MAX_MESSAGE_BYTES", "WebSocketApp", "add_channel_actions"]
