"""Every default of :class:`LambdaHttpApi`, in one place."""
from __future__ import annotations

from aws_cdk import aws_logs as logs

from .. import runtime_environment

THROTTLE_RATE_LIMIT = 100  # steady-state requests per second on the $default route
THROTTLE_BURST_LIMIT = 200  # concurrent request burst on the $default route
ACCESS_LOG_RETENTION = logs.RetentionDays.TWO_WEEKS
#: No customer-managed key for the access logs: CloudWatch Logs encrypts them with its own keys.
LOG_ENCRYPTION_KEY = None
#: Callers sign their requests (SigV4) and need ``execute-api:Invoke`` on the API in their own IAM
#: policy: the same default as a Function URL. ``"NONE"`` takes ``allow_public=True``.
AUTHORIZATION = "IAM"
#: Authorization ``"NONE"`` (anyone on the internet calls every route) is refused unless asked for.
ALLOW_PUBLIC = False
#: No custom domain: the API is reached at its execute-api URL.
DOMAIN_NAME = None
#: The function's environment variable listing the base paths (API mapping keys) the handler strips
#: (the runtime reads it).
BASE_PATH_ENV = runtime_environment.BASE_PATHS
#: What :meth:`LambdaHttpApi.grant_invoke` grants without ``method``/``path``: every method and path.
GRANT_METHOD = "*"
GRANT_PATH = "/*"

# Service limits (validated at synth).
#: An HTTP API waits at most 30 s for a Lambda integration.
MAX_INTEGRATION_TIMEOUT_SECONDS = 30
AUTHORIZATION_TYPES = ("NONE", "IAM", "JWT", "LAMBDA")
#: A route's ``AuthorizationType`` in the template -> the ``authorization`` it amounts to.
BOUND_AUTHORIZATION = {"AWS_IAM": "IAM", "JWT": "JWT", "CUSTOM": "LAMBDA", "NONE": "NONE"}

#: Access log lines: one JSON object per request with the HTTP API context variables.
ACCESS_LOG_FIELDS: dict[str, str] = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "path": "$context.path",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
}
