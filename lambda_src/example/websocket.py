"""The example's WebSocket entry point: ``example.websocket.handler``.

The runtime's :class:`~lambda_src.websocket.WebSocketApp` with its channel actions (``subscribe``,
``unsubscribe``, ``ping``); the worker announces created users on the ``users`` channel.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from lambda_src.log import redacted_errors
from lambda_src.websocket import WebSocketApp, add_channel_actions

app = add_channel_actions(WebSocketApp())


@redacted_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway WebSocket events (connect, disconnect, messages)."""
    return app(event, context)
