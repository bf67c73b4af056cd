"""An API Gateway WebSocket API whose routes all go to one function."""
from __future__ import annotations

import json
import re
from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..acknowledge import acknowledge
from ..api_domain import ApiDomain, check_domain_props
from ..authorization import check_public
from ..errors import InvalidPropError
from ..function import ServerlessFunction
from ..logging_settings import AccessLogSettings, log_group, retention
from . import defaults


class LambdaWebSocketApi(Construct):
    """A WebSocket API (API Gateway v2): ``$connect``, ``$disconnect``, ``$default`` and custom
    routes to one :class:`ServerlessFunction`, on a throttled stage with JSON access logs.

    The function may post to, read and delete this stage's connections (``execute-api:ManageConnections``
    scoped to the stage) and finds the callback endpoint in its environment.

    Secure by default: ``$connect`` needs IAM authorization. A client signs the handshake with SigV4
    and needs ``execute-api:Invoke`` on this stage's ``$connect`` route (:meth:`grant_connect`); an
    unsigned one is refused before the function runs. Messages on an open connection need no more
    authorization: what a connection may receive is the function's decision.

    :param function: the function handling every route. Required.
    :param routes: custom route keys chosen by ``route_selection_expression`` (e.g. ``["subscribe"]``).
        Default: none (everything else goes to ``$default``).
    :param route_selection_expression: Default: ``$request.body.action``.
    :param stage_name: Default: ``live``.
    :param throttle_rate_limit: / :param throttle_burst_limit: Default: 100 / 200.
    :param authorization: on ``$connect``: ``"IAM"``, ``"LAMBDA"`` or ``"NONE"``. Default: ``"IAM"``.
    :param allow_public: must be True to use ``"NONE"``: anyone on the internet may then connect and
        receive whatever the function sends to connections (broadcasts included), and run the
        function with each message. Only with ``"NONE"``. Default: False.
    :param authorizer_function: for ``"LAMBDA"``: reads the token from the query string.
    :param token_query_parameter: the query-string parameter holding the token. Default: ``token``.
    :param access_log_retention: Default: 14 days.
    :param log_encryption_key: a customer-managed KMS key for the access log group (its policy gets
        the statement CloudWatch Logs needs). Default: none (CloudWatch Logs' own encryption).
    :param callback_url_env: environment variable receiving the callback endpoint.
        Default: ``WEBSOCKET_CALLBACK_URL``.
    :param domain_name: a custom domain (``api.example.com``), regional, TLS 1.2 at least, with the API
        mapping and, given the hosted zone, the Route 53 alias record (:class:`ApiDomain`). Default: none.
    :param certificate_arn: with ``domain_name``: an ACM certificate in the stack's region. Default: a
        DNS-validated certificate created here (then the hosted zone is required).
    :param hosted_zone_id: / :param hosted_zone_name: with ``domain_name``: the public zone holding it, by
        id and name (nothing is looked up at synth). Default: none (no certificate created, no DNS record).
    :param base_path: with ``domain_name``: the API mapping key, one segment (``v1``): the API answers
        under ``https://<domain>/<base_path>/``. Default: none (the root of the domain).

    Attributes: ``api``, ``stage``, ``integration``, ``authorizer``, ``authorization``, ``access_log_group``,
    ``url`` (``wss://``), ``callback_url`` (``https://``), ``domain`` (the :class:`ApiDomain`, or None;
    clients connect to ``wss://<domain_name>/<base_path>``). Methods: :meth:`grant_connect`,
    :meth:`grant_manage_connections`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: ServerlessFunction,
        routes: Sequence[str] = (),
        route_selection_expression: str | None = None,
        stage_name: str | None = None,
        throttle_rate_limit: float | None = None,
        throttle_burst_limit: int | None = None,
        authorization: str | None = None,
        authorizer_function: lambda_.IFunction | None = None,
        allow_public: bool = defaults.ALLOW_PUBLIC,
        token_query_parameter: str | None = None,
        access_log_retention: logs.RetentionDays | int | None = None,
        log_encryption_key: kms.IKey | None = defaults.LOG_ENCRYPTION_KEY,
        callback_url_env: str | None = None,
        domain_name: str | None = defaults.DOMAIN_NAME,
        certificate_arn: str | None = None,
        hosted_zone_id: str | None = None,
        hosted_zone_name: str | None = None,
        base_path: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        check_domain_props("LambdaWebSocketApi", self, domain_name=domain_name, certificate_arn=certificate_arn,
                           hosted_zone_id=hosted_zone_id, hosted_zone_name=hosted_zone_name, base_path=base_path)
        authorization = authorization or defaults.AUTHORIZATION
        stage_name = stage_name or defaults.STAGE_NAME
        rate = throttle_rate_limit if throttle_rate_limit is not None else defaults.THROTTLE_RATE_LIMIT
        burst = throttle_burst_limit if throttle_burst_limit is not None else defaults.THROTTLE_BURST_LIMIT
        log_retention_days = retention(
            access_log_retention if access_log_retention is not None else defaults.ACCESS_LOG_RETENTION,
            construct="LambdaWebSocketApi", prop="access_log_retention")
        selection = route_selection_expression or defaults.ROUTE_SELECTION_EXPRESSION
        if authorization not in defaults.AUTHORIZATION_TYPES:
            raise InvalidPropError("LambdaWebSocketApi", "authorization", authorization,
                                   ", ".join(defaults.AUTHORIZATION_TYPES))
        check_public("LambdaWebSocketApi", authorization, allow_public, alternatives="IAM or LAMBDA",
                     exposes="connect and receive what is sent to connections", verb="connect")
        if (authorization == "LAMBDA") != (authorizer_function is not None):
            raise InvalidPropError("LambdaWebSocketApi", "authorizer_function",
                                   authorizer_function.node.path if authorizer_function else None,
                                   "a function exactly when authorization='LAMBDA'")
        for route in routes:
            if not re.fullmatch(defaults.ROUTE_KEY_PATTERN, route):
                raise InvalidPropError("LambdaWebSocketApi", "routes", route,
                                       "custom route keys: a letter, then letters, digits, _ . : - (no leading $)")
        if len(set(routes)) != len(routes):
            raise InvalidPropError("LambdaWebSocketApi", "routes", list(routes), "distinct route keys")
        if not re.fullmatch(r"\$request\.body\.[A-Za-z_][A-Za-z0-9_.]*", selection):
            raise InvalidPropError("LambdaWebSocketApi", "route_selection_expression", selection,
                                   "a JSON body path such as $request.body.action")
        if not re.fullmatch(defaults.STAGE_NAME_PATTERN, stage_name) or stage_name.startswith("$"):
            raise InvalidPropError("LambdaWebSocketApi", "stage_name", stage_name, "1–128 letters, digits, _ or -")
        if rate < 0 or burst < 0:
            raise InvalidPropError("LambdaWebSocketApi", "throttle_rate_limit/throttle_burst_limit", (rate, burst), ">= 0")

        # 2. build ----------------------------------------------------------------------
        self.authorization = authorization
        self.integration = integrations.WebSocketLambdaIntegration("Integration", function.invoke_target)
        self.authorizer: apigwv2.IWebSocketRouteAuthorizer | None = None
        if authorization == "IAM":
            self.authorizer = authorizers.WebSocketIamAuthorizer()
        elif authorization == "LAMBDA":
            self.authorizer = authorizers.WebSocketLambdaAuthorizer(
                "Authorizer", authorizer_function,
                identity_source=[f"route.request.querystring.{token_query_parameter or defaults.TOKEN_QUERY_PARAMETER}"])
        self.api = apigwv2.WebSocketApi(
            self, "Api",
            description=f"WebSocket API of {self.node.path}",
            route_selection_expression=selection,
            connect_route_options=apigwv2.WebSocketRouteOptions(integration=self.integration, authorizer=self.authorizer),
            disconnect_route_options=apigwv2.WebSocketRouteOptions(integration=self.integration),
            default_route_options=apigwv2.WebSocketRouteOptions(integration=self.integration),
        )
        for route in routes:
            self.api.add_route(route, integration=self.integration)
        if authorization != "NONE":
            # cdk-nag asks every route for authorization; a WebSocket API authorizes the handshake only
            for child in self.api.node.children:
                if isinstance(child, apigwv2.WebSocketRoute) and child.route_key != "$connect":
                    acknowledge(child, "AwsSolutions-APIG4",
                                f"A WebSocket API authorizes $connect only ({authorization} here); "
                                f"{child.route_key} runs on a connection that $connect let in.")
        self.access_log_group = log_group(self, "AccessLogs", retention=log_retention_days,
                                          removal_policy=RemovalPolicy.DESTROY, encryption_key=log_encryption_key)
        self.stage = apigwv2.WebSocketStage(
            self, "Stage",
            web_socket_api=self.api,
            stage_name=stage_name,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=rate, burst_limit=burst),
            access_log_settings=AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_log_group),
                apigw.AccessLogFormat.custom(json.dumps(defaults.ACCESS_LOG_FIELDS))),
        )
        self.domain: ApiDomain | None = None
        if domain_name is not None:
            self.domain = ApiDomain(self, "Domain", api=self.api, stage=self.stage, domain_name=domain_name,
                                    certificate_arn=certificate_arn, hosted_zone_id=hosted_zone_id,
                                    hosted_zone_name=hosted_zone_name, base_path=base_path)

        # 3. wire -----------------------------------------------------------------------
        self._callback_url_env = callback_url_env or defaults.CALLBACK_URL_ENV
        self.grant_manage_connections(function)

    def grant_connect(self, grantee: iam.IGrantable | ServerlessFunction) -> iam.Grant:
        """Let ``grantee`` (a role, a user, a :class:`ServerlessFunction` or any function) open
        connections: ``execute-api:Invoke`` on this stage's ``$connect`` route, in its own identity
        policy. Only with IAM authorization, where that permission is what API Gateway checks."""
        if self.authorization != "IAM":
            raise InvalidPropError("LambdaWebSocketApi", "authorization", self.authorization,
                                   "IAM to grant_connect (execute-api:Invoke is checked on IAM routes only)")
        if isinstance(grantee, ServerlessFunction):
            grantee = grantee.function
        return iam.Grant.add_to_principal(grantee=grantee, actions=["execute-api:Invoke"],
                                          resource_arns=[self.api.arn_for_execute_api_v2("$connect", self.stage.stage_name)])

    def grant_manage_connections(self, function: ServerlessFunction) -> None:
        """Let ``function`` post to, read and delete this stage's connections (e.g. to broadcast),
        and give it the callback endpoint. A function in a VPC needs internet egress (NAT) to reach it."""
        self.stage.grant_management_api_access(function.role)
        function.add_environment(self._callback_url_env, self.stage.callback_url)
        stack = Stack.of(self)
        literal = lambda value, pseudo: f"<{pseudo}>" if Token.is_unresolved(value) else value  # noqa: E731
        api_id = stack.resolve(stack.get_logical_id(self.api.node.default_child))
        arn = (f"arn:{literal(stack.partition, 'AWS::Partition')}:execute-api:{literal(stack.region, 'AWS::Region')}:"
               f"{literal(stack.account, 'AWS::AccountId')}:<{api_id}>/{self.stage.stage_name}/*/@connections/*")
        acknowledge(function.role, f"AwsSolutions-IAM5[Resource::{arn}]",
                    "execute-api:ManageConnections on this API's stage only; the connection ids are created at "
                    "run time, so the resource must end in @connections/*.")

    @property
    def url(self) -> str:
        """The ``wss://`` URL clients connect to."""
        return self.stage.url

    @property
    def callback_url(self) -> str:
        """The ``https://`` endpoint of the API Gateway Management API for this stage."""
        return self.stage.callback_url
