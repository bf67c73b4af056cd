"""Builds the whole example service for one stage into an app."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk

from .stateless_stack import StatelessStack


@dataclass(frozen=True)
class ServiceStacks:
    """The stacks of one stage of the service."""

    stateless: StatelessStack


def build_service(app: cdk.App, *, stage: str, env: cdk.Environment,
                  bundle_cache_dir: Path | None = None) -> ServiceStacks:
    """Add one stage of the service to ``app``. Everything comes in as parameters; nothing reads
    the environment here."""
    stateless = StatelessStack(app, f"Users-{stage}-Stateless", stage=stage, env=env,
                               bundle_cache_dir=bundle_cache_dir)
    return ServiceStacks(stateless=stateless)
