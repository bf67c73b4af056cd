"""Compliance checks for your app: the cdk-nag packs this library is held to, and reasoned acknowledgements.

::

    from constructs_lib.compliance import acknowledge, add_checks

    add_checks(app)          # before app.synth(): any unacknowledged finding fails synth
    acknowledge(my_bucket, "AwsSolutions-S1", "Access logs go to the organisation trail's bucket.")

cdk-nag is an optional dependency: ``pip install "cdk-serverless-postgres[nag]"``. The library's
constructs acknowledge a finding only where the reason holds for any code and any app (an X-Ray
policy on ``*``, a dead-letter queue without its own DLQ, …); a finding that depends on what your
code does (a runtime that isn't the newest, a function without a DLQ) stays yours to fix or acknowledge.
"""
from __future__ import annotations

from constructs import IConstruct

from .acknowledge import acknowledge, acknowledge_each

#: The cdk-nag packs :func:`add_checks` applies.
PACKS = ("AwsSolutionsChecks", "ServerlessChecks")
#: What to install when cdk-nag is missing.
INSTALL = 'pip install "cdk-serverless-postgres[nag]"'


def add_checks(scope: IConstruct) -> None:
    """Run cdk-nag's AWS Solutions and Serverless packs over ``scope`` (usually the app) at synth,
    through CDK's validation plugins: synth fails on any finding not acknowledged with a reason."""
    try:
        import cdk_nag
    except ImportError as error:
        raise ImportError(f"constructs_lib.compliance needs cdk-nag: {INSTALL}") from error
    from aws_cdk import Validations

    Validations.of(scope).add_plugins(*(getattr(cdk_nag, pack)(scope) for pack in PACKS))


__all__ = ["INSTALL", "PACKS", "acknowledge", "acknowledge_each", "add_checks"]
