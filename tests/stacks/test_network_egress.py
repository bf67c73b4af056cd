"""Network least privilege: every security group's egress, read from the synthesized templates as
CloudFormation applies it (a group declared without egress rules keeps EC2's allow-all default).

Without NAT, a function reaches only the VPC endpoints (HTTPS) and the database it was granted
(the proxy, or the cluster for migrations). With NAT (realtime), HTTPS goes anywhere: the WebSocket
management API (execute-api @connections) has no VPC endpoint. The proxy reaches only the cluster;
the cluster reaches nothing; the rotation function reaches the endpoints and the cluster.
"""
from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.contract import Templates
from tests.cdk_helpers import SynthesizedService

ANYWHERE = "0.0.0.0/0"
NOTHING = "255.255.255.255/32"  # what CDK writes for a group with no egress at all


def egress(templates: Templates) -> dict[str, set[tuple[str, int | None]]]:
    """Construct path of each security group -> {(destination, port)}; destination is a CIDR or the
    construct path of the destination group."""
    groups = {r.logical_id: r for r in templates.resources() if r.type == "AWS::EC2::SecurityGroup"}
    by_id = {templates.attribute(r, "GroupId"): r.path.removesuffix("/Resource") for r in groups.values()}
    rules: dict[str, set[tuple[str, int | None]]] = {path: set() for path in by_id.values()}

    def add(group_id: str, rule: dict[str, Any]) -> None:
        destination = rule.get("CidrIp") or by_id.get(rule.get("DestinationSecurityGroupId", ""), "?")
        port = rule.get("FromPort")  # a number, or a string where CDK took it from the cluster's Endpoint.Port
        rules[by_id[group_id]].add((destination, None if port is None else int(port)))

    for resource in groups.values():
        if "SecurityGroupEgress" not in resource.properties:
            # CloudFormation keeps EC2's default rule (all traffic, anywhere) on a group created without
            # egress rules of its own; separate AWS::EC2::SecurityGroupEgress resources only add to it
            rules[by_id[templates.attribute(resource, "GroupId")]].add((ANYWHERE, None))
        for rule in templates.resolve(resource.stack, resource.properties.get("SecurityGroupEgress", [])):
            add(templates.attribute(resource, "GroupId"), rule)
    for resource in templates.resources():
        if resource.type == "AWS::EC2::SecurityGroupEgress":
            properties = templates.resolve(resource.stack, dict(resource.properties))
            add(properties["GroupId"], properties)
    return rules


@pytest.fixture(scope="module")
def default_egress(service: SynthesizedService) -> dict[str, set[tuple[str, int | None]]]:
    return egress(Templates.from_assembly(service.outdir))


@pytest.fixture(scope="module")
def realtime_egress(realtime_service: SynthesizedService) -> dict[str, set[tuple[str, int | None]]]:
    return egress(Templates.from_assembly(realtime_service.outdir))


ENDPOINTS = "Users-dev-Stateful/Network/EndpointSecurityGroup"
PROXY = "Users-dev-Stateful/Database/ProxySecurityGroup"
CLUSTER = "Users-dev-Stateful/Database/ClusterSecurityGroup"


def _group(rules: dict[str, set[tuple[str, int | None]]], suffix: str) -> set[tuple[str, int | None]]:
    (found,) = [value for path, value in rules.items() if path.endswith(suffix)]
    return found


@pytest.mark.parametrize("name", ["ApiFunction", "WorkerFunction", "ScheduleFunction"])
def test_without_nat_a_connected_function_reaches_only_the_endpoints_and_the_proxy(default_egress, name: str) -> None:  # type: ignore[no-untyped-def]
    assert _group(default_egress, f"Stateless/{name}/SecurityGroup") == {(_path(default_egress, ENDPOINTS), 443),
                                                                          (_path(default_egress, PROXY), 5432)}


def test_without_nat_the_migration_function_reaches_only_the_endpoints_and_the_cluster(default_egress) -> None:  # type: ignore[no-untyped-def]
    assert _group(default_egress, "Stateless/MigrateFunction/SecurityGroup") == {
        (_path(default_egress, ENDPOINTS), 443), (_path(default_egress, CLUSTER), 5432)}


@pytest.mark.parametrize("name", ["ApiFunction", "WorkerFunction", "WebSocketFunction"])
def test_with_nat_https_goes_anywhere_and_nothing_else_does(realtime_egress, name: str) -> None:  # type: ignore[no-untyped-def]
    assert _group(realtime_egress, f"Stateless/{name}/SecurityGroup") == {(ANYWHERE, 443), (_path(realtime_egress, PROXY), 5432)}


@pytest.mark.parametrize("variant", ["default_egress", "realtime_egress"])
def test_the_proxy_reaches_only_the_cluster_and_the_cluster_nothing(variant: str, request: pytest.FixtureRequest) -> None:
    rules = request.getfixturevalue(variant)
    assert rules[_path(rules, PROXY)] == {(_path(rules, CLUSTER), 5432)}
    assert {destination for destination, _ in rules[_path(rules, CLUSTER)]} == {NOTHING}


def test_the_rotation_function_reaches_only_the_endpoints_and_the_cluster(default_egress) -> None:  # type: ignore[no-untyped-def]
    assert _group(default_egress, "Database/RotationSecurityGroup") == {(_path(default_egress, ENDPOINTS), 443),
                                                                          (_path(default_egress, CLUSTER), 5432)}


def test_no_group_of_the_default_variant_reaches_anywhere(default_egress) -> None:  # type: ignore[no-untyped-def]
    assert [path for path, rules in default_egress.items() if any(d == ANYWHERE for d, _ in rules)] == []


def _path(rules: dict[str, set[tuple[str, int | None]]], path: str) -> str:
    assert path in rules, sorted(rules)
    return path
