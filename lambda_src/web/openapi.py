"""The OpenAPI 3.0 document of an :class:`~lambda_src.web.router.HttpApp`, built from its routes.

Each route's method and path, its path and query parameters, its request body (the validation spec
the router enforces, :class:`~lambda_src.web.validation.Field`), who may call it (the API's
security schemes), its success response, and every error it can answer, in the one error shape
(:meth:`~lambda_src.errors.HTTPError.body`). Nothing here runs on the request path.
"""
from __future__ import annotations

import re
from typing import Any

from ..errors import (BadRequest, Forbidden, HTTPError, PayloadTooLarge, Unauthorized, UnprocessableEntity,
                      UnsupportedMediaType)
from .router import Endpoint, HttpApp
from .validation import Field, Param

OPENAPI_VERSION = "3.0.3"
#: One security scheme per caller kind (:data:`lambda_src.web.caller.KINDS`).
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "iam": {"type": "apiKey", "in": "header", "name": "Authorization", "x-amazon-apigateway-authtype": "awsSigv4",
            "description": "AWS Signature Version 4: a principal whose IAM policy allows execute-api:Invoke "
                           "on the route signs the request."},
    "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A JWT the API's authorizer verifies (issuer and audience)."},
    "lambda": {"type": "apiKey", "in": "header", "name": "Authorization",
               "description": "A token the API's Lambda authorizer decides on."},
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "requestId"], "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "description": "stable and machine-readable, e.g. not_found"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {
                "type": "object", "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
            "requestId": {"type": "string", "nullable": True}}}},
}
#: What API Gateway itself answers when it refuses a request before any function runs (its
#: authorizer, e.g. ``{"message": "Forbidden"}`` for a request without a valid SigV4 signature).
GATEWAY_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["message"],
    "properties": {"message": {"type": "string", "description": "API Gateway's, e.g. Forbidden"}},
}
#: The API Gateway authorization types in front of the routes (the constructs' ``authorization``):
#: the security scheme the gateway demands of every request, and the statuses of its refusals.
GATEWAYS: dict[str, tuple[str, tuple[int, ...]]] = {"IAM": ("iam", (403,)), "JWT": ("jwt", (401,)),
                                                     "LAMBDA": ("lambda", (401, 403))}
_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def document(app: HttpApp, *, title: str, version: str, description: str | None = None,
             gateway: str = "NONE") -> dict[str, Any]:
    """The OpenAPI 3.0 document of every route registered on ``app``.

    :param gateway: the authorization of the API Gateway API in front of ``app`` (``"IAM"``, ``"JWT"``,
        ``"LAMBDA"``), which refuses a request before any route runs: every operation then requires
        the gateway's scheme, public routes included, and documents its refusals
        (:data:`GATEWAY_ERROR_SCHEMA`). Default: ``"NONE"`` (each route's own callers decide).
    """
    if gateway != "NONE" and gateway not in GATEWAYS:
        raise ValueError(f"gateway must be one of NONE, {', '.join(GATEWAYS)}, not {gateway!r}")
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    gateway_errors = False
    for path, method, route in app.router.routes():
        if not isinstance(route, Endpoint) or method not in _METHODS:
            continue
        operation = _operation(path, method, route)
        if gateway in GATEWAYS:
            scheme, statuses = GATEWAYS[gateway]
            operation["security"] = [{scheme: []}]
            for status in statuses:
                _add_gateway_refusal(operation["responses"], status)
            operation["responses"] = dict(sorted(operation["responses"].items()))
            gateway_errors = True
        for requirement in operation.get("security", []):
            used.update(requirement)
        paths.setdefault(path, {})[method.lower()] = operation
    info = {"title": title, "version": version, **({"description": description} if description else {})}
    return {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "paths": {path: paths[path] for path in sorted(paths)},
        "components": {"schemas": {"Error": ERROR_SCHEMA, **({"GatewayError": GATEWAY_ERROR_SCHEMA}
                                                            if gateway_errors else {})},
                       "securitySchemes": {kind: SECURITY_SCHEMES[kind] for kind in sorted(used)}},
    }


def _operation(path: str, method: str, route: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": _operation_id(method, path, route)}
    docstring = (getattr(route.function, "__doc__", None) or "").strip()
    summary = route.summary or (docstring.splitlines()[0] if docstring else "")
    if summary:
        operation["summary"] = summary
    parameters = [_parameter(name, "path", route.params.get(name, Param(required=True)), required=True)
                  for name in _PATH_PARAM.findall(path)]
    parameters += [_parameter(name, "query", spec, required=spec.required) for name, spec in route.query.items()]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": body_schema(route.body, partial=route.partial)}}}
    operation["responses"] = {**_success(route), **_errors(route)}
    operation["security"] = [] if route.public else [{kind: []} for kind in (route.callers or tuple(SECURITY_SCHEMES))]
    return operation


def _operation_id(method: str, path: str, route: Endpoint) -> str:
    name = getattr(route.function, "__name__", "")
    if name.isidentifier() and name != "<lambda>":
        return name
    words = [part.strip("{}") for part in path.split("/") if part]
    return "_".join([method.lower(), *words])


def _parameter(name: str, where: str, spec: Param, *, required: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"} if spec.integer else {"type": "string"}
    for key, value in (("minimum", spec.minimum), ("maximum", spec.maximum), ("default", spec.default)):
        if value is not None:
            schema[key] = value
    parameter = {"name": name, "in": where, "required": required, "schema": schema}
    if spec.description:
        parameter["description"] = spec.description
    return parameter


def field_schema(field: Field) -> dict[str, Any]:
    """A string field as JSON schema: its length bounds, and ``format: email`` for an email field."""
    schema: dict[str, Any] = {"type": "string", "minLength": field.min_length, "maxLength": field.max_length}
    if field.email:
        schema["format"] = "email"
    return schema


def body_schema(fields: dict[str, Field], *, partial: bool = False) -> dict[str, Any]:
    """The JSON body :func:`~lambda_src.web.validation.validate` accepts: these fields, no others; the
    required ones required, or (``partial``) any one at least."""
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False,
                              "properties": {name: field_schema(field) for name, field in fields.items()}}
    required = [name for name, field in fields.items() if field.required]
    if partial:
        schema["minProperties"] = 1
    elif required:
        schema["required"] = required
    return schema


def _success(route: Endpoint) -> dict[str, Any]:
    if route.status == 204:
        return {"204": {"description": "No content"}}
    content = {"application/json": {"schema": route.response}} if route.response else {
        "application/json": {"schema": {}}}
    return {str(route.status): {"description": "Success", "content": content}}


def errors_of(route: Endpoint) -> list[type[HTTPError]]:
    """Every error ``route`` can answer: its own, authorization's, its body's, and the server's."""
    found: list[type[HTTPError]] = list(route.errors)
    if not route.public:
        found.append(Unauthorized)
        if route.callers is not None:
            found.append(Forbidden)
    if route.body is not None:
        found += [BadRequest, PayloadTooLarge, UnsupportedMediaType, UnprocessableEntity]
    found.append(HTTPError)
    return found


def _errors(route: Endpoint) -> dict[str, Any]:
    by_status: dict[int, list[type[HTTPError]]] = {}
    for error in errors_of(route):
        classes = by_status.setdefault(int(error.status), [])
        if error not in classes:
            classes.append(error)
    responses = {}
    for status in sorted(by_status):
        classes = by_status[status]
        codes = ", ".join(f"`{error.code}`" for error in classes)
        first = classes[0]
        responses[str(status)] = {
            "description": f"{'; '.join(error.default_message for error in classes)} (code {codes})",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}, "example": {
                "error": {"code": first.code, "message": first.default_message, "requestId": "c0ffee00-1234"}}}}}
    return responses


def _add_gateway_refusal(responses: dict[str, Any], status: int) -> None:
    """``status`` may also come from API Gateway's authorizer, in its own shape."""
    gateway = {"$ref": "#/components/schemas/GatewayError"}
    refusal = "refused by API Gateway before any function runs ({\"message\": …})"
    found = responses.get(str(status))
    if found is None:
        responses[str(status)] = {"description": refusal.capitalize(), "content": {"application/json": {
            "schema": gateway, "example": {"message": "Forbidden" if status == 403 else "Unauthorized"}}}}
    else:
        found["description"] += f"; or {refusal}"
        content = found["content"]["application/json"]
        content["schema"] = {"oneOf": [content["schema"], gateway]}
