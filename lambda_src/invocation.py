"""The Lambda invocation being handled, for code that needs its deadline without being handed it.

The apps (:class:`~lambda_src.web.router.HttpApp`, :class:`~lambda_src.batch.BatchProcessor`,
:class:`~lambda_src.websocket.WebSocketApp`) set it around each invocation; every database
transaction run without an explicit ``remaining_ms`` is then bounded by the time that invocation has
left, instead of ``DB_TRANSACTION_TIMEOUT``. Standard library only and tiny: the HTTP app imports it
in every cold start, without the database layer.
"""
from __future__ import annotations

import contextlib
import contextvars

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

#: The Lambda context of the invocation being handled in this thread or task; None outside one.
current: contextvars.ContextVar[Any] = contextvars.ContextVar("lambda_src_invocation", default=None)


@contextlib.contextmanager
def handling(context: Any) -> Iterator[None]:
    """Within the block, :data:`current` is ``context`` (nested blocks restore the outer one)."""
    token = current.set(context)
    try:
        yield
    finally:
        current.reset(token)
