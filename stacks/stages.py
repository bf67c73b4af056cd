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


@dataclass(frozen=True)
class HostedZone:
    """A Route 53 public hosted zone, given by id and name so that synth looks nothing up."""

    id: str
    name: str


def parse_domains(text: str | None) -> dict[str, str]:
    """Parse ``"prod:users.example.com,staging:users.staging.example.com"`` (stage → API domain name)."""
    domains: dict[str, str] = {}
    for entry in (part.strip() for part in (text or "").split(",") if part.strip()):
        stage, _, domain = entry.partition(":")
        if not _STAGE.match(stage) or not domain or stage in domains:
            raise ValueError(f"context domains: invalid entry {entry!r}; allowed: <stage>:<domain name>, each stage "
                             "once, e.g. 'prod:users.example.com'")
        domains[stage] = domain
    return domains


def parse_hosted_zone(text: str | None) -> HostedZone | None:
    """Parse ``"Z0123456789ABCDEFGHIJ:example.com"`` (the zone's id, then its name)."""
    if not text:
        return None
    zone_id, _, name = text.partition(":")
    if not zone_id or not name:
        raise ValueError(f"context hosted_zone: invalid {text!r}; allowed: <zone id>:<zone name>, "
                         "e.g. 'Z0123456789ABCDEFGHIJ:example.com'")
    return HostedZone(zone_id, name)
