"""The example's announcement on the ``users`` WebSocket channel."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from lambda_src.realtime import broadcast


def announce_user_created(user: dict[str, Any]) -> dict[str, Any]:
    """That a user was created, and its id.

    Nothing else of the record goes out (no email, name or bio): a broadcast reaches every
    subscriber alike, and a subscriber that needs the record reads it through the API, where that
    read is authorized for that caller."""
    return broadcast("users", {"type": "user.created", "user": {"id": user["id"]}})
