"""AWS's evaluation logic, one rule per test, on small hand-written templates (no CDK)."""
from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.contract import EvaluationError, Policies, Principal, Request, Templates, decide

ACCOUNT, REGION = "123456789012", "eu-west-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Fn"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:Queue"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/Key"
ROLE = Principal(account=ACCOUNT, arn=ROLE_ARN)
TLS_DENY = {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def policies(*, identity: list[dict[str, Any]] = (), queue_policy: list[dict[str, Any]] = (),  # type: ignore[assignment]
             key_policy: list[dict[str, Any]] | None = None) -> Policies:
    resources: dict[str, Any] = {
        "Fn": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    }
    if identity:
        resources["FnPolicy"] = {"Type": "AWS::IAM::Policy", "Properties": {
            "Roles": [{"Ref": "Fn"}], "PolicyDocument": {"Statement": list(identity)}}}
    if queue_policy:
        resources["QueuePolicy"] = {"Type": "AWS::SQS::QueuePolicy", "Properties": {
            "Queues": [{"Ref": "Queue"}], "PolicyDocument": {"Statement": list(queue_policy)}}}
    if key_policy is not None:
        resources["Key"] = {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": key_policy}}}
        resources["Queue"]["Properties"]["KmsMasterKeyId"] = {"Fn::GetAtt": ["Key", "Arn"]}
    return Policies(Templates({"S": {"Resources": resources}}, {"S": (ACCOUNT, REGION)}))


def allow(action: str, resource: Any = {"Fn::GetAtt": ["Queue", "Arn"]}, **extra: Any) -> dict[str, Any]:  # noqa: B006
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def send(principal: Principal = ROLE, resource: str = QUEUE_ARN, action: str = "sqs:SendMessage",
         **context: str) -> Request:
    return Request(principal, action, resource, context)


def test_nothing_allows_nothing() -> None:
    decision = decide(policies(), send())
    assert not decision.allowed and "implicit deny" in decision.reason


def test_an_identity_statement_allows_its_action_on_its_resource_only() -> None:
    found = policies(identity=[allow("sqs:SendMessage")])
    assert decide(found, send()).allowed
    assert not decide(found, send(action="sqs:ReceiveMessage")).allowed
    assert not decide(found, send(resource=f"arn:aws:sqs:{REGION}:{ACCOUNT}:Other")).allowed


def test_actions_match_case_insensitively_and_with_wildcards() -> None:
    assert decide(policies(identity=[allow("SQS:send*")]), send()).allowed
    assert not decide(policies(identity=[allow("sqs:Send?")]), send()).allowed


def test_wildcards_in_resources_are_iam_wildcards_not_regular_expressions() -> None:
    # "$" and "." in an ARN pattern are literal characters; "[" too
    route = Request(ROLE, "execute-api:Invoke", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api/$default/$connect")
    assert decide(policies(identity=[allow("execute-api:Invoke",
                                           f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api/*$connect")]), route).allowed
    assert not decide(policies(identity=[allow("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:Queu.")]),
                      send()).allowed


def test_an_explicit_deny_wins_over_any_allow() -> None:
    found = policies(identity=[allow("sqs:*")], queue_policy=[TLS_DENY])
    assert decide(found, send()).allowed
    decision = decide(found, send(**{"aws:SecureTransport": "false"}))
    assert not decision.allowed and decision.denied_by == ("S/QueuePolicy#0",)


def test_a_resource_policy_naming_the_role_allows_without_an_identity_policy() -> None:
    found = policies(queue_policy=[allow("sqs:SendMessage", Principal={"AWS": ROLE_ARN})])
    decision = decide(found, send())
    assert decision.allowed and set(decision.allowed_by) == {"resource"}


def test_a_resource_policy_naming_the_account_only_delegates_to_iam() -> None:
    root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert not decide(policies(queue_policy=[allow("sqs:SendMessage", Principal=root)]), send()).allowed
    assert decide(policies(identity=[allow("sqs:SendMessage")],
                           queue_policy=[allow("sqs:SendMessage", Principal=root)]), send()).allowed


def test_another_account_needs_both_its_identity_and_the_resource_policy() -> None:
    stranger = Principal(account="999999999999", arn="arn:aws:iam::999999999999:role/X",
                         assumed_identity=({"Effect": "Allow", "Action": "*", "Resource": "*"},))
    assert not decide(policies(), send(stranger)).allowed
    assert decide(policies(queue_policy=[allow("sqs:SendMessage", Principal={"AWS": "999999999999"})]),
                  send(stranger)).allowed


def test_a_service_is_decided_by_the_resource_policy_and_its_conditions() -> None:
    statement = allow("sqs:SendMessage", Principal={"Service": "sns.amazonaws.com"}, Condition={
        "ArnLike": {"aws:SourceArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:*"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT}})
    sns = Principal(account=ACCOUNT, service="sns.amazonaws.com")
    found = policies(queue_policy=[statement])
    ours = {"aws:SourceArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:Topic", "aws:SourceAccount": ACCOUNT}
    assert decide(found, send(sns, **ours)).allowed
    assert not decide(found, send(sns, **{**ours, "aws:SourceAccount": "999999999999"})).allowed
    assert not decide(found, send(sns, **{**ours, "aws:SourceArn": f"arn:aws:sns:{REGION}:999999999999:Topic"})).allowed
    assert not decide(found, send(sns)).allowed  # keys absent from the request: the condition fails
    other = Principal(account=ACCOUNT, service="events.amazonaws.com")
    assert not decide(found, send(other, **ours)).allowed


def test_arn_like_matches_each_arn_component_separately() -> None:
    statement = allow("sqs:SendMessage", Principal={"Service": "sns.amazonaws.com"},
                      Condition={"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:T*"}})
    sns = Principal(account=ACCOUNT, service="sns.amazonaws.com")
    assert decide(policies(queue_policy=[statement]), send(sns, **{"aws:SourceArn": "arn:aws:sns:x:123456789012:Tp"})).allowed
    # a "*" in one component does not swallow the colons of the next
    assert not decide(policies(queue_policy=[statement]),
                      send(sns, **{"aws:SourceArn": "arn:aws:sns:x:1:123456789012:Tp"})).allowed


def test_if_exists_null_and_negated_operators_on_absent_keys() -> None:
    base = {"Principal": {"AWS": ROLE_ARN}}
    exists = allow("sqs:SendMessage", **base, Condition={"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})
    assert decide(policies(queue_policy=[exists]), send()).allowed
    assert not decide(policies(queue_policy=[exists]), send(**{"aws:SourceVpc": "vpc-2"})).allowed
    null = allow("sqs:SendMessage", **base, Condition={"Null": {"aws:SourceVpc": "true"}})
    assert decide(policies(queue_policy=[null]), send()).allowed
    assert not decide(policies(queue_policy=[null]), send(**{"aws:SourceVpc": "vpc-1"})).allowed
    negated = allow("sqs:SendMessage", **base, Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1"}})
    assert decide(policies(queue_policy=[negated]), send()).allowed
    assert not decide(policies(queue_policy=[negated]), send(**{"aws:SourceVpc": "vpc-1"})).allowed


def test_a_deny_whose_condition_does_not_hold_does_not_deny() -> None:
    assert decide(policies(identity=[allow("sqs:*")], queue_policy=[TLS_DENY]), send()).allowed


def test_an_unknown_condition_operator_fails_instead_of_passing() -> None:
    statement = allow("sqs:SendMessage", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
    with pytest.raises(EvaluationError, match="DateGreaterThan"):
        decide(policies(identity=[statement]), send())


def test_a_key_is_used_only_when_its_key_policy_allows() -> None:
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    use = Request(ROLE, "kms:GenerateDataKey", KEY_ARN)
    # an identity policy alone does not open a key whose policy does not delegate to IAM
    assert not decide(policies(identity=[allow("kms:*", "*")], key_policy=[]), use).allowed
    # the root statement delegates: then the identity policy decides
    assert not decide(policies(key_policy=[root]), use).allowed
    decision = decide(policies(identity=[allow("kms:GenerateDataKey", "*")], key_policy=[root]), use)
    assert decision.allowed and set(decision.allowed_by) == {"kms", "identity"}
    # a statement naming the role allows directly
    direct = {"Effect": "Allow", "Principal": {"AWS": ROLE_ARN}, "Action": "kms:GenerateDataKey", "Resource": "*"}
    assert decide(policies(key_policy=[direct]), use).allowed


def test_a_trust_policy_decides_who_assumes_the_role() -> None:
    found = policies()
    assume = lambda service: Request(Principal(account=ACCOUNT, service=service), "sts:AssumeRole", ROLE_ARN)  # noqa: E731
    assert decide(found, assume("lambda.amazonaws.com")).allowed
    assert not decide(found, assume("ec2.amazonaws.com")).allowed


def test_lambda_permissions_become_the_statement_lambda_writes() -> None:
    resources = {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
                 "Perm": {"Type": "AWS::Lambda::Permission", "Properties": {
                     "Action": "lambda:InvokeFunction", "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
                     "Principal": "apigateway.amazonaws.com",
                     "SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api/*/*"}}}
    found = Policies(Templates({"S": {"Resources": resources}}, {"S": (ACCOUNT, REGION)}))
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Fn"
    api = Principal(account=ACCOUNT, service="apigateway.amazonaws.com")
    ours = {"aws:SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api/$default/$default"}
    assert decide(found, Request(api, "lambda:InvokeFunction", function, ours)).allowed
    assert not decide(found, Request(api, "lambda:InvokeFunction", function,
                                     {"aws:SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:other/$default/$default"})).allowed
    # the permission is on the unqualified function: an alias needs its own
    assert not decide(found, Request(api, "lambda:InvokeFunction", f"{function}:live", ours)).allowed


def test_a_deny_to_every_aws_principal_also_binds_services() -> None:
    # {"AWS": "*"} means everyone: SNS delivering to a dead-letter queue without TLS is refused too
    sns = Principal(account=ACCOUNT, service="sns.amazonaws.com")
    allow_sns = allow("sqs:SendMessage", Principal={"Service": "sns.amazonaws.com"})
    deny = {**TLS_DENY, "Principal": {"AWS": "*"}}
    assert decide(policies(queue_policy=[allow_sns, deny]), send(sns)).allowed
    assert not decide(policies(queue_policy=[allow_sns, deny]), send(sns, **{"aws:SecureTransport": "false"})).allowed


ANONYMOUS = Principal(account="", anonymous=True)


def api_templates(protocol: str, routes: dict[str, str]) -> Policies:
    """One API Gateway v2 API with ``routes`` (route key -> AuthorizationType, "" for none given)."""
    resources: dict[str, Any] = {"Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": protocol}}}
    for index, (key, authorization) in enumerate(routes.items()):
        props: dict[str, Any] = {"ApiId": {"Ref": "Api"}, "RouteKey": key}
        if authorization:
            props["AuthorizationType"] = authorization
        resources[f"Route{index}"] = {"Type": "AWS::ApiGatewayV2::Route", "Properties": props}
    return Policies(Templates({"S": {"Resources": resources}}, {"S": (ACCOUNT, REGION)}))


def invoke(principal: Principal, target: str) -> Request:
    return Request(principal, "execute-api:Invoke", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api/{target}")


def test_an_anonymous_request_is_allowed_only_by_a_statement_for_everyone() -> None:
    # GIVEN a queue whose policy names the account, then one that names everyone
    account_only = allow("sqs:SendMessage", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    everyone = allow("sqs:SendMessage", Principal={"AWS": "*"})
    # WHEN an unsigned request arrives  THEN only "*" lets it in: it has no account to delegate to
    assert not decide(policies(queue_policy=[account_only]), send(ANONYMOUS)).allowed
    decision = decide(policies(queue_policy=[everyone]), send(ANONYMOUS))
    assert decision.allowed and decision.allowed_by == {"resource": ("S/QueuePolicy#0",)}
    # AND an identity policy, which an unsigned request does not have, never helps it
    assert not decide(policies(identity=[allow("sqs:*")]), send(ANONYMOUS)).allowed
    with pytest.raises(ValueError, match="anonymous"):
        Principal(account=ACCOUNT, anonymous=True)


def test_an_http_api_route_without_authorization_lets_anyone_invoke_what_it_matches() -> None:
    # GIVEN an HTTP API whose $default route has no authorization (CloudFormation's default)
    found = api_templates("HTTP", {"$default": ""})
    # WHEN anyone, unsigned, calls any method and path of any stage  THEN it is let in, by that route
    decision = decide(found, invoke(ANONYMOUS, "$default/DELETE/users/1"))
    assert decision.allowed and decision.allowed_by == {"resource": ("S/Route0#0",)}
    # AND a role of another account too: the route is a statement for everyone
    other = Principal(account="999999999999", arn="arn:aws:iam::999999999999:role/X",
                      assumed_identity=({"Effect": "Allow", "Action": "*", "Resource": "*"},))
    assert decide(found, invoke(other, "$default/GET/users")).allowed
    # AND a route key covers only its own method and path
    keyed = api_templates("HTTP", {"GET /users/{id}": "NONE"})
    assert decide(keyed, invoke(ANONYMOUS, "$default/GET/users/7")).allowed
    assert not decide(keyed, invoke(ANONYMOUS, "$default/DELETE/users/7")).allowed


def test_an_iam_route_lets_in_only_callers_whose_identity_policy_allows() -> None:
    found = api_templates("HTTP", {"$default": "AWS_IAM"})
    assert not decide(found, invoke(ANONYMOUS, "$default/GET/users")).allowed
    assert not decide(found, invoke(ROLE, "$default/GET/users")).allowed
    resources = {"Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}},
                 "Route": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
                     "ApiId": {"Ref": "Api"}, "RouteKey": "$default", "AuthorizationType": "AWS_IAM"}},
                 "Fn": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": []}}},
                 "FnPolicy": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "Fn"}], "PolicyDocument": {
                     "Statement": [allow("execute-api:Invoke", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api/*")]}}}}
    granted = Policies(Templates({"S": {"Resources": resources}}, {"S": (ACCOUNT, REGION)}))
    decision = decide(granted, invoke(ROLE, "$default/GET/users"))
    assert decision.allowed and set(decision.allowed_by) == {"identity"}
    # AND across accounts an identity policy is not enough: HTTP APIs have no resource policy
    other = Principal(account="999999999999", arn="arn:aws:iam::999999999999:role/X",
                      assumed_identity=({"Effect": "Allow", "Action": "*", "Resource": "*"},))
    assert not decide(granted, invoke(other, "$default/GET/users")).allowed


def test_on_a_websocket_api_only_connect_is_authorized() -> None:
    # GIVEN a WebSocket API with no authorization on any route
    found = api_templates("WEBSOCKET", {"$connect": "", "$default": "", "$disconnect": ""})
    # THEN anyone may connect, and that is the one statement it amounts to
    assert decide(found, invoke(ANONYMOUS, "live/$connect")).allowed
    assert [s.id for s in found.statements()] == ["S/Route0#0"]
    # AND IAM on $connect lets no unsigned client in
    assert not decide(api_templates("WEBSOCKET", {"$connect": "AWS_IAM", "$default": ""}),
                      invoke(ANONYMOUS, "live/$connect")).allowed
