"""Event adapters: API Gateway HTTP API (payload 2.0), REST API (payload 1.0) and Function URLs.

Each turns its event into a :class:`Request` and a :class:`Response` back into the shape that
event source expects. The path routed on is the raw path, minus the stage (for a non-default
stage) and minus any configured base path; ``pathParameters`` in the event are ignored.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

from ..errors import BadRequest, PayloadTooLarge
from ..json_codec import encode as _encode
from .messages import Request, Response

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def is_v1(event: dict[str, Any]) -> bool:
    """REST API (payload 1.0) events carry ``httpMethod``; 2.0 events carry ``requestContext.http``."""
    return "httpMethod" in event and event.get("version") != "2.0"


def parse(event: dict[str, Any], context: Any, *, max_body_bytes: int, strip_prefixes: Sequence[str] = ()) -> Request:
    """Build the request from any supported event; bad input raises a 4xx :class:`HTTPError`."""
    if not isinstance(event, dict):
        raise BadRequest("The event is not an HTTP event")
    context_data = event.get("requestContext") or {}
    if not isinstance(context_data, dict):
        raise BadRequest("The event is not an HTTP event")
    if is_v1(event):
        method = event.get("httpMethod")
        path = event.get("path") or "/"
        headers = _lower(event.get("headers"))
        multi = event.get("multiValueHeaders")
        if isinstance(multi, dict):
            for key, values in multi.items():
                if isinstance(values, list) and values:
                    headers[str(key).lower()] = ",".join(str(v) for v in values)
        raw_query = _v1_query(event)
        cookie_source: Any = headers.get("cookie", "")
    else:
        http = context_data.get("http")
        if not isinstance(http, dict):
            raise BadRequest("The event is not an HTTP event")
        method = http.get("method")
        path = event.get("rawPath") or http.get("path") or "/"
        headers = event.get("headers") or {}  # HTTP API and Function URLs send lower-case names
        if not isinstance(headers, dict):
            headers = {}
        raw_query = event.get("rawQueryString") or ""
        cookie_source = event.get("cookies")
        if not isinstance(cookie_source, list):
            cookie_source = headers.get("cookie", "")
        stage = context_data.get("stage")
        if stage and stage != "$default" and isinstance(stage, str) and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
            path = path[len(stage) + 1:] or "/"
    if not isinstance(method, str) or not isinstance(path, str) or not isinstance(raw_query, str):
        raise BadRequest("The event is not an HTTP event")
    for prefix in strip_prefixes:
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix):] or "/"
            break
    body = _body(event, max_body_bytes) if event.get("body") is not None else ""
    request_id = getattr(context, "aws_request_id", None) or context_data.get("requestId")
    return Request(method.upper(), path, headers, raw_query, cookie_source, body,
                   str(request_id) if request_id is not None else None, event, context)


def render(response: Response, *, v1: bool) -> dict[str, Any]:
    """The event-source response for ``response``: JSON bodies serialised, bytes base64-encoded."""
    headers = dict(response.headers)
    body = response.body
    encoded = False
    if body is None:
        text = ""
    elif isinstance(body, (bytes, bytearray)):
        content_type = headers.get("content-type", "application/octet-stream")
        if content_type.startswith(_TEXT_TYPES):
            text = bytes(body).decode("utf-8")
        else:
            from base64 import b64encode

            text, encoded = b64encode(body).decode("ascii"), True
        headers.setdefault("content-type", content_type)
    elif isinstance(body, str):
        text = body
        headers.setdefault("content-type", "text/plain; charset=utf-8")
    else:
        text = _encode(body)
        headers.setdefault("content-type", "application/json")
    result: dict[str, Any] = {"statusCode": response.status, "headers": headers, "body": text,
                              "isBase64Encoded": encoded}
    if response.cookies:
        if v1:
            result["multiValueHeaders"] = {"set-cookie": list(response.cookies)}
        else:
            result["cookies"] = list(response.cookies)
    return result


def _lower(headers: Any) -> dict[str, str]:
    if not isinstance(headers, dict):
        return {}
    return {str(key).lower(): str(value) for key, value in headers.items() if value is not None}


def _v1_query(event: dict[str, Any]) -> str:
    """The query string payload 1.0 gives decoded, encoded again (an unpaired surrogate, which UTF-8
    cannot encode, comes back as U+FFFD rather than failing the request)."""
    from urllib.parse import urlencode

    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, dict) and multi:
        return urlencode([(k, v) for k, values in multi.items() if isinstance(values, list) for v in values],
                         errors="surrogatepass")
    single = event.get("queryStringParameters")
    if isinstance(single, dict) and single:
        return urlencode([(k, v) for k, v in single.items() if v is not None], errors="surrogatepass")
    return ""


def _body(event: dict[str, Any], max_body_bytes: int) -> bytes | str:
    """The body: ``str`` as sent when it is text (no copy), ``bytes`` when it was base64."""
    raw = event.get("body")
    if not isinstance(raw, str):
        raise BadRequest("The request body is not text")
    if event.get("isBase64Encoded"):
        if len(raw) * 3 // 4 > max_body_bytes + 3:
            raise PayloadTooLarge(f"Request body exceeds {max_body_bytes} bytes")
        from base64 import b64decode

        try:
            body = b64decode(raw, validate=True)
        except ValueError:  # binascii.Error is a ValueError
            raise BadRequest("The request body is not valid base64") from None
        if len(body) > max_body_bytes:
            raise PayloadTooLarge(f"Request body exceeds {max_body_bytes} bytes")
        return body
    if len(raw) > max_body_bytes or (len(raw) * 4 > max_body_bytes
                                     and len(raw.encode("utf-8", "surrogatepass")) > max_body_bytes):
        raise PayloadTooLarge(f"Request body exceeds {max_body_bytes} bytes")
    return raw
