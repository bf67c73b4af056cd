"""Acknowledging a cdk-nag finding: always one specific finding, always with its reason."""
from __future__ import annotations

from collections.abc import Mapping

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
    acknowledge_each(scope, {one: reason for one in findings})


def acknowledge_each(scope: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge several findings on ``scope``, each with its own reason, in one call to CDK
    (each call is two round trips to Node)."""
    rules = []
    for finding, reason in reasons.items():
        pack = finding.split("-", 1)[0]
        if pack not in _PACKS:
            raise ValueError(f"unknown cdk-nag pack in finding {finding!r}; expected one of {_PACKS}")
        rules.append(Acknowledgment(id=f"{pack}::{finding}", reason=reason))
    Validations.of(scope).acknowledge(*rules)
