"""Compliance checks run on every synth: cdk-nag's AWS Solutions and Serverless packs."""
from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks


def add_compliance_checks(app: App) -> None:
    """Fail synth on any cdk-nag finding that is not acknowledged with a reason."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
