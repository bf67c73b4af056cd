"""The example's HTTP entry point: ``example.http.handler`` (the users service)."""
from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from typing import Any

from lambda_src import config
from lambda_src.web.router import HttpApp

from . import users

#: The authorization of the HTTP API in front of these routes (``StatelessStack``'s ``LambdaHttpApi``).
API_AUTHORIZATION = "IAM"
_settings = config.load()
app = HttpApp(max_body_bytes=_settings.max_body_bytes, strip_prefixes=_settings.strip_prefixes)
users.register(app)


def openapi() -> dict[str, Any]:
    """The OpenAPI document of these routes: ``make dev`` serves it at ``/_local/openapi.json`` and
    ``make synth`` writes it to ``cdk.out/openapi.json``. Built on demand, never on the request path."""
    from lambda_src.web.openapi import document

    return document(app, title="Users API", version="1.0.0", gateway=API_AUTHORIZATION, description=(
        "Users of the example service. API Gateway lets in SigV4-signed requests only (IAM authorization) and "
        "refuses others with 403 {\"message\": \"Forbidden\"}; every /users route serves IAM callers only, "
        "/health any caller. The handler's errors share one shape: "
        "{\"error\": {\"code\", \"message\", \"details\"?, \"requestId\"}}."))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (2.0), REST API (1.0) and Function URL events → responses."""
    return app(event, context)
