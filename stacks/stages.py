"""Parsing the ``stages`` context value: which stages to build, each in which region."""
from __future__ import annotations

import re
from dataclasses import dataclass

#: Stages whose API function moves to each new version at once; every other stage deploys it as a canary.
IMMEDIATE_DEPLOY_STAGES = ("dev",)

_STAGE = re.compile(r"^[a-z][a-z0-9]{0,15}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


@dataclass(frozen=True)
class Stage:
    """One deployment of the service: a stage name in a region."""

    name: str
    region: str


def parse_stages(text: str) -> list[Stage]:
    """Parse ``"dev:eu-west-1,prod:us-east-1"``; raise ValueError naming the bad entry."""
    stages = []
    for entry in (part.strip() for part in text.split(",")):
        name, _, region = entry.partition(":")
        if not _STAGE.match(name) or not _REGION.match(region):
            raise ValueError(f"context stages: invalid entry {entry!r}; allowed: <stage>:<region> with a lowercase "
                             "stage (letters, digits, ≤16) and an AWS region, e.g. 'dev:eu-west-1,prod:us-east-1'")
        stages.append(Stage(name, region))
    names = [stage.name for stage in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"context stages: duplicate stage in {text!r}; each stage may appear once")
    return stages
