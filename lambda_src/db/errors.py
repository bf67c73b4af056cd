"""Errors of the database layer. They know nothing of HTTP: each caller decides what they mean
(the HTTP app answers 503 with ``Retry-After``, the batch processor reports the record failed, the
WebSocket app replies ``service_unavailable`` to that client)."""
from __future__ import annotations


class DatabaseUnavailable(Exception):
    """The database could not be reached, or did not answer in time; retrying later may succeed.

    :param retry_after: seconds a client should wait before retrying.
    """

    default_message = "The database is unavailable; retry shortly"

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        self.message = message or self.default_message
        self.retry_after = retry_after
        super().__init__(self.message)


__all__ = ["DatabaseUnavailable"]
