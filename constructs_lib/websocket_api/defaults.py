"""Every default of :class:`LambdaWebSocketApi`, in one place."""
from __future__ import annotations

from aws_cdk import aws_logs as logs

from .. import runtime_environment

STAGE_NAME = "live"
ROUTE_SELECTION_EXPRESSION = "$request.body.action"
THROTTLE_RATE_LIMIT = 100
THROTTLE_BURST_LIMIT = 200
ACCESS_LOG_RETENTION = logs.RetentionDays.TWO_WEEKS
#: No customer-managed key for the access logs: CloudWatch Logs encrypts them with its own keys.
LOG_ENCRYPTION_KEY = None
#: ``$connect`` needs a SigV4-signed handshake from a caller allowed ``execute-api:Invoke`` on it.
#: ``"NONE"`` takes ``allow_public=True``.
AUTHORIZATION = "IAM"
#: Authorization ``"NONE"`` (anyone on the internet connects) is refused unless asked for.
ALLOW_PUBLIC = False
TOKEN_QUERY_PARAMETER = "token"
#: No custom domain: clients connect to the execute-api URL.
DOMAIN_NAME = None
#: The function's environment variable holding the stage's Management API URL (the runtime reads it).
CALLBACK_URL_ENV = runtime_environment.WEBSOCKET_CALLBACK_URL

AUTHORIZATION_TYPES = ("NONE", "IAM", "LAMBDA")
#: Route keys: $-prefixed ones are reserved by API Gateway; custom ones are plain identifiers.
ROUTE_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_.:-]{0,127}$"
STAGE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"

ACCESS_LOG_FIELDS: dict[str, str] = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "eventType": "$context.eventType",
    "routeKey": "$context.routeKey",
    "connectionId": "$context.connectionId",
    "status": "$context.status",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
}
