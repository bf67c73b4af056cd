"""LambdaHttpApi: the $default route, stage, logs, throttling, CORS, authorization, permission."""
from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from constructs_lib import InvalidPropError, LambdaHttpApi, QueueWorker, ServerlessFunction, ServiceMonitoring
from constructs_lib.compliance import acknowledge, add_checks
from constructs_lib.contract import Policies, Principal, Request, Templates, decide
from tests.cdk_helpers import cdk_context, new_stack
from tests.policy_eval import logs_may_use_key

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def build(function_props: dict | None = None, **props):  # type: ignore[no-untyped-def]
    stack = new_stack()
    function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler", **(function_props or {}))
    if props.get("authorization") == "LAMBDA" and "authorizer_function" not in props:
        props["authorizer_function"] = ServerlessFunction(stack, "Authz", code=INLINE, handler="index.handler").function
    api = LambdaHttpApi(stack, "Http", function=function, **props)
    return api, Template.from_stack(stack)


class TestDefaults:
    def test_default_route_proxies_everything_with_payload_2(self) -> None:
        _, template = build()
        template.resource_count_is("AWS::ApiGatewayV2::Route", 1)
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": "$default", "AuthorizationType": "AWS_IAM"})
        template.has_resource_properties("AWS::ApiGatewayV2::Integration", {
            "IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0",
            "IntegrationUri": {"Fn::GetAtt": [Match.string_like_regexp("FnFunction"), "Arn"]}})
        template.has_resource_properties("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"})

    def test_default_stage_auto_deploys_with_throttling(self) -> None:
        _, template = build()
        template.resource_count_is("AWS::ApiGatewayV2::Stage", 1)
        template.has_resource_properties("AWS::ApiGatewayV2::Stage", {
            "StageName": "$default", "AutoDeploy": True,
            "DefaultRouteSettings": {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200}})

    def test_json_access_logs_to_explicit_log_group_with_retention(self) -> None:
        api, template = build()
        stage = next(iter(template.find_resources("AWS::ApiGatewayV2::Stage").values()))
        settings = stage["Properties"]["AccessLogSettings"]
        access_log_id = settings["DestinationArn"]["Fn::GetAtt"][0]
        assert access_log_id.startswith("HttpAccessLogs")
        assert template.find_resources("AWS::Logs::LogGroup")[access_log_id]["Properties"]["RetentionInDays"] == 14
        fields = json.loads(settings["Format"])
        assert fields["requestId"] == "$context.requestId" and fields["status"] == "$context.status"
        template.resource_count_is("AWS::Logs::LogGroup", 2)  # function + access logs
        assert api.access_log_group is not None

    def test_access_logs_without_customer_managed_key(self) -> None:
        api, template = build()
        access_log_id = Stack.of(api).resolve(api.access_log_group.node.default_child.logical_id)
        assert "KmsKeyId" not in template.find_resources("AWS::Logs::LogGroup")[access_log_id]["Properties"]

    def test_invoke_permission_scoped_to_this_api(self) -> None:
        _, template = build()
        permissions = template.find_resources("AWS::Lambda::Permission")
        assert len(permissions) == 1
        source_arn = next(iter(permissions.values()))["Properties"]["SourceArn"]["Fn::Join"][1]
        assert {"Ref": next(iter(template.find_resources("AWS::ApiGatewayV2::Api")))} in source_arn
        assert source_arn[-1] == "/*/*"

    def test_attributes(self) -> None:
        api, _ = build()
        assert isinstance(api.api, apigwv2.HttpApi)
        assert isinstance(api.stage, apigwv2.HttpStage)
        assert api.authorization == "IAM" and api.authorizer is not None  # IAM by default, no longer None
        assert "execute-api" in json.dumps(Stack.of(api).resolve(api.url))


class TestOptions:
    def test_integration_targets_alias_when_function_has_one(self) -> None:
        _, template = build({"publish_alias": True})
        template.has_resource_properties("AWS::ApiGatewayV2::Integration", {
            "IntegrationUri": {"Ref": Match.string_like_regexp("FnAlias")}})
        template.has_resource_properties("AWS::Lambda::Permission", {
            "FunctionName": {"Ref": Match.string_like_regexp("FnAlias")}})

    def test_throttle_props(self) -> None:
        _, template = build(throttle_rate_limit=5, throttle_burst_limit=10)
        template.has_resource_properties("AWS::ApiGatewayV2::Stage", {
            "DefaultRouteSettings": {"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10}})

    def test_access_log_retention(self) -> None:
        _, template = build(access_log_retention=90)
        template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})

    def test_access_logs_encrypted_with_a_customer_managed_key(self) -> None:
        # GIVEN a key WHEN the API is built with log_encryption_key
        stack = new_stack()
        key = kms.Key(stack, "LogKey", enable_key_rotation=True)
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
        api = LambdaHttpApi(stack, "Http", function=function, log_encryption_key=key)
        # THEN the access log group uses it, and CloudWatch Logs may use the key for it
        key_id, group_id = (stack.resolve(c.node.default_child.logical_id) for c in (key, api.access_log_group))
        assert logs_may_use_key(Template.from_stack(stack).to_json(), key_id, group_id)

    def test_cors(self) -> None:
        _, template = build(cors=apigwv2.CorsPreflightOptions(
            allow_origins=["https://app.example.com"], allow_methods=[apigwv2.CorsHttpMethod.GET],
            allow_headers=["content-type"], max_age=Duration.hours(1)))
        template.has_resource_properties("AWS::ApiGatewayV2::Api", {"CorsConfiguration": {
            "AllowOrigins": ["https://app.example.com"], "AllowMethods": ["GET"],
            "AllowHeaders": ["content-type"], "MaxAge": 3600}})

    def test_iam_authorization(self) -> None:
        _, template = build(authorization="IAM")
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"AuthorizationType": "AWS_IAM"})

    def test_jwt_authorization(self) -> None:
        api, template = build(authorization="JWT", jwt_issuer="https://issuer.example.com",
                              jwt_audience=["my-app"])
        template.has_resource_properties("AWS::ApiGatewayV2::Authorizer", {
            "AuthorizerType": "JWT", "JwtConfiguration": {"Issuer": "https://issuer.example.com", "Audience": ["my-app"]},
            "IdentitySource": ["$request.header.Authorization"]})
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"AuthorizationType": "JWT"})
        assert api.authorizer is not None

    def test_lambda_authorization(self) -> None:
        _, template = build(authorization="LAMBDA")
        template.has_resource_properties("AWS::ApiGatewayV2::Authorizer", {
            "AuthorizerType": "REQUEST", "EnableSimpleResponses": True, "AuthorizerPayloadFormatVersion": "2.0"})
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"AuthorizationType": "CUSTOM"})


ACCOUNT, REGION = "123456789012", "eu-west-1"
ANONYMOUS = Principal(account="", anonymous=True)


def may_invoke(stack: Stack, api: LambdaHttpApi, principal: Principal, method: str = "GET", path: str = "/users/1") -> bool:
    """Would API Gateway let ``principal`` call ``method path``? Decided from the synthesized template."""
    templates = Templates({"TestStack": Template.from_stack(stack).to_json()}, {"TestStack": (ACCOUNT, REGION)})
    api_id = templates.resolve("TestStack", stack.resolve(api.api.api_id))
    resource = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/$default/{method}{path}"
    return decide(Policies(templates), Request(principal, "execute-api:Invoke", resource)).allowed


def role_principal(stack: Stack, role: iam.Role) -> Principal:
    return Principal(account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/{stack.resolve(role.node.default_child.logical_id)}")


class TestSecureByDefault:
    def test_an_unsigned_caller_is_refused_and_a_granted_role_is_let_in(self) -> None:
        # GIVEN the API with its defaults, and two roles of the account, one granted
        stack = new_stack()
        api = LambdaHttpApi(stack, "Http", function=ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler"))
        client, other = (iam.Role(stack, name, assumed_by=iam.AccountRootPrincipal()) for name in ("Client", "Other"))
        api.grant_invoke(client)
        # WHEN each calls  THEN only the granted, signed caller gets through
        assert not may_invoke(stack, api, ANONYMOUS)
        assert may_invoke(stack, api, role_principal(stack, client), "DELETE", "/users/1")
        assert not may_invoke(stack, api, role_principal(stack, other))
        assert api.authorization == "IAM" and api.authorizer is not None

    def test_a_grant_can_be_narrowed_to_a_method_and_path(self) -> None:
        stack = new_stack()
        api = LambdaHttpApi(stack, "Http", function=ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler"))
        reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
        api.grant_invoke(reader, method="GET", path="/users/*")
        assert may_invoke(stack, api, role_principal(stack, reader), "GET", "/users/1")
        assert not may_invoke(stack, api, role_principal(stack, reader), "DELETE", "/users/1")
        assert not may_invoke(stack, api, role_principal(stack, reader), "GET", "/health")

    def test_public_only_when_asked_for_and_then_anyone_is_let_in(self) -> None:
        # GIVEN authorization NONE without allow_public  THEN synth fails naming the prop and the way out
        with pytest.raises(InvalidPropError) as raised:
            build(authorization="NONE")
        assert (raised.value.construct, raised.value.prop, raised.value.value) == ("LambdaHttpApi", "authorization", "NONE")
        assert "allow_public=True" in raised.value.allowed and "anyone on the internet" in raised.value.allowed
        # GIVEN it asked for  THEN the route has no authorization and an unsigned caller is let in
        stack = new_stack()
        api = LambdaHttpApi(stack, "Http", function=ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler"),
                            authorization="NONE", allow_public=True)
        Template.from_stack(stack).has_resource_properties("AWS::ApiGatewayV2::Route", {"AuthorizationType": "NONE"})
        assert may_invoke(stack, api, ANONYMOUS) and api.authorizer is None

    def test_allow_public_is_refused_beside_an_authorization(self) -> None:
        for authorization in (None, "IAM"):
            with pytest.raises(InvalidPropError) as raised:
                build(authorization=authorization, allow_public=True)
            assert raised.value.prop == "allow_public" and "only with authorization='NONE'" in raised.value.allowed

    def test_grant_invoke_needs_iam_authorization(self) -> None:
        api, _ = build(authorization="JWT", jwt_issuer="https://issuer.example.com", jwt_audience=["a"])
        with pytest.raises(InvalidPropError) as raised:
            api.grant_invoke(iam.Role(api, "Client", assumed_by=iam.AccountRootPrincipal()))
        assert raised.value.prop == "authorization" and raised.value.value == "JWT"


class TestInvalidProps:
    @pytest.mark.parametrize(("function_props", "props", "prop", "fragment"), [
        ({"timeout": Duration.seconds(31)}, {}, "function.timeout", "at most 30 seconds"),
        ({}, {"authorization": "COGNITO"}, "authorization", "NONE, IAM, JWT, LAMBDA"),
        ({}, {"authorization": "JWT", "jwt_issuer": "https://i"}, "jwt_issuer/jwt_audience", "at least one audience"),
        ({}, {"jwt_issuer": "https://i", "jwt_audience": ["a"]}, "jwt_issuer/jwt_audience", "only with authorization='JWT'"),
        ({}, {"throttle_rate_limit": -1}, "throttle_rate_limit", ">= 0"),
        ({}, {"throttle_burst_limit": -1}, "throttle_burst_limit", ">= 0"),
        ({}, {"access_log_retention": 2}, "access_log_retention", "1, 3, 5"),
        ({}, {"cors": apigwv2.CorsPreflightOptions(allow_origins=["*"], allow_credentials=True)},
         "cors.allow_origins", "explicit origins"),
    ])
    def test_fails_at_synth(self, function_props, props, prop, fragment) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            build(function_props, **props)
        assert raised.value.prop == prop
        assert fragment in str(raised.value)

    def test_lambda_authorization_needs_function(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
        with pytest.raises(InvalidPropError, match="invalid authorizer_function=None; allowed: a function"):
            LambdaHttpApi(stack, "Http", function=function, authorization="LAMBDA")


class TestAuthorizerObject:
    """An IHttpRouteAuthorizer a team already has, used as given; what it binds to decides who may call."""

    def build_with(self, make_authorizer, **props):  # type: ignore[no-untyped-def]
        stack = new_stack()
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
        api = LambdaHttpApi(stack, "Http", function=function, authorization=make_authorizer(stack), **props)
        return stack, api, Template.from_stack(stack)

    def route_and_authorizer(self, template: Template) -> tuple[dict, dict]:
        (route,) = template.find_resources("AWS::ApiGatewayV2::Route").values()
        (authorizer_id, authorizer), = template.find_resources("AWS::ApiGatewayV2::Authorizer").items()
        assert route["Properties"]["AuthorizerId"] == {"Ref": authorizer_id}
        return route["Properties"], authorizer["Properties"]

    @pytest.mark.parametrize("value", [5, ["IAM"], {"type": "IAM"}, object()])
    def test_anything_but_a_name_or_an_authorizer_fails_naming_the_prop(self, value: object) -> None:
        # GIVEN a value that is neither an authorization name nor an authorizer (it reached CDK, which failed
        # with "Unable to deserialize value" from inside jsii)
        stack = new_stack()
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
        # WHEN it is given THEN synth stops naming the prop and what it takes
        with pytest.raises(InvalidPropError, match="allowed: NONE, IAM, JWT, LAMBDA, or an IHttpRouteAuthorizer") as raised:
            LambdaHttpApi(stack, "Http", function=function, authorization=value)  # type: ignore[arg-type]
        assert raised.value.prop == "authorization"

    def test_a_jwt_authorizer_object_guards_the_route(self) -> None:
        # GIVEN the team's own JWT authorizer (a Cognito-style issuer and its own identity source)
        stack, api, template = self.build_with(lambda _stack: authorizers.HttpJwtAuthorizer(
            "TeamJwt", "https://issuer.example.com", jwt_audience=["orders"],
            identity_source=["$request.header.X-Token"]))
        # THEN the route is JWT-authorized by exactly that authorizer
        route, authorizer = self.route_and_authorizer(template)
        assert route["AuthorizationType"] == "JWT"
        assert (authorizer["AuthorizerType"], authorizer["IdentitySource"], authorizer["JwtConfiguration"]) == (
            "JWT", ["$request.header.X-Token"], {"Issuer": "https://issuer.example.com", "Audience": ["orders"]})
        assert api.authorization == "JWT" and isinstance(api.authorizer, authorizers.HttpJwtAuthorizer)
        # AND an unsigned caller without a token is refused; IAM grants make no sense on it
        assert not may_invoke(stack, api, ANONYMOUS)
        with pytest.raises(InvalidPropError):
            api.grant_invoke(iam.AccountRootPrincipal())

    def test_a_lambda_authorizer_object_keeps_its_own_settings(self) -> None:
        def make(stack):  # type: ignore[no-untyped-def]
            decider = ServerlessFunction(stack, "Decider", code=INLINE, handler="index.handler").function
            return authorizers.HttpLambdaAuthorizer("TeamLambda", decider, results_cache_ttl=Duration.minutes(2),
                                                    response_types=[authorizers.HttpLambdaResponseType.IAM])
        stack, api, template = self.build_with(make)
        route, authorizer = self.route_and_authorizer(template)
        assert route["AuthorizationType"] == "CUSTOM"
        assert (authorizer["AuthorizerType"], authorizer["AuthorizerResultTtlInSeconds"]) == ("REQUEST", 120)
        assert "EnableSimpleResponses" not in authorizer  # the team's IAM-policy responses, not our simple ones
        assert api.authorization == "LAMBDA" and not may_invoke(stack, api, ANONYMOUS)

    def test_an_iam_authorizer_object_is_iam_and_grants_work(self) -> None:
        stack = new_stack()
        api = LambdaHttpApi(stack, "Http", function=ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler"),
                            authorization=authorizers.HttpIamAuthorizer())
        client = iam.Role(stack, "Client", assumed_by=iam.AccountRootPrincipal())
        api.grant_invoke(client)
        Template.from_stack(stack).has_resource_properties("AWS::ApiGatewayV2::Route", {"AuthorizationType": "AWS_IAM"})
        assert api.authorization == "IAM" and may_invoke(stack, api, role_principal(stack, client))
        assert not may_invoke(stack, api, ANONYMOUS)

    def test_an_authorizer_that_lets_everyone_in_is_public_and_needs_allow_public(self) -> None:
        # GIVEN HttpNoneAuthorizer, an object that is as public as "NONE"
        with pytest.raises(InvalidPropError) as raised:
            self.build_with(lambda _stack: apigwv2.HttpNoneAuthorizer())
        assert (raised.value.prop, raised.value.value) == ("authorization", "NONE")
        # WHEN allow_public is given THEN anyone gets through, as with the string
        stack, api, _ = self.build_with(lambda _stack: apigwv2.HttpNoneAuthorizer(), allow_public=True)
        assert api.authorization == "NONE" and may_invoke(stack, api, ANONYMOUS)

    def test_allow_public_beside_a_guarding_authorizer_object_fails(self) -> None:
        with pytest.raises(InvalidPropError) as raised:
            self.build_with(lambda _stack: authorizers.HttpIamAuthorizer(), allow_public=True)
        assert raised.value.prop == "allow_public"

    @pytest.mark.parametrize(("props", "prop"), [({"jwt_issuer": "https://issuer.example.com"}, "jwt_issuer"),
                                                 ({"jwt_audience": ["orders"]}, "jwt_audience")])
    def test_string_settings_beside_an_authorizer_object_fail(self, props, prop) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            self.build_with(lambda _stack: authorizers.HttpIamAuthorizer(), **props)
        assert raised.value.prop == prop and "authorizer object" in raised.value.allowed

    def test_an_authorizer_function_beside_an_authorizer_object_fails(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
        with pytest.raises(InvalidPropError) as raised:
            LambdaHttpApi(stack, "Http", function=function, authorization=authorizers.HttpIamAuthorizer(),
                          authorizer_function=function.function)
        assert raised.value.prop == "authorizer_function"


def test_a_teams_own_resources_pass_cdk_nag(tmp_path: Path) -> None:
    """An imported queue's worker, a plain function under monitoring, a JWT authorizer object: no new findings."""
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "Own", env=cdk.Environment(account=ACCOUNT, region=REGION))
    api_fn = ServerlessFunction(stack, "ApiFn", code=INLINE, handler="index.handler")
    worker_fn = ServerlessFunction(stack, "WorkerFn", code=INLINE, handler="index.handler")
    api = LambdaHttpApi(stack, "Http", function=api_fn, authorization=authorizers.HttpJwtAuthorizer(
        "TeamJwt", "https://issuer.example.com", jwt_audience=["orders"]))
    worker = QueueWorker(stack, "Worker", function=worker_fn,
                         queue=sqs.Queue.from_queue_arn(stack, "Orders", f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"))
    monitoring = ServiceMonitoring(stack, "Monitoring", service_name="own")
    monitoring.monitor_function(lambda_.Function.from_function_arn(
        stack, "Legacy", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:legacy"), timeout=Duration.seconds(20))
    monitoring.monitor_http_api(api)
    monitoring.monitor_queue_worker(worker)
    for function in (api_fn, worker_fn):  # this test's inline code: findings about the code, not the resources
        acknowledge(function.function, ("Serverless-LambdaDLQ", "AwsSolutions-L1", "Serverless-LambdaLatestVersion"),
                    "This test's inline code stands in for a real bundle; only the team's own resources are under test.")
    add_checks(app)
    app.synth()  # raises on any finding not acknowledged
