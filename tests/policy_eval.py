"""Deciding whether a policy in a synthesized template would allow a call, as AWS decides it.

Two parts: :class:`CfnValues` resolves the intrinsic functions CDK writes into policies to the
values AWS would produce (ARNs shaped as each service shapes them), and :func:`allows` evaluates a
resolved policy document for one request: explicit deny wins, else an Allow whose principal,
action, resource and every condition match. Enough of IAM for the policies our constructs write,
and it says so (``NotImplementedError``) when it meets something it does not know.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-1"


class CfnValues:
    """Resolves Ref / Fn::GetAtt / Fn::Join / Fn::Select / Fn::Split / Fn::ImportValue in ``template``.

    ``others`` are the templates whose exports ``Fn::ImportValue`` may name.
    """

    def __init__(self, template: Mapping[str, Any], others: Iterable[Mapping[str, Any]] = ()) -> None:
        self.template = template
        self.exports: dict[str, tuple[Mapping[str, Any], Any]] = {}
        for other in (template, *others):
            for output in other.get("Outputs", {}).values():
                if "Export" in output:
                    self.exports[output["Export"]["Name"]] = (other, output["Value"])

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (function, argument), = value.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._get_att(logical_id, attribute)
            if function == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self.resolve(part)) for part in parts)
            if function == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(index)]
            if function == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if function == "Fn::ImportValue":
                other, exported = self.exports[self.resolve(argument)]
                return CfnValues(other).resolve(exported)
            if function.startswith("Fn::"):
                raise NotImplementedError(f"intrinsic function {function}")
        return {key: self.resolve(item) for key, item in value.items()}

    @staticmethod
    def arn(service: str, resource: str, *, region: str = REGION) -> str:
        return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"

    def _type(self, logical_id: str) -> str:
        return str(self.template["Resources"][logical_id]["Type"])

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "stack"}
        if name in pseudo:
            return pseudo[name]
        kind = self._type(name)
        refs = {
            "AWS::SNS::Topic": lambda: self.arn("sns", name),
            "AWS::SQS::Queue": lambda: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
            "AWS::SecretsManager::Secret": lambda: self.arn("secretsmanager", f"secret:{name}-AbCdEf"),
            # an attachment's Ref is its secret's ARN
            "AWS::SecretsManager::SecretTargetAttachment": lambda: self.resolve(
                self.template["Resources"][name]["Properties"]["SecretId"]),
            "AWS::ApiGatewayV2::Api": lambda: name.lower()[:10],
            "AWS::Lambda::Function": lambda: name,
            "AWS::Logs::LogGroup": lambda: name,
            "AWS::IAM::Role": lambda: name,
            "AWS::KMS::Key": lambda: f"{name.lower()[:8]}-1234-1234-1234-123456789012",
            "AWS::RDS::DBCluster": lambda: name.lower(),
            "AWS::RDS::DBProxy": lambda: name.lower(),
            "AWS::ApiGatewayV2::Stage": lambda: name.lower(),
            "AWS::Lambda::Alias": lambda: self.arn("lambda", f"function:{name}:live"),
        }
        if kind not in refs:
            raise NotImplementedError(f"Ref of a {kind} ({name}): add its value to CfnValues._ref")
        return refs[kind]()

    def _get_att(self, name: str, attribute: str) -> str:
        kind = self._type(name)
        attributes = {
            ("AWS::SQS::Queue", "Arn"): lambda: self.arn("sqs", name),
            ("AWS::Lambda::Function", "Arn"): lambda: self.arn("lambda", f"function:{name}"),
            ("AWS::Logs::LogGroup", "Arn"): lambda: self.arn("logs", f"log-group:{name}:*"),
            ("AWS::KMS::Key", "Arn"): lambda: self.arn("kms", f"key/{self._ref(name)}"),
            ("AWS::IAM::Role", "Arn"): lambda: self.arn("iam", f"role/{name}", region=""),
            ("AWS::SNS::Topic", "TopicArn"): lambda: self.arn("sns", name),
            ("AWS::RDS::DBProxy", "DBProxyArn"): lambda: self.arn("rds", "db-proxy:prx-0123456789abcdef0"),
            ("AWS::RDS::DBCluster", "DBClusterArn"): lambda: self.arn("rds", f"cluster:{name.lower()}"),
            ("AWS::RDS::DBCluster", "DBClusterResourceId"): lambda: "cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0",
            ("AWS::RDS::DBCluster", "Endpoint.Address"): lambda: f"{name.lower()}.cluster-abc.{REGION}.rds.amazonaws.com",
            ("AWS::RDS::DBProxy", "Endpoint"): lambda: f"{name.lower()}.proxy-abc.{REGION}.rds.amazonaws.com",
            ("AWS::EC2::VPC", "DefaultSecurityGroup"): lambda: "sg-0123456789abcdef0",
        }
        if (kind, attribute) not in attributes:
            raise NotImplementedError(f"Fn::GetAtt {kind}.{attribute} ({name}): add it to CfnValues._get_att")
        return attributes[kind, attribute]()


def allows(document: Mapping[str, Any], *, action: str, resource: str = "*", service: str | None = None,
           principal_arn: str | None = None, context: Mapping[str, str] | None = None) -> bool:
    """Whether the resolved ``document`` allows ``action`` on ``resource`` for the request.

    ``service`` / ``principal_arn`` name the caller for a resource policy (leave both out for an
    identity policy, whose statements have no Principal); ``context`` holds the request's condition keys.
    """
    context = context or {}
    matching = [statement for statement in _list(document["Statement"])
                if _matches(statement, action, resource, service, principal_arn, context)]
    return any(s["Effect"] == "Allow" for s in matching) and not any(s["Effect"] == "Deny" for s in matching)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _matches(statement: Mapping[str, Any], action: str, resource: str, service: str | None,
             principal_arn: str | None, context: Mapping[str, str]) -> bool:
    if {"NotAction", "NotResource", "NotPrincipal"} & set(statement):
        raise NotImplementedError(f"statement element in {statement}")
    if "Principal" in statement:
        principal = statement["Principal"]
        services = _list(principal.get("Service", [])) if isinstance(principal, dict) else []
        arns = _list(principal.get("AWS", [])) if isinstance(principal, dict) else [principal]
        if not ((service is not None and service in services)
                or (principal_arn is not None and any(arn in ("*", principal_arn) for arn in arns))):
            return False
    if not any(_like(pattern, action) for pattern in _list(statement["Action"])):
        return False
    if not any(_like(pattern, resource) for pattern in _list(statement.get("Resource", "*"))):
        return False
    return all(_condition(operator, key, expected, context)
               for operator, block in statement.get("Condition", {}).items() for key, expected in block.items())


def _condition(operator: str, key: str, expected: Any, context: Mapping[str, str]) -> bool:
    if key not in context:
        return False
    value = context[key]
    if operator in ("StringEquals", "ArnEquals"):
        return value in _list(expected)
    if operator == "StringLike":
        return any(fnmatch.fnmatchcase(value, pattern) for pattern in _list(expected))
    if operator == "ArnLike":  # each of the six colon-separated parts on its own
        parts = value.split(":", 5)
        return any(len(parts) == len(wanted) and all(map(fnmatch.fnmatchcase, parts, wanted))
                   for wanted in (str(pattern).split(":", 5) for pattern in _list(expected)))
    raise NotImplementedError(f"condition operator {operator}")


def logs_may_use_key(template: Mapping[str, Any], key_id: str, log_group_id: str) -> bool:
    """Whether CloudWatch Logs may encrypt and decrypt ``log_group_id``'s data with ``key_id``, both
    resources of ``template``, and the log group names that key."""
    values = CfnValues(template)
    resources = template["Resources"]
    group = resources[log_group_id]["Properties"]
    if values.resolve(group.get("KmsKeyId")) != values.resolve({"Fn::GetAtt": [key_id, "Arn"]}):
        return False
    policy = values.resolve(resources[key_id]["Properties"]["KeyPolicy"])
    context = {"kms:EncryptionContext:aws:logs:arn": values.resolve({"Fn::GetAtt": [log_group_id, "Arn"]}).removesuffix(":*")}
    return all(allows(policy, action=action, service=f"logs.{REGION}.amazonaws.com", context=context)
               for action in ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"))
