"""Acknowledging a cdk-nag finding: always one specific finding, always with its reason."""
from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

#: The cdk-nag packs a finding can come from, as the validation report names them.
_PACKS = ("AwsSolutions", "Serverless")


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope``.

    The pack prefix (``AwsSolutions::``) that CDK's validation needs is derived from the rule id.
    """
    pack = finding.split("-", 1)[0]
    if pack not in _PACKS:
        raise ValueError(f"unknown cdk-nag pack in finding {finding!r}; expected one of {_PACKS}")
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{pack}::{finding}", reason=reason))
