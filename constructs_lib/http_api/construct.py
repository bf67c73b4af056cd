"""An API Gateway HTTP API whose $default route sends every request to one function."""
from __future__ import annotations

import json
from collections.abc import Sequence


from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..api_domain import ApiDomain, check_domain_props
from ..authorization import check_public
from ..errors import InvalidPropError
from ..function import ServerlessFunction
from ..logging_settings import AccessLogSettings, log_group, retention
from ..node_values import own_path, path_of
from . import defaults


class LambdaHttpApi(Construct):
    """An HTTP API (API Gateway v2): ``$default`` route → Lambda proxy integration, payload 2.0.

    The ``$default`` stage auto-deploys, throttles the default route and writes JSON access logs
    to its own log group. The integration invokes the function's alias when it has one, and the
    invoke permission is scoped to this API.

    Secure by default: every route needs IAM authorization, as a Function URL does. A caller signs
    its request with SigV4 and needs ``execute-api:Invoke`` on the API in its identity policy
    (:meth:`grant_invoke`); an unsigned request gets API Gateway's 403 and never reaches the
    function. HTTP APIs have no resource policy, so callers are principals of this account.

    :param function: the :class:`ServerlessFunction` serving every request. Required. Its timeout
        must be at most 30 s, the HTTP API integration limit.
    :param throttle_rate_limit: steady requests per second on the default route. Default: 100.
    :param throttle_burst_limit: request burst on the default route. Default: 200.
    :param cors: CORS preflight settings. Default: no CORS.
    :param authorization: ``"IAM"``, ``"JWT"``, ``"LAMBDA"`` or ``"NONE"``, or an authorizer a team already
        has (any ``apigwv2.IHttpRouteAuthorizer``: ``HttpJwtAuthorizer``, ``HttpUserPoolAuthorizer``,
        ``HttpLambdaAuthorizer`` with its own response types and caching, ``HttpIamAuthorizer``), used as
        given for every route. The attribute ``authorization`` then holds what the route binds to
        (``AWS_IAM`` → ``"IAM"``, ``JWT`` → ``"JWT"``, ``CUSTOM`` → ``"LAMBDA"``, ``NONE`` → ``"NONE"``): an
        authorizer that lets everyone in (``HttpNoneAuthorizer``) is ``"NONE"`` and takes ``allow_public``
        like the string. Default: ``"IAM"``.
    :param allow_public: must be True to use ``"NONE"``, which makes every route public: anyone on the
        internet can call it without signing anything, run the function (and its bill) up to the
        stage's throttle limits, and read whatever it returns. Only with ``"NONE"``. Default: False.
    :param jwt_issuer: the issuer URL, required for ``"JWT"``; only with that string.
    :param jwt_audience: accepted audiences, required (non-empty) for ``"JWT"``; only with that string.
    :param authorizer_function: the function deciding each request, required for ``"LAMBDA"``
        (simple responses); only with that string.
    :param access_log_retention: days kept (``RetentionDays`` or an allowed day count). Default: 14 days.
    :param access_log_removal_policy: Default: DESTROY.
    :param log_encryption_key: a customer-managed KMS key for the access log group (its policy gets
        the statement CloudWatch Logs needs). Default: none (CloudWatch Logs' own encryption).
    :param domain_name: a custom domain (``api.example.com``), regional, TLS 1.2 at least, with the API
        mapping and, given the hosted zone, the Route 53 alias record (:class:`ApiDomain`). Default: none.
    :param certificate_arn: with ``domain_name``: an ACM certificate in the stack's region. Default: a
        DNS-validated certificate created here (then the hosted zone is required).
    :param hosted_zone_id: / :param hosted_zone_name: with ``domain_name``: the public zone holding it, by
        id and name (nothing is looked up at synth). Default: none (no certificate created, no DNS record).
    :param base_path: with ``domain_name``: the API mapping key, one segment (``v1``): the API answers
        under ``https://<domain>/<base_path>/``.
        The function gets it in ``BASE_PATHS`` (``/v1``), which the handler strips before routing. Default: none (the root of the domain).

    Attributes: ``api``, ``stage``, ``integration``, ``function``, ``access_log_group``, ``authorizer`` (or None),
    ``authorization``, ``url`` (the stage URL), ``domain`` (the :class:`ApiDomain`, or None; ``domain.url``).
    Methods: :meth:`grant_invoke`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: ServerlessFunction,
        throttle_rate_limit: float | None = None,
        throttle_burst_limit: int | None = None,
        cors: apigwv2.CorsPreflightOptions | None = None,
        authorization: str | apigwv2.IHttpRouteAuthorizer | None = None,
        jwt_issuer: str | None = None,
        jwt_audience: Sequence[str] | None = None,
        authorizer_function: lambda_.IFunction | None = None,
        allow_public: bool = defaults.ALLOW_PUBLIC,
        access_log_retention: logs.RetentionDays | int | None = None,
        access_log_removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        log_encryption_key: kms.IKey | None = defaults.LOG_ENCRYPTION_KEY,
        domain_name: str | None = defaults.DOMAIN_NAME,
        certificate_arn: str | None = None,
        hosted_zone_id: str | None = None,
        hosted_zone_name: str | None = None,
        base_path: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        check_domain_props("LambdaHttpApi", self, domain_name=domain_name, certificate_arn=certificate_arn,
                           hosted_zone_id=hosted_zone_id, hosted_zone_name=hosted_zone_name, base_path=base_path)
        given_authorizer: apigwv2.IHttpRouteAuthorizer | None = None
        if authorization is not None and not isinstance(authorization, str):
            if not callable(getattr(authorization, "bind", None)):  # an IHttpRouteAuthorizer binds to its routes
                raise InvalidPropError("LambdaHttpApi", "authorization", repr(authorization),
                                       ", ".join(defaults.AUTHORIZATION_TYPES) + ", or an IHttpRouteAuthorizer")
            given_authorizer = authorization
            for prop, value in (("jwt_issuer", jwt_issuer), ("jwt_audience", jwt_audience),
                                ("authorizer_function", authorizer_function)):
                if value is not None:
                    raise InvalidPropError("LambdaHttpApi", prop, value if isinstance(value, (str, list, tuple))
                                           else path_of(value), "None when authorization is an authorizer object "
                                           "(it carries its own settings)")
        authorization = defaults.AUTHORIZATION if authorization is None or given_authorizer is not None \
            else authorization
        rate = throttle_rate_limit if throttle_rate_limit is not None else defaults.THROTTLE_RATE_LIMIT
        burst = throttle_burst_limit if throttle_burst_limit is not None else defaults.THROTTLE_BURST_LIMIT
        log_retention_days = retention(
            access_log_retention if access_log_retention is not None else defaults.ACCESS_LOG_RETENTION,
            construct="LambdaHttpApi", prop="access_log_retention")
        timeout_seconds = function.timeout_seconds
        if timeout_seconds > defaults.MAX_INTEGRATION_TIMEOUT_SECONDS:
            raise InvalidPropError("LambdaHttpApi", "function.timeout", f"{timeout_seconds:g} seconds",
                                   f"at most {defaults.MAX_INTEGRATION_TIMEOUT_SECONDS} seconds, the HTTP API integration limit")
        if rate < 0:
            raise InvalidPropError("LambdaHttpApi", "throttle_rate_limit", rate, "a number >= 0 requests per second")
        if burst < 0:
            raise InvalidPropError("LambdaHttpApi", "throttle_burst_limit", burst, "an integer >= 0")
        if authorization not in defaults.AUTHORIZATION_TYPES:
            raise InvalidPropError("LambdaHttpApi", "authorization", authorization,
                                   ", ".join(defaults.AUTHORIZATION_TYPES) + ", or an IHttpRouteAuthorizer")
        if given_authorizer is None:  # an authorizer object says what it is once bound to the route: below
            check_public("LambdaHttpApi", authorization, allow_public, alternatives="IAM, JWT or LAMBDA",
                         exposes="call every route", verb="call")
        if authorization == "JWT" and not (jwt_issuer and jwt_audience):
            raise InvalidPropError("LambdaHttpApi", "jwt_issuer/jwt_audience", (jwt_issuer, jwt_audience),
                                   "an issuer URL and at least one audience when authorization='JWT'")
        if authorization == "LAMBDA" and authorizer_function is None:
            raise InvalidPropError("LambdaHttpApi", "authorizer_function", None, "a function when authorization='LAMBDA'")
        if authorization != "JWT" and (jwt_issuer or jwt_audience):
            raise InvalidPropError("LambdaHttpApi", "jwt_issuer/jwt_audience", (jwt_issuer, jwt_audience),
                                   "only with authorization='JWT'")
        if authorization != "LAMBDA" and authorizer_function is not None:
            raise InvalidPropError("LambdaHttpApi", "authorizer_function", authorizer_function.node.path,
                                   "only with authorization='LAMBDA'")
        if cors is not None and cors.allow_credentials and "*" in (cors.allow_origins or []):
            raise InvalidPropError("LambdaHttpApi", "cors.allow_origins", cors.allow_origins,
                                   "explicit origins when allow_credentials=True (browsers reject '*' with credentials)")

        # 2. build ----------------------------------------------------------------------
        #: The function serving every request (its deployment group takes the API's rollback alarms).
        self.function = function
        self.authorizer: apigwv2.IHttpRouteAuthorizer | None = given_authorizer or _authorizer(
            authorization, jwt_issuer, jwt_audience, authorizer_function)
        self.integration = integrations.HttpLambdaIntegration(
            "Integration", function.invoke_target, payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0)
        self.api = apigwv2.HttpApi(
            self, "Api",
            description=f"HTTP API of {own_path(self, scope, construct_id)}",
            default_integration=self.integration,
            default_authorizer=self.authorizer,
            cors_preflight=cors,
            create_default_stage=False,
        )
        if given_authorizer is not None:
            # what the default route bound it as, before anything else is built: an object that lets
            # everyone in is public like "NONE"
            authorization = _bound_authorization(self.api)
            check_public("LambdaHttpApi", authorization, allow_public, alternatives="IAM, JWT or LAMBDA",
                         exposes="call every route", verb="call")
        #: ``"IAM"``, ``"JWT"``, ``"LAMBDA"`` or ``"NONE"``: what the routes require (see ``authorization``).
        self.authorization: str = authorization
        self.access_log_group = log_group(self, "AccessLogs", retention=log_retention_days,
                                          removal_policy=access_log_removal_policy, encryption_key=log_encryption_key)
        self.stage = apigwv2.HttpStage(
            self, "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=rate, burst_limit=burst),
            access_log_settings=AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_log_group),
                apigw.AccessLogFormat.custom(json.dumps(defaults.ACCESS_LOG_FIELDS)),
            ),
        )
        self.domain: ApiDomain | None = None
        if domain_name is not None:
            self.domain = ApiDomain(self, "Domain", api=self.api, stage=self.stage, domain_name=domain_name,
                                    certificate_arn=certificate_arn, hosted_zone_id=hosted_zone_id,
                                    hosted_zone_name=hosted_zone_name, base_path=base_path)

        # 3. wire -----------------------------------------------------------------------
        if base_path is not None:
            # the mapping key stays in the request's path: the handler strips it before routing
            function.add_environment(defaults.BASE_PATH_ENV, f"/{base_path}")

    @property
    def url(self) -> str:
        """The invoke URL of the ``$default`` stage."""
        return self.stage.url

    def grant_invoke(self, grantee: iam.IGrantable | ServerlessFunction, *,
                     method: str = defaults.GRANT_METHOD, path: str = defaults.GRANT_PATH) -> iam.Grant:
        """Let ``grantee`` (a role, a user, a :class:`ServerlessFunction` or any function) call this
        API: ``execute-api:Invoke`` on the ``$default`` stage, for ``method`` (``GET``…; default every
        method) on ``path`` (``/users/*``; default every path), in its own identity policy. Only with
        IAM authorization, where that permission is what API Gateway checks."""
        if self.authorization != "IAM":
            raise InvalidPropError("LambdaHttpApi", "authorization", self.authorization,
                                   "IAM to grant_invoke (execute-api:Invoke is checked on IAM routes only)")
        if not path.startswith("/"):
            raise InvalidPropError("LambdaHttpApi", "grant_invoke.path", path, "a path starting with /, e.g. /users/*")
        if isinstance(grantee, ServerlessFunction):
            grantee = grantee.function
        return iam.Grant.add_to_principal(grantee=grantee, actions=["execute-api:Invoke"],
                                          resource_arns=[self.api.arn_for_execute_api(method, path, "$default")])


def _authorizer(kind: str, issuer: str | None, audience: Sequence[str] | None,
                function: lambda_.IFunction | None) -> apigwv2.IHttpRouteAuthorizer | None:
    if kind == "IAM":
        return authorizers.HttpIamAuthorizer()
    if kind == "JWT":
        return authorizers.HttpJwtAuthorizer("JwtAuthorizer", issuer, jwt_audience=list(audience or []))
    if kind == "LAMBDA":
        return authorizers.HttpLambdaAuthorizer("LambdaAuthorizer", function,
                                                response_types=[authorizers.HttpLambdaResponseType.SIMPLE])
    return None


def _bound_authorization(api: apigwv2.HttpApi) -> str:
    """The authorization type the ``$default`` route was bound with, as :attr:`LambdaHttpApi.authorization` names it."""
    route = api.node.find_child("DefaultRoute").node.default_child
    bound = getattr(route, "authorization_type", None) or "NONE"  # CloudFormation's default: NONE
    return defaults.BOUND_AUTHORIZATION.get(bound, bound)
