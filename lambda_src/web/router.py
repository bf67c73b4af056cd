"""Method + path routing with ``{name}`` path parameters, and the one place errors become responses."""
from __future__ import annotations

from .. import invocation
from ..db.errors import DatabaseUnavailable
from ..errors import Forbidden, HTTPError, MethodNotAllowed, NotFound, ServiceUnavailable, Unauthorized, excerpt
from ..log import logger
from . import events
from .messages import JSON_TYPE, Request, Response, accepts, unsupported

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from .validation import Field, Param

    Route = Callable[[Request], Any]


class Router:
    """Static paths are one dict lookup; templated paths are compiled regular expressions.

    ``/users/{id}`` matches ``/users/42`` (``{"id": "42"}``) but not ``/users/`` or ``/users/4/2``.
    (``re`` costs nothing extra at cold start: ``json`` imports it anyway.)
    """

    def __init__(self) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._templated: dict[str, tuple[Any, dict[str, Route]]] = {}  # template -> (compiled, {method: route})

    def add(self, method: str, path: str, route: Route) -> None:
        import re

        if "{" not in path:
            self._static.setdefault(path, {})[method.upper()] = route
            return
        if path not in self._templated:
            pattern = "".join(f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") and part.endswith("}") else re.escape(part)
                              for part in re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", path))
            self._templated[path] = (re.compile(pattern + "$").match, {})
        self._templated[path][1][method.upper()] = route

    def _find(self, path: str) -> tuple[str, dict[str, Route], dict[str, str]] | None:
        methods = self._static.get(path)
        if methods is not None:
            return path, methods, {}
        for template, (match, candidates) in self._templated.items():
            found = match(path)
            if found:
                return template, candidates, found.groupdict()
        return None

    def routes(self) -> list[tuple[str, str, Route]]:
        """Every ``(path template, method, route)``, static paths first, each in registration order."""
        return [(path, method, route) for table in (self._static, {p: m for p, (_, m) in self._templated.items()})
                for path, methods in table.items() for method, route in methods.items()]

    def template(self, path: str) -> str | None:
        """The registered path (e.g. ``/users/{id}``) that ``path`` matches, if any."""
        found = self._find(path)
        return found[0] if found else None

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``method path`` and its parameters; 404 or 405 (with ``Allow``) otherwise."""
        found = self._find(path)
        if found is None:
            raise NotFound(f"No route for {excerpt(path)}")
        _, methods, params = found
        route = methods.get(method)
        if route is None:
            raise MethodNotAllowed(sorted(methods))
        return route, params


#: Methods whose body the app checks against ``body_content_types`` before the route runs.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class Endpoint:
    """A route function with who may call it: anyone (``public``), or an authenticated caller of one
    of ``callers`` (kinds of :class:`~lambda_src.web.caller.Caller`; None: any kind), and what it
    takes and answers, as :mod:`lambda_src.web.openapi` describes it: the ``body`` spec (validated
    here before the route runs), ``params`` and ``query`` parameters, the ``errors`` it raises
    itself, its success ``status`` and ``response`` schema."""

    __slots__ = ("function", "public", "callers", "body", "partial", "params", "query", "errors", "status",
                 "response", "summary")

    def __init__(self, function: Route, *, public: bool, callers: Sequence[str] | None,
                 body: dict[str, Field] | None = None, partial: bool = False, params: dict[str, Param] | None = None,
                 query: dict[str, Param] | None = None, errors: Sequence[type[HTTPError]] = (), status: int = 200,
                 response: dict[str, Any] | None = None, summary: str | None = None) -> None:
        self.function = function
        self.public = public
        self.callers = tuple(callers) if callers is not None else None
        self.body = body
        self.partial = partial
        self.params = params or {}
        self.query = query or {}
        self.errors = tuple(errors)
        self.status = status
        self.response = response
        self.summary = summary

    def authorize(self, request: Request) -> None:
        """401 without a caller, 403 for a caller of another kind; nothing for a public route."""
        if self.public:
            return
        caller = request.caller
        if caller is None:
            raise Unauthorized()
        if self.callers is not None and caller.kind not in self.callers:
            raise Forbidden(f"This route serves {' or '.join(self.callers)} callers, not {caller.kind}")

    def __call__(self, request: Request) -> Any:
        return self.function(request)


class HttpApp:
    """The HTTP entry point: event → adapter → router → route → response, errors handled here.

    A POST, PUT or PATCH with a body must declare one of ``body_content_types`` (by default
    ``application/json``, optionally ``; charset=utf-8``), or it gets a 415 before the route runs,
    a missing Content-Type included. API Gateway (HTTP and REST proxy integrations) and Function
    URLs pass the client's headers through and add no Content-Type; reading an undeclared body as
    JSON would accept what a browser sends cross-site without a CORS preflight (no Content-Type
    with an ArrayBuffer or untyped Blob body; text/plain, form and multipart bodies), which cookie
    or other ambient credentials would turn into cross-site request forgery. ``application/json``
    always needs a preflight, which the API's CORS settings decide.

    Every route needs a caller the API authenticated (:attr:`Request.caller`: IAM, a JWT or a Lambda
    authorizer in front of the function) unless it is registered ``public=True``: without one, a 401
    before the route runs, whatever the API in front says; ``callers=("iam",)`` narrows the kinds
    served, others get a 403. An API made public (``allow_public``) therefore still opens only the
    routes that say so.

    :param max_body_bytes: larger bodies get a 413.
    :param strip_prefixes: custom-domain base paths removed before routing (e.g. ``("/api",)``).
    :param body_content_types: media types a request body may declare. Default: ``("application/json",)``.
    """

    def __init__(self, *, max_body_bytes: int = 1_048_576, strip_prefixes: Sequence[str] = (),
                 body_content_types: Sequence[str] = (JSON_TYPE,)) -> None:
        self.router = Router()
        self.max_body_bytes = max_body_bytes
        self.strip_prefixes = tuple(prefix.rstrip("/") for prefix in strip_prefixes if prefix.strip("/"))
        self.body_content_types = tuple(kind.strip().lower() for kind in body_content_types)

    def route(self, method: str, path: str, *, public: bool = False, callers: Sequence[str] | None = None,
              body: dict[str, Field] | None = None, partial: bool = False, params: dict[str, Param] | None = None,
              query: dict[str, Param] | None = None, errors: Sequence[type[HTTPError]] = (), status: int = 200,
              response: dict[str, Any] | None = None, summary: str | None = None) -> Callable[[Route], Route]:
        """Register a route function for ``method path``.

        :param public: anyone may call it, authenticated or not. Default: False (a caller is required).
        :param callers: the caller kinds it serves (``"iam"``, ``"jwt"``, ``"lambda"``). Default: any.
        :param body: the JSON body's fields: validated before the route runs (a 422 lists every problem),
            the cleaned fields in ``request.fields``. Default: none (the route reads the body itself, if any).
        :param partial: with ``body``: no field is required, at least one is (PATCH). Default: False.
        :param params: / :param query: path and query parameters, for the API document. Default: path
            parameters are strings; no query parameters.
        :param errors: the :class:`~lambda_src.errors.HTTPError` classes the route raises itself (those
            of authorization, the body and the server are added by the document). Default: none.
        :param status: / :param response: the success status and its JSON schema. Default: 200, any JSON.
        :param summary: one line for the document. Default: the route function's docstring, first line.
        """
        from .caller import KINDS

        if public and callers is not None:
            raise ValueError("a public route serves everyone: give public=True or callers, not both")
        if partial and body is None:
            raise ValueError("partial=True applies to a body spec: give body too")
        if callers is not None and (not callers or set(callers) - set(KINDS)):
            raise ValueError(f"callers must be some of {KINDS}, got {callers!r}")

        def register(function: Route) -> Route:
            self.router.add(method, path, Endpoint(function, public=public, callers=callers, body=body, partial=partial,
                                                   params=params, query=query, errors=errors, status=status,
                                                   response=response, summary=summary))
            return function
        return register

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        v1 = isinstance(event, dict) and events.is_v1(event)
        request: Request | None = None
        handling = invocation.current.set(context)  # a route's transactions end before the invocation does
        try:
            request = events.parse(event, context, max_body_bytes=self.max_body_bytes, strip_prefixes=self.strip_prefixes)
            route, request.path_params = self.router.match(request.method, request.path)
            if isinstance(route, Endpoint):
                route.authorize(request)
            if request.body and request.method in BODY_METHODS:
                declared = request.headers.get("content-type")
                if not accepts(declared, self.body_content_types):
                    raise unsupported(declared, ", ".join(self.body_content_types))
            if isinstance(route, Endpoint) and route.body is not None:
                from .validation import validate

                request.fields = validate(request.json(), route.body, partial=route.partial)
            try:
                result = route(request)
            except DatabaseUnavailable as unavailable:  # the database layer's error, in HTTP terms
                raise ServiceUnavailable(retry_after=unavailable.retry_after) from None
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
        finally:
            invocation.current.reset(handling)
        return events.render(response, v1=v1)
