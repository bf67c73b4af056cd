"""The request and response every route function sees, independent of the event format."""
from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from typing import Any

    from .caller import Caller

from ..errors import BadRequest, UnsupportedMediaType, excerpt
from ..json_codec import decode

JSON_TYPE = "application/json"


def is_json(declared: str | None) -> bool:
    """Whether a Content-Type header declares JSON: ``application/json``, case-insensitive, with at
    most a ``charset`` parameter of UTF-8 (JSON's only encoding, RFC 8259). A missing header is not JSON.
    """
    if declared == JSON_TYPE:  # the common case needs no parsing
        return True
    if not declared or not isinstance(declared, str):  # payload 2.0 headers are as the event has them
        return False
    kind, _, parameters = declared.partition(";")
    if kind.strip().lower() != JSON_TYPE:
        return False
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if parameter.strip() and (name.strip().lower() != "charset"
                                  or value.strip().strip('"').lower() not in ("utf-8", "utf8")):
            return False
    return True


def accepts(declared: str | None, content_types: tuple[str, ...]) -> bool:
    """Whether a body declared ``declared`` is one of ``content_types`` (media types; ``application/json``
    judged by :func:`is_json`, others by their type alone). A missing Content-Type is never accepted."""
    if is_json(declared):
        return JSON_TYPE in content_types
    kind = declared.split(";", 1)[0].strip().lower() if isinstance(declared, str) else ""
    return bool(kind) and kind != JSON_TYPE and kind in content_types


def unsupported(declared: str | None, expected: str = JSON_TYPE) -> UnsupportedMediaType:
    """The 415 for a body declared ``declared`` (or not declared at all)."""
    if not declared:
        return UnsupportedMediaType(f"A request body needs Content-Type: {expected}")
    return UnsupportedMediaType(f"Content-Type {excerpt(declared)} is not accepted; send {expected}")


class Request:
    """One HTTP request. Headers are lower-cased; the body (``str`` as sent, ``bytes`` when it came
    base64-encoded) is parsed lazily."""

    __slots__ = ("method", "path", "headers", "raw_query", "body", "path_params", "request_id",
                 "event", "context", "fields", "_cookie_source", "_cookies", "_query", "_json", "_caller")

    def __init__(self, method: str, path: str, headers: dict[str, str], raw_query: str, cookie_source: Any,
                 body: bytes | str, request_id: str | None, event: dict[str, Any], context: Any) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.raw_query = raw_query
        self.body = body
        self.path_params: dict[str, str] = {}
        #: The body's fields, cleaned by the route's declared ``body`` spec (None for a route without one).
        self.fields: dict[str, str] | None = None
        self.request_id = request_id
        self.event = event
        self.context = context
        self._cookie_source = cookie_source  # payload 2.0 ``cookies`` list, or a Cookie header string
        self._cookies: dict[str, str] | None = None
        self._query: dict[str, list[str]] | None = None
        self._json: Any = _UNSET
        self._caller: Any = _UNSET

    @property
    def caller(self) -> Caller | None:
        """The caller API Gateway (or the Function URL) authenticated, from the event; None when the
        request came in without authorization (see :mod:`lambda_src.web.caller`)."""
        if self._caller is _UNSET:
            from .caller import caller_of

            self._caller = caller_of(self.event)
        return self._caller

    @property
    def cookies(self) -> dict[str, str]:
        """Request cookies by name (parsed on first use)."""
        if self._cookies is None:
            source = self._cookie_source
            header = ";".join(str(c) for c in source) if isinstance(source, list) else str(source or "")
            cookies = {}
            for part in header.split(";"):
                name, sep, value = part.strip().partition("=")
                if sep and name:
                    cookies[name] = value
            self._cookies = cookies
        return self._cookies

    @property
    def query(self) -> dict[str, list[str]]:
        """Every value of every query key (repeated keys keep each value)."""
        if self._query is None:
            from urllib.parse import parse_qs

            self._query = parse_qs(self.raw_query, keep_blank_values=True) if self.raw_query else {}
        return self._query

    def query_value(self, key: str, default: str | None = None) -> str | None:
        values = self.query.get(key)
        return values[0] if values else default

    def json(self) -> Any:
        """The body as JSON: it must be declared ``application/json`` (optionally ``; charset=utf-8``),
        else a 415, a missing Content-Type included (see :class:`~lambda_src.web.router.HttpApp`)."""
        if self._json is _UNSET:
            if not self.body:
                raise BadRequest("A JSON body is required")
            declared = self.headers.get("content-type")
            if not is_json(declared):
                raise unsupported(declared)
            try:
                self._json = decode(self.body)
            except (ValueError, UnicodeDecodeError, RecursionError) as error:
                raise BadRequest(f"Malformed JSON: {type(error).__name__}") from None
        return self._json


class Response:
    """What a route returns (or the router builds from a plain dict/list)."""

    __slots__ = ("status", "body", "headers", "cookies")

    def __init__(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None,
                 cookies: list[str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.cookies = cookies or []


class _Unset:
    pass


_UNSET = _Unset()
