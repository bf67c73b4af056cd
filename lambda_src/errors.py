"""Errors keyed to HTTP status. The router turns any of them into a JSON error response."""
from __future__ import annotations

from http import HTTPStatus
TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from typing import Any


def excerpt(value: object, limit: int = 64) -> str:
    """Client input as an error message may quote it: at most ``limit`` characters, ``repr``-escaped
    (control, format and bidi characters and unpaired surrogates appear as ``\\x1b``, ``\\u202e``…),
    with ``…`` when cut."""
    text = value if isinstance(value, str) else str(value)
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


class HTTPError(Exception):
    """An error with an HTTP status, a stable machine-readable code and a safe message."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    code: str = "internal_error"
    default_message: str = "Internal server error"

    def __init__(self, message: str | None = None, *, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self, request_id: str | None) -> dict[str, Any]:
        """The one JSON shape of every error: ``{"error": {"code", "message", "details"?, "requestId"}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        error["requestId"] = request_id
        return {"error": error}


class BadRequest(HTTPError):
    status, code, default_message = HTTPStatus.BAD_REQUEST, "bad_request", "Bad request"


class Unauthorized(HTTPError):
    """No caller the API verified: the route needs one (IAM, JWT or a Lambda authorizer in front)."""

    status, code, default_message = (HTTPStatus.UNAUTHORIZED, "unauthorized",
                                     "This route needs an authenticated caller")


class Forbidden(HTTPError):
    """A verified caller of a kind the route does not serve."""

    status, code, default_message = HTTPStatus.FORBIDDEN, "forbidden", "This caller may not use this route"


class NotFound(HTTPError):
    status, code, default_message = HTTPStatus.NOT_FOUND, "not_found", "Not found"


class MethodNotAllowed(HTTPError):
    status, code, default_message = HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed"

    def __init__(self, allowed: list[str]) -> None:
        super().__init__(f"Allowed methods: {', '.join(allowed)}", headers={"allow": ", ".join(allowed)})


class Conflict(HTTPError):
    status, code, default_message = HTTPStatus.CONFLICT, "conflict", "Conflict"


class PayloadTooLarge(HTTPError):
    status, code, default_message = HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload_too_large", "Request body too large"


class UnsupportedMediaType(HTTPError):
    status, code, default_message = (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                                     "Content-Type must be application/json")


class UnprocessableEntity(HTTPError):
    status, code, default_message = HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", "Validation failed"


class ServiceUnavailable(HTTPError):
    status, code, default_message = (HTTPStatus.SERVICE_UNAVAILABLE, "service_unavailable",
                                     "The database is unavailable; retry shortly")

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message, headers={"retry-after": str(retry_after)})
