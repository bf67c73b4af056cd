"""LambdaWebSocketApi: routes, stage, logs, throttling, authorization, management permission."""
from __future__ import annotations

import json

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from constructs_lib import InvalidPropError, ServerlessFunction
from constructs_lib.contract import Policies, Principal, Request, Templates, decide
from constructs_lib.websocket_api import LambdaWebSocketApi
from tests.cdk_helpers import new_stack
from tests.policy_eval import logs_may_use_key

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def build(**props):  # type: ignore[no-untyped-def]
    stack = new_stack()
    function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
    if props.get("authorization") == "LAMBDA" and "authorizer_function" not in props:
        props["authorizer_function"] = ServerlessFunction(stack, "Authz", code=INLINE, handler="index.handler").function
    api = LambdaWebSocketApi(stack, "Ws", function=function, **props)
    return api, function, Template.from_stack(stack)


class TestDefaults:
    def test_websocket_protocol_with_connect_disconnect_default_routes(self) -> None:
        _, _, template = build()
        template.has_resource_properties("AWS::ApiGatewayV2::Api", {
            "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"})
        keys = sorted(r["Properties"]["RouteKey"] for r in template.find_resources("AWS::ApiGatewayV2::Route").values())
        assert keys == ["$connect", "$default", "$disconnect"]
        template.has_resource_properties("AWS::ApiGatewayV2::Integration", {"IntegrationType": "AWS_PROXY"})

    def test_stage_auto_deploys_throttled_with_json_access_logs(self) -> None:
        _, _, template = build()
        stage = next(iter(template.find_resources("AWS::ApiGatewayV2::Stage").values()))["Properties"]
        assert stage["StageName"] == "live" and stage["AutoDeploy"] is True
        assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100}
        assert json.loads(stage["AccessLogSettings"]["Format"])["connectionId"] == "$context.connectionId"
        log_id = stage["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
        assert template.find_resources("AWS::Logs::LogGroup")[log_id]["Properties"]["RetentionInDays"] == 14
        assert "KmsKeyId" not in template.find_resources("AWS::Logs::LogGroup")[log_id]["Properties"]

    def test_access_logs_encrypted_with_a_customer_managed_key(self) -> None:
        # GIVEN a key WHEN the API is built with log_encryption_key
        stack = new_stack()
        key = kms.Key(stack, "LogKey", enable_key_rotation=True)
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
        api = LambdaWebSocketApi(stack, "Ws", function=function, log_encryption_key=key)
        # THEN the access log group uses it, and CloudWatch Logs may use the key for it
        key_id, group_id = (stack.resolve(c.node.default_child.logical_id) for c in (key, api.access_log_group))
        assert logs_may_use_key(Template.from_stack(stack).to_json(), key_id, group_id)

    def test_manage_connections_scoped_to_this_stage_and_callback_url_in_environment(self) -> None:
        api, function, template = build()
        stack = Stack.of(api)
        statements = [s for p in template.find_resources("AWS::IAM::Policy").values()
                      for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "execute-api:ManageConnections"]
        assert len(statements) == 1
        resource = json.dumps(statements[0]["Resource"])
        assert stack.resolve(api.api.api_id)["Ref"] in resource and "/live/*/@connections/*" in resource
        variables = template.find_resources("AWS::Lambda::Function")[
            stack.get_logical_id(function.function.node.default_child)]["Properties"]["Environment"]["Variables"]
        assert "/live" in json.dumps(variables["WEBSOCKET_CALLBACK_URL"]) and "https://" in json.dumps(variables["WEBSOCKET_CALLBACK_URL"])

    def test_invoke_permission_and_attributes(self) -> None:
        api, _, template = build()
        assert template.find_resources("AWS::Lambda::Permission")
        assert "wss://" in json.dumps(Stack.of(api).resolve(api.url))
        assert api.authorization == "IAM" and api.authorizer is not None  # IAM on $connect by default


ACCOUNT, REGION = "123456789012", "eu-west-1"
ANONYMOUS = Principal(account="", anonymous=True)


def may_connect(api: LambdaWebSocketApi, principal: Principal) -> bool:
    """Would API Gateway let ``principal`` open a connection? Decided from the synthesized template."""
    stack = Stack.of(api)
    templates = Templates({"TestStack": Template.from_stack(stack).to_json()}, {"TestStack": (ACCOUNT, REGION)})
    api_id = templates.resolve("TestStack", stack.resolve(api.api.api_id))
    resource = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/{api.stage.stage_name}/$connect"
    return decide(Policies(templates), Request(principal, "execute-api:Invoke", resource)).allowed


def role_principal(role: iam.Role) -> Principal:
    return Principal(account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/{Stack.of(role).resolve(role.node.default_child.logical_id)}")


class TestSecureByDefault:
    def test_connect_needs_iam_and_only_a_granted_role_connects(self) -> None:
        # GIVEN the API with its defaults, its own function, and two roles of the account, one granted
        stack = new_stack()
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
        api = LambdaWebSocketApi(stack, "Ws", function=function)
        client, other = (iam.Role(stack, name, assumed_by=iam.AccountRootPrincipal()) for name in ("Client", "Other"))
        api.grant_connect(client)
        template = Template.from_stack(stack)
        # THEN $connect is IAM-authorized: no unsigned client, no role without the grant, not even the
        # function that may post to connections, gets a connection
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": "$connect", "AuthorizationType": "AWS_IAM"})
        assert not may_connect(api, ANONYMOUS)
        assert may_connect(api, role_principal(client))
        assert not may_connect(api, role_principal(other))
        assert not may_connect(api, Principal(account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:role/" + Stack.of(api).resolve(
            function.role.node.default_child.logical_id)))

    def test_public_only_when_asked_for(self) -> None:
        with pytest.raises(InvalidPropError) as raised:
            build(authorization="NONE")
        assert (raised.value.prop, raised.value.value) == ("authorization", "NONE")
        assert "allow_public=True" in raised.value.allowed and "anyone on the internet" in raised.value.allowed
        api, _, template = build(authorization="NONE", allow_public=True)
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": "$connect", "AuthorizationType": "NONE"})
        assert may_connect(api, ANONYMOUS) and api.authorizer is None

    def test_allow_public_is_refused_beside_an_authorization(self) -> None:
        with pytest.raises(InvalidPropError) as raised:
            build(allow_public=True)
        assert raised.value.prop == "allow_public" and "only with authorization='NONE'" in raised.value.allowed

    def test_grant_connect_needs_iam_authorization(self) -> None:
        api, _, _ = build(authorization="LAMBDA")
        with pytest.raises(InvalidPropError) as raised:
            api.grant_connect(iam.Role(api, "Client", assumed_by=iam.AccountRootPrincipal()))
        assert raised.value.prop == "authorization" and raised.value.value == "LAMBDA"


class TestOptions:
    def test_custom_routes(self) -> None:
        _, _, template = build(routes=["subscribe", "publish"])
        keys = sorted(r["Properties"]["RouteKey"] for r in template.find_resources("AWS::ApiGatewayV2::Route").values())
        assert keys == ["$connect", "$default", "$disconnect", "publish", "subscribe"]

    def test_iam_authorization_on_connect_only(self) -> None:
        _, _, template = build(authorization="IAM")
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": "$connect", "AuthorizationType": "AWS_IAM"})
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": "$default", "AuthorizationType": "NONE"})

    def test_lambda_authorizer_reads_token_from_query_string(self) -> None:
        _, _, template = build(authorization="LAMBDA", token_query_parameter="auth")
        template.has_resource_properties("AWS::ApiGatewayV2::Authorizer", {
            "AuthorizerType": "REQUEST", "IdentitySource": ["route.request.querystring.auth"]})
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": "$connect", "AuthorizationType": "CUSTOM"})

    def test_stage_name_and_throttle(self) -> None:
        _, _, template = build(stage_name="prod", throttle_rate_limit=5, throttle_burst_limit=9)
        template.has_resource_properties("AWS::ApiGatewayV2::Stage", {
            "StageName": "prod", "DefaultRouteSettings": Match.object_like({"ThrottlingRateLimit": 5})})


class TestInvalidProps:
    @pytest.mark.parametrize(("props", "prop"), [
        ({"authorization": "JWT"}, "authorization"),
        ({"authorization": "LAMBDA", "authorizer_function": None}, "authorizer_function"),
        ({"routes": ["$connect"]}, "routes"),
        ({"routes": ["a", "a"]}, "routes"),
        ({"route_selection_expression": "action"}, "route_selection_expression"),
        ({"stage_name": "$default"}, "stage_name"),
        ({"throttle_rate_limit": -1}, "throttle_rate_limit/throttle_burst_limit"),
        ({"access_log_retention": 4}, "access_log_retention"),
    ])
    def test_fails_at_synth_naming_the_prop(self, props, prop) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            build(**props)
        assert raised.value.prop == prop
