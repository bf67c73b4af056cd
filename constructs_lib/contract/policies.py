"""Every policy document of the templates, indexed by whom (identity) or what (resource) it governs.

- identity policies: ``AWS::IAM::Policy`` / ``AWS::IAM::ManagedPolicy`` attached to roles, a role's
  inline ``Policies`` and its AWS-managed policies (their published documents, below);
- resource policies: ``AWS::SQS::QueuePolicy``, ``AWS::SNS::TopicPolicy``,
  ``AWS::SecretsManager::ResourcePolicy``, ``AWS::Lambda::Permission`` (turned into the statement
  Lambda adds to the function's policy), a role's trust policy (for ``sts:AssumeRole``), a KMS
  key's key policy, and, for an API Gateway v2 route without authorization, the statement it
  amounts to (see :meth:`Policies._route`);
- encryption: which customer-managed key encrypts a topic, queue, secret or log group, so a flow
  to it is also decided against that key's policy.

Every statement carries an id (``<stack>/<logical id>#<index>``) so a decision names the statements
it rests on, and a test can remove one and watch which flows change.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .templates import PARTITION, Templates, TemplateError, function_arn

#: AWS-managed policies CDK attaches to its own provider roles, as AWS publishes them
#: (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html,
#: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html).
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "service-role/AWSLambdaBasicExecutionRole": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "*"}],
    "service-role/AWSLambdaVPCAccessExecutionRole": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                                       "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                                       "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                                       "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
         "Resource": "*"}],
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForLambdaLimited.html
    # (v1): CDK attaches it to the service role of every Lambda deployment group
    "service-role/AWSCodeDeployRoleForLambdaLimited": [
        {"Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms", "lambda:UpdateAlias", "lambda:GetAlias",
                                       "lambda:GetProvisionedConcurrencyConfig"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "arn:aws:s3:::*/CodeDeploy/*"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/UseWithCodeDeploy": "true"}}},
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": "arn:aws:lambda:*:*:function:CodeDeployHook_*"}],
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonRDSEnhancedMonitoringRole.html
    "service-role/AmazonRDSEnhancedMonitoringRole": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
         "Resource": ["arn:aws:logs:*:*:log-group:RDS*"]},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
                                       "logs:GetLogEvents"],
         "Resource": ["arn:aws:logs:*:*:log-group:RDS*:log-stream:*"]}],
}


@dataclass(frozen=True)
class Statement:
    id: str  #: ``<stack>/<logical id>[.<inline policy>]#<index>``: where it lives, for reports and removal
    body: dict[str, Any]  #: resolved: no intrinsics left

    @property
    def effect(self) -> str:
        return str(self.body["Effect"])


class Policies:
    """The documents of :class:`Templates`, resolved, by the role or resource they govern."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self.identity: dict[str, list[Statement]] = defaultdict(list)  # role ARN -> statements
        self.resource: dict[str, list[Statement]] = defaultdict(list)  # owning resource ARN -> statements
        self.keys: dict[str, str] = {}  # resource ARN -> ARN of the customer-managed key encrypting it
        #: log group ARN -> its key: CloudWatch Logs itself uses the key (with the group in the encryption
        #: context), not the writer, so a flow writing logs is not a flow to the key
        self.log_keys: dict[str, str] = {}
        self.key_arns: set[str] = set()
        for resource in templates.resources():
            self._add(resource)

    def statements(self) -> Iterator[Statement]:
        """Every statement, once."""
        seen: set[str] = set()
        for group in (*self.identity.values(), *self.resource.values()):
            for statement in group:
                if statement.id not in seen and not statement.id.startswith("managed:"):
                    seen.add(statement.id)
                    yield statement

    def without(self, statement_id: str) -> Policies:
        """A copy of these documents with one statement removed (the template edited by hand)."""
        clone = copy.copy(self)
        clone.identity = defaultdict(list, {arn: [s for s in group if s.id != statement_id]
                                            for arn, group in self.identity.items()})
        clone.resource = defaultdict(list, {arn: [s for s in group if s.id != statement_id]
                                            for arn, group in self.resource.items()})
        return clone

    # ---- reading the templates -----------------------------------------------------------------
    def _add(self, resource: Any) -> None:
        stack, kind, lid = resource.stack, resource.type, resource.logical_id
        resolve = lambda value: self.templates.resolve(stack, value)  # noqa: E731
        props = resource.properties
        where = f"{stack}/{lid}"
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            statements = _statements(where, resolve(props["PolicyDocument"]))
            for role in props.get("Roles", []):
                self.identity[self._role_arn(stack, resolve(role))] += statements
            for attached in ("Users", "Groups"):
                if props.get(attached):
                    raise TemplateError(f"{where} attaches to {attached}: only roles are modelled")
        elif kind == "AWS::IAM::Role":
            arn = self.templates.attribute(resource, "Arn")
            for policy in props.get("Policies", []):
                self.identity[arn] += _statements(f"{where}.{policy['PolicyName']}", resolve(policy["PolicyDocument"]))
            for managed in props.get("ManagedPolicyArns", []):
                name = str(resolve(managed)).split(":policy/", 1)[-1]
                if name not in MANAGED_POLICIES:
                    raise TemplateError(f"{where} uses managed policy {name!r}, whose document is not modelled")
                self.identity[arn] += [Statement(f"managed:{name}#{i}", body)
                                       for i, body in enumerate(MANAGED_POLICIES[name])]
            self.resource[arn] += _statements(f"{where}.trust", resolve(props["AssumeRolePolicyDocument"]))
        elif kind == "AWS::SQS::QueuePolicy":
            for url in resolve(props["Queues"]):
                self.resource[self._queue_arn(url)] += _statements(where, resolve(props["PolicyDocument"]))
        elif kind == "AWS::SNS::TopicPolicy":
            for topic in resolve(props["Topics"]):
                self.resource[topic] += _statements(where, resolve(props["PolicyDocument"]))
        elif kind == "AWS::SecretsManager::ResourcePolicy":
            self.resource[resolve(props["SecretId"])] += _statements(where, resolve(props["ResourcePolicy"]))
        elif kind == "AWS::KMS::Key":
            arn = self.templates.attribute(resource, "Arn")
            self.key_arns.add(arn)
            self.resource[arn] += _statements(where, resolve(props["KeyPolicy"]))
        elif kind == "AWS::ApiGatewayV2::Route":
            self._route(resource, resolve(props))
        elif kind == "AWS::Lambda::Permission":
            target = function_arn(self.templates, stack, resolve(props["FunctionName"]))
            self.resource[_unqualified(target)].append(Statement(f"{where}#0", _permission_statement(
                resolve(props), target, self.templates.account(stack))))
        if kind in ("AWS::SNS::Topic", "AWS::SQS::Queue") and props.get("KmsMasterKeyId"):
            self._encrypted(stack, resource, "Arn" if kind == "AWS::SQS::Queue" else None,
                            resolve(props["KmsMasterKeyId"]))
        elif kind == "AWS::SecretsManager::Secret" and props.get("KmsKeyId"):
            self._encrypted(stack, resource, None, resolve(props["KmsKeyId"]))
        elif kind == "AWS::Logs::LogGroup" and props.get("KmsKeyId"):
            self._encrypted(stack, resource, "Arn", resolve(props["KmsKeyId"]), self.log_keys)

    def _route(self, resource: Any, props: dict[str, Any]) -> None:
        """A route without authorization (``AuthorizationType`` NONE, CloudFormation's default) lets
        anyone invoke it, signed or not: it is recorded as the resource-policy statement that would
        say so, on the API (``arn:aws:execute-api:<region>:<account>:<api id>``), so a flow from an
        anonymous caller is decided like any other. An HTTP API route covers what its key matches
        (``$default``: every method and path, an over-approximation beside more specific routes that
        are authorized: a denial is never proven wrongly). On a WebSocket API only ``$connect`` is
        authorized; the other routes are reached over a connection it let in, so they add nothing.
        IAM routes add nothing (the caller's identity policy decides; HTTP and WebSocket APIs have no
        resource policy), and JWT or Lambda-authorizer routes refuse an unsigned request without a token.
        """
        if props.get("AuthorizationType", "NONE") != "NONE":
            return
        api_id, key = str(props["ApiId"]), str(props["RouteKey"])
        apis = [api for api in self.templates.resources(resource.stack)
                if api.type == "AWS::ApiGatewayV2::Api" and self.templates.attribute(api, None) == api_id]
        if len(apis) != 1:
            raise TemplateError(f"{resource.stack}/{resource.logical_id}: route of API {api_id}, not in its stack")
        if apis[0].properties.get("ProtocolType") == "WEBSOCKET":
            if key != "$connect":
                return
            pattern = key
        elif key == "$default":
            pattern = "*"
        else:
            method, _, path = key.partition(" ")
            pattern = ("*" if method == "ANY" else method) + "/".join(
                "*" if part.startswith("{") else part for part in path.split("/"))
        api = f"arn:{PARTITION}:execute-api:{self.templates.region(resource.stack)}:" \
              f"{self.templates.account(resource.stack)}:{api_id}"
        self.resource[api].append(Statement(f"{resource.stack}/{resource.logical_id}#0", {
            "Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": f"{api}/*/{pattern}"}))

    def _encrypted(self, stack: str, resource: Any, attribute: str | None, key: str,
                   into: dict[str, str] | None = None) -> None:
        if key.startswith("alias/aws/"):
            return  # an AWS-managed key: its policy allows use through the service within the account
        if not key.startswith("arn:"):
            key = f"arn:{PARTITION}:kms:{self.templates.region(stack)}:{self.templates.account(stack)}:key/{key}"
        (self.keys if into is None else into)[self.templates.attribute(resource, attribute)] = key

    def _role_arn(self, stack: str, role: str) -> str:
        if role.startswith("arn:"):
            return role
        return f"arn:{PARTITION}:iam::{self.templates.account(stack)}:role/{role}"

    def _queue_arn(self, url: str) -> str:
        host, account, name = url.removeprefix("https://").split("/")
        region = host.split(".")[1]
        return f"arn:{PARTITION}:sqs:{region}:{account}:{name}"


def _statements(where: str, document: dict[str, Any]) -> list[Statement]:
    body = document["Statement"]
    return [Statement(f"{where}#{i}", statement) for i, statement in enumerate(body if isinstance(body, list) else [body])]


def _permission_statement(props: dict[str, Any], function: str, account: str) -> dict[str, Any]:
    """The statement Lambda writes into the function's resource policy for an ``AWS::Lambda::Permission``
    (https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html)."""
    principal = str(props["Principal"])
    if principal == "*":
        who: dict[str, Any] | str = "*"
    elif principal.endswith(".amazonaws.com") or principal.endswith(".amazonaws.com.cn"):
        who = {"Service": principal}
    elif principal.isdigit():
        who = {"AWS": f"arn:{PARTITION}:iam::{principal}:root"}
    else:
        who = {"AWS": principal}
    condition: dict[str, dict[str, str]] = {}
    if "SourceArn" in props:
        condition["ArnLike"] = {"AWS:SourceArn": props["SourceArn"]}
    if "SourceAccount" in props:
        condition["StringEquals"] = {"AWS:SourceAccount": props["SourceAccount"]}
    for unsupported in ("PrincipalOrgID", "EventSourceToken", "FunctionUrlAuthType"):
        if unsupported in props:
            condition.setdefault("StringEquals", {})[
                {"PrincipalOrgID": "aws:PrincipalOrgID", "EventSourceToken": "lambda:EventSourceToken",
                 "FunctionUrlAuthType": "lambda:FunctionUrlAuthType"}[unsupported]] = props[unsupported]
    statement = {"Effect": "Allow", "Principal": who, "Action": props["Action"], "Resource": function}
    if condition:
        statement["Condition"] = condition
    return statement


def _unqualified(function: str) -> str:
    return ":".join(function.split(":")[:7])


def resource_owner(arn: str) -> str:
    """The ARN whose resource policy governs a request on ``arn``: a function's, for a version or
    alias; an API's (``…:execute-api:<region>:<account>:<api id>``), for a stage, route or connection."""
    if arn.startswith(f"arn:{PARTITION}:lambda:"):
        return _unqualified(arn)
    if arn.startswith(f"arn:{PARTITION}:execute-api:"):
        return arn.split("/", 1)[0]
    return arn
