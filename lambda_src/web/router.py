"""Method + path routing with ``{name}`` path parameters, and the one place errors become responses."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import HTTPError, MethodNotAllowed, NotFound
from ..log import logger
from . import events
from .messages import Request, Response

Route = Callable[[Request], Any]
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Router:
    """Static paths are a dict lookup; paths with parameters are tried in registration order."""

    def __init__(self) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._dynamic: list[tuple[re.Pattern[str], dict[str, Route]]] = []
        self._patterns: dict[str, dict[str, Route]] = {}

    def add(self, method: str, path: str, route: Route) -> None:
        if _PARAM.search(path):
            if path not in self._patterns:
                self._patterns[path] = {}
                regex = "^" + _PARAM.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")) + "$"
                self._dynamic.append((re.compile(regex), self._patterns[path]))
            self._patterns[path][method.upper()] = route
        else:
            self._static.setdefault(path, {})[method.upper()] = route

    def template(self, path: str) -> str | None:
        """The registered path (e.g. ``/users/{id}``) that ``path`` matches, if any."""
        if path in self._static:
            return path
        for template, methods in self._patterns.items():
            for pattern, candidates in self._dynamic:
                if candidates is methods and pattern.match(path):
                    return template
        return None

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``method path`` and its parameters; 404 or 405 (with ``Allow``) otherwise."""
        methods = self._static.get(path)
        params: dict[str, str] = {}
        if methods is None:
            for pattern, candidates in self._dynamic:
                found = pattern.match(path)
                if found:
                    methods, params = candidates, found.groupdict()
                    break
            else:
                raise NotFound(f"No route for {path}")
        route = methods.get(method)
        if route is None:
            raise MethodNotAllowed(sorted(methods))
        return route, params


class HttpApp:
    """The HTTP entry point: event → adapter → router → route → response, errors handled here.

    :param max_body_bytes: larger bodies get a 413.
    :param strip_prefixes: custom-domain base paths removed before routing (e.g. ``("/api",)``).
    """

    def __init__(self, *, max_body_bytes: int = 1_048_576, strip_prefixes: Sequence[str] = ()) -> None:
        self.router = Router()
        self.max_body_bytes = max_body_bytes
        self.strip_prefixes = tuple(prefix.rstrip("/") for prefix in strip_prefixes if prefix.strip("/"))

    def route(self, method: str, path: str) -> Callable[[Route], Route]:
        def register(function: Route) -> Route:
            self.router.add(method, path, function)
            return function
        return register

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        v1 = isinstance(event, dict) and events.is_v1(event)
        request: Request | None = None
        try:
            request = events.parse(event, context, max_body_bytes=self.max_body_bytes, strip_prefixes=self.strip_prefixes)
            route, request.path_params = self.router.match(request.method, request.path)
            result = route(request)
            response = result if isinstance(result, Response) else Response(200, result)
        except HTTPError as error:
            request_id = request.request_id if request else getattr(context, "aws_request_id", None)
            if error.status >= 500:
                logger.warning("request failed: %s", error.message, extra={"requestId": request_id, "status": int(error.status)})
            response = Response(int(error.status), error.body(request_id), dict(error.headers))
        except Exception:
            request_id = request.request_id if request else getattr(context, "aws_request_id", None)
            logger.exception("unhandled error", extra={"requestId": request_id,
                                                       "path": request.path if request else None})
            response = Response(500, HTTPError().body(request_id))
        return events.render(response, v1=v1)
