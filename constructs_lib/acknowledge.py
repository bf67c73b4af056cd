"""Acknowledging a cdk-nag finding: always one specific finding, always with its reason."""
from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

#: The cdk-nag packs a finding can come from, as the validation report names them.
_PACKS = ("AwsSolutions", "Serverless")


def acknowledge(scope: IConstruct, finding: str | tuple[str, ...], reason: str) -> None:
    """Acknowledge cdk-nag findings (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope``, each by
    its full id, all for the same ``reason``.

    The pack prefix (``AwsSolutions::``) that CDK's validation needs is derived from the rule id.
    """
    findings = (finding,) if isinstance(finding, str) else finding
    acknowledge_each((scope, one, reason) for one in findings)


def acknowledge_each(findings: Iterable[tuple[IConstruct, str, str]]) -> None:
    """Acknowledge ``(scope, finding, reason)`` triples with one call to CDK per distinct scope
    (each call is two round trips to Node), so findings that land on the same construct go together."""
    by_scope: dict[int, tuple[IConstruct, list[Acknowledgment]]] = {}
    for scope, finding, reason in findings:
        pack = finding.split("-", 1)[0]
        if pack not in _PACKS:
            raise ValueError(f"unknown cdk-nag pack in finding {finding!r}; expected one of {_PACKS}")
        by_scope.setdefault(id(scope), (scope, []))[1].append(Acknowledgment(id=f"{pack}::{finding}", reason=reason))
    for scope, rules in by_scope.values():
        Validations.of(scope).acknowledge(*rules)
