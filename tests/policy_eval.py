"""Construct tests ask what one policy document of a template allows: a thin layer over
:mod:`constructs_lib.contract`, which resolves intrinsics and evaluates statements as AWS does.

:class:`CfnValues` resolves the intrinsic functions of one template (and the exports of others);
:func:`allows` decides one resolved document for one request; :func:`logs_may_use_key` is the
CloudWatch Logs check every construct with a log key needs.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from constructs_lib.contract import Principal, Request, Statement, Templates, document_allows

ACCOUNT = "123456789012"
REGION = "eu-west-1"


class CfnValues:
    """Resolves the intrinsics of ``template`` to the contract's fixed fake values; ``others`` are the
    templates whose exports ``Fn::ImportValue`` may name."""

    def __init__(self, template: Mapping[str, Any], others: Iterable[Mapping[str, Any]] = ()) -> None:
        stacks = {"Template": dict(template), **{f"Other{i}": dict(other) for i, other in enumerate(others)}}
        self.templates = Templates(stacks, {name: (ACCOUNT, REGION) for name in stacks})

    def resolve(self, value: Any) -> Any:
        return self.templates.resolve("Template", value)


def allows(document: Mapping[str, Any], *, action: str, resource: str = "*", service: str | None = None,
           principal_arn: str | None = None, context: Mapping[str, str] | None = None) -> bool:
    """Whether the resolved ``document`` allows ``action`` on ``resource``: a resource policy when
    ``service`` or ``principal_arn`` names the caller, else an identity policy."""
    body = document["Statement"]
    statements = [Statement(f"document#{i}", s) for i, s in enumerate(body if isinstance(body, list) else [body])]
    principal = Principal(account=ACCOUNT, arn=principal_arn, service=service)
    return document_allows(statements, Request(principal, action, resource, dict(context or {})),
                           resource_policy=service is not None or principal_arn is not None)


def logs_may_use_key(template: Mapping[str, Any], key_id: str, log_group_id: str) -> bool:
    """Whether CloudWatch Logs may encrypt and decrypt ``log_group_id``'s data with ``key_id``, both
    resources of ``template``, and the log group names that key."""
    values = CfnValues(template)
    resources = template["Resources"]
    group = resources[log_group_id]["Properties"]
    if values.resolve(group.get("KmsKeyId")) != values.resolve({"Fn::GetAtt": [key_id, "Arn"]}):
        return False
    policy = values.resolve(resources[key_id]["Properties"]["KeyPolicy"])
    group_arn = values.resolve({"Fn::GetAtt": [log_group_id, "Arn"]}).removesuffix(":*")
    return all(allows(policy, action=action, service=f"logs.{REGION}.amazonaws.com",
                      context={"kms:EncryptionContext:aws:logs:arn": group_arn})
               for action in ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"))
