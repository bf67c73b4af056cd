"""Synthesized templates, with every intrinsic resolved to fixed fake values of one account.

AWS decides at run time on ARNs, not on ``Ref``/``Fn::GetAtt``. To evaluate policies offline we
give every resource a fake but well-formed identity derived from its logical id (a role's ARN is
``arn:aws:iam::<account>:role/<LogicalId>``, a queue's ``arn:aws:sqs:<region>:<account>:<LogicalId>``)
and resolve intrinsics, cross-stack imports included, to those values. Each resource is also found
by its construct path (the ``aws:cdk:path`` metadata), so a flow names "the API function", not a
logical id.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"


class TemplateError(LookupError):
    """A flow names something the templates do not hold, or a template uses an unsupported intrinsic."""


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    path: str
    properties: Mapping[str, Any]


class Templates:
    """Every stack template of one cloud assembly (or of a dict ``{stack name: template}``)."""

    def __init__(self, templates: Mapping[str, dict[str, Any]], environments: Mapping[str, tuple[str, str]],
                 paths: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.templates = dict(templates)
        self.environments = dict(environments)  # stack -> (account, region)
        #: stack -> logical id -> construct path (from the assembly manifest, else the template's metadata)
        self.paths = {stack: dict(found) for stack, found in (paths or {}).items()}
        self.exports: dict[str, tuple[str, Any]] = {}
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if name is not None:
                    self.exports[self.resolve(stack, name)] = (stack, output["Value"])

    @classmethod
    def from_assembly(cls, directory: Path | str) -> Templates:
        """Read the stacks of a cloud assembly directory (``cdk.out``)."""
        directory = Path(directory)
        manifest = json.loads((directory / "manifest.json").read_text())
        templates, environments, paths = {}, {}, {}
        for name, artifact in manifest["artifacts"].items():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            templates[name] = json.loads((directory / artifact["properties"]["templateFile"]).read_text())
            account, region = artifact["environment"].removeprefix("aws://").split("/", 1)
            environments[name] = (account, region)
            paths[name] = {entry["data"]: path.lstrip("/") for path, entries in artifact.get("metadata", {}).items()
                           for entry in entries if entry.get("type") == "aws:cdk:logicalId"}
        return cls(templates, environments, paths)

    def subset(self, stacks: Iterable[str]) -> Templates:
        """Only ``stacks`` (e.g. one stage of an app that deploys several)."""
        names = set(stacks)
        return Templates({n: t for n, t in self.templates.items() if n in names},
                         {n: e for n, e in self.environments.items() if n in names},
                         {n: p for n, p in self.paths.items() if n in names})

    # ---- finding resources ---------------------------------------------------------------
    def stack_named(self, stack: str) -> str:
        """The stack whose name is ``stack`` or ends with ``-<stack>``."""
        found = [name for name in self.templates if name == stack or name.endswith(f"-{stack}")]
        if len(found) != 1:
            raise TemplateError(f"no single stack named {stack!r} among {sorted(self.templates)}")
        return found[0]

    def resources(self, stack: str | None = None) -> Iterable[Resource]:
        for name, template in self.templates.items():
            if stack is not None and name != stack:
                continue
            for logical_id, body in template.get("Resources", {}).items():
                yield self._resource(name, logical_id, body)

    def find(self, stack: str, path: str, type_: str) -> Resource:
        """The one resource of ``type_`` at construct path ``<stack>/<path>`` (or below it)."""
        stack = self.stack_named(stack)
        full = f"{stack}/{path}"
        found = [resource for resource in self.resources(stack)
                 if resource.type == type_ and (resource.path == full or resource.path.startswith(f"{full}/"))]
        if len(found) != 1:
            raise TemplateError(f"expected one {type_} at {full}, found {len(found)}"
                                + (f": {[resource.path for resource in found]}" if found else ""))
        return found[0]

    def resource(self, stack: str, logical_id: str) -> Resource:
        body = self.templates[stack]["Resources"].get(logical_id)
        if body is None:
            raise TemplateError(f"{stack} has no resource {logical_id}")
        return self._resource(stack, logical_id, body)

    def _resource(self, stack: str, logical_id: str, body: dict[str, Any]) -> Resource:
        path = self.paths.get(stack, {}).get(logical_id) or body.get("Metadata", {}).get("aws:cdk:path", "")
        return Resource(stack, logical_id, body["Type"], path, body.get("Properties", {}))

    def account(self, stack: str) -> str:
        return self.environments[stack][0]

    def region(self, stack: str) -> str:
        return self.environments[stack][1]

    # ---- resolving intrinsics ----------------------------------------------------------------
    def attribute(self, resource: Resource, attribute: str | None) -> str:
        """The fake value of ``Ref`` (attribute None) or ``Fn::GetAtt`` of ``resource``."""
        return _fake_value(self, resource, attribute)

    def resolve(self, stack: str, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by its fake resolved value."""
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref")):
            return {key: self.resolve(stack, item) for key, item in value.items()}
        (function, argument), = value.items()
        if function == "Ref":
            return self._ref(stack, argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.attribute(self.resource(stack, logical_id), attribute)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(part) for part in self.resolve(stack, parts))
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(stack, items)[int(self.resolve(stack, index))]
        if function == "Fn::Split":
            separator, text = argument
            return str(self.resolve(stack, text)).split(separator)
        if function == "Fn::ImportValue":
            name = self.resolve(stack, argument)
            if name not in self.exports:
                raise TemplateError(f"{stack} imports {name!r}, which no stack exports")
            source, exported = self.exports[name]
            return self.resolve(source, exported)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return _substitute(self, stack, text, {key: self.resolve(stack, item) for key, item in variables.items()})
        if function == "Fn::FindInMap":
            mapping, top, second = (self.resolve(stack, item) for item in argument)
            return self.templates[stack]["Mappings"][mapping][top][second]
        if function == "Fn::GetAZs":
            return [f"{self.region(stack)}a", f"{self.region(stack)}b", f"{self.region(stack)}c"]
        raise TemplateError(f"unsupported intrinsic {function} in {stack}")

    def _ref(self, stack: str, name: str) -> str:
        pseudo = {"AWS::AccountId": self.account(stack), "AWS::Region": self.region(stack),
                  "AWS::Partition": PARTITION, "AWS::URLSuffix": URL_SUFFIX, "AWS::StackName": stack,
                  "AWS::NoValue": None}
        if name in pseudo:
            return pseudo[name]  # type: ignore[return-value]
        if name in self.templates[stack].get("Parameters", {}):
            default = self.templates[stack]["Parameters"][name].get("Default")
            if default is None:
                raise TemplateError(f"parameter {name} of {stack} has no default to evaluate with")
            return default
        return self.attribute(self.resource(stack, name), None)


def _substitute(templates: Templates, stack: str, text: str, variables: Mapping[str, Any]) -> str:
    out, rest = [], text
    while "${" in rest:
        before, _, after = rest.partition("${")
        name, _, rest = after.partition("}")
        out.append(before)
        if name.startswith("!"):
            out.append("${" + name[1:] + "}")
        elif name in variables:
            out.append(str(variables[name]))
        elif "." in name:
            logical_id, attribute = name.split(".", 1)
            out.append(templates.attribute(templates.resource(stack, logical_id), attribute))
        else:
            out.append(str(templates._ref(stack, name)))
    return "".join(out) + rest


def _fake_value(templates: Templates, resource: Resource, attribute: str | None) -> str:
    """Fixed, well-formed fake identities, per type, as AWS documents each ``Ref``/``GetAtt``."""
    account, region, lid = templates.account(resource.stack), templates.region(resource.stack), resource.logical_id
    kind, arn = resource.type, f"arn:{PARTITION}"
    props = resource.properties
    if kind == "AWS::IAM::Role":
        return {None: lid, "Arn": f"{arn}:iam::{account}:role/{lid}", "RoleId": f"AROA{lid.upper()}"}[attribute]
    if kind == "AWS::Lambda::Function":
        return {None: lid, "Arn": f"{arn}:lambda:{region}:{account}:function:{lid}"}[attribute]
    if kind == "AWS::Lambda::Version":
        function = templates.resolve(resource.stack, props["FunctionName"])
        return {None: f"{_function_arn(function, account, region)}:1", "Version": "1"}[attribute]
    if kind == "AWS::Lambda::Alias":
        function = templates.resolve(resource.stack, props["FunctionName"])
        return {None: f"{_function_arn(function, account, region)}:{props['Name']}"}[attribute]
    if kind == "AWS::SQS::Queue":
        url = f"https://sqs.{region}.{URL_SUFFIX}/{account}/{lid}"
        return {None: url, "QueueUrl": url, "Arn": f"{arn}:sqs:{region}:{account}:{lid}", "QueueName": lid}[attribute]
    if kind == "AWS::SNS::Topic":
        topic = f"{arn}:sns:{region}:{account}:{lid}"
        return {None: topic, "TopicArn": topic, "TopicName": lid}[attribute]
    if kind == "AWS::KMS::Key":
        return {None: lid, "KeyId": lid, "Arn": f"{arn}:kms:{region}:{account}:key/{lid}"}[attribute]
    if kind == "AWS::Logs::LogGroup":
        return {None: lid, "Arn": f"{arn}:logs:{region}:{account}:log-group:{lid}:*"}[attribute]
    if kind == "AWS::SecretsManager::Secret":
        return {None: f"{arn}:secretsmanager:{region}:{account}:secret:{lid}-AbCdEf"}[attribute]
    if kind == "AWS::SecretsManager::SecretTargetAttachment":
        return {None: templates.resolve(resource.stack, props["SecretId"])}[attribute]
    if kind == "AWS::RDS::DBProxy":
        return {None: lid, "DBProxyArn": f"{arn}:rds:{region}:{account}:db-proxy:prx-{lid.lower()}",
                "Endpoint": f"{lid.lower()}.proxy-fake.{region}.rds.{URL_SUFFIX}"}[attribute]
    if kind == "AWS::RDS::DBCluster":
        return {None: lid.lower(), "DBClusterResourceId": f"cluster-{lid.upper()}",
                "DBClusterArn": f"{arn}:rds:{region}:{account}:cluster:{lid.lower()}",
                "Endpoint.Address": f"{lid.lower()}.cluster-fake.{region}.rds.{URL_SUFFIX}",
                "Endpoint.Port": "5432"}[attribute]
    if kind == "AWS::ApiGatewayV2::Api":
        return {None: lid.lower(), "ApiId": lid.lower(),
                "ApiEndpoint": f"https://{lid.lower()}.execute-api.{region}.{URL_SUFFIX}"}[attribute]
    if kind == "AWS::Scheduler::Schedule":
        return {"Arn": f"{arn}:scheduler:{region}:{account}:schedule/default/{lid}"}[attribute]
    if kind == "AWS::CloudWatch::Alarm":
        return {None: lid, "Arn": f"{arn}:cloudwatch:{region}:{account}:alarm:{lid}"}[attribute]
    if kind == "AWS::Serverless::Application" and attribute and attribute.startswith("Outputs."):
        return f"{arn}:lambda:{region}:{account}:function:{lid}{attribute.removeprefix('Outputs.')}"
    if kind == "AWS::EC2::SecurityGroup":
        return {None: f"sg-{lid.lower()}", "GroupId": f"sg-{lid.lower()}"}[attribute]
    if kind == "AWS::EC2::VPC":
        return {None: f"vpc-{lid.lower()}", "DefaultSecurityGroup": f"sg-default-{lid.lower()}",
                "CidrBlock": "10.0.0.0/16"}[attribute]
    return lid if attribute is None else f"{lid}.{attribute}"


def _function_arn(function: str, account: str, region: str) -> str:
    return function if function.startswith("arn:") else f"arn:{PARTITION}:lambda:{region}:{account}:function:{function}"


def function_arn(templates: Templates, stack: str, function: str) -> str:
    """A Lambda ``FunctionName`` (name or ARN) as an ARN."""
    return _function_arn(function, templates.account(stack), templates.region(stack))
