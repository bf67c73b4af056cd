"""The example service in each database topology (``-c topology=direct|express``) passes the gates:
cdk-nag (synth with the checks), the deploy contract, and the scanners (cfn-lint, checkov, parliament).

The default topology (``proxy``) is the one every other test of tests/stacks and tests/contract checks.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from constructs_lib.contract import Policies, Templates, check
from stacks.flows import EXPRESS_CLUSTER_ID, express_cluster_id, service_flows, topology_of
from tests.cdk_helpers import SynthesizedService
from tests.stacks import scanners

TOPOLOGIES = ("direct", "express")
#: The scanner findings only the express topology has, with their reasons.
EXPRESS_SKIPS = scanners.SKIPS_FILE.with_name("skips-express.yaml")


@pytest.fixture(scope="module", params=TOPOLOGIES)
def synthesized(request: pytest.FixtureRequest, topology_service: Callable[[str], SynthesizedService]) -> SynthesizedService:
    """The service in one topology, synthesized once per session with cdk-nag on (an unacknowledged finding fails synth)."""
    return topology_service(request.param)


def stateful(service: SynthesizedService) -> dict:  # type: ignore[type-arg]
    return service.template_json(service.stacks.stateful)


def stateless(service: SynthesizedService) -> dict:  # type: ignore[type-arg]
    return service.template_json(service.stacks.stateless)


def types(template: dict) -> set[str]:  # type: ignore[type-arg]
    return {resource["Type"] for resource in template["Resources"].values()}


def test_each_topology_has_its_resources_and_no_proxy(synthesized: SynthesizedService) -> None:
    topology = synthesized.stacks.stateful.topology
    both = types(stateful(synthesized)) | types(stateless(synthesized))
    assert "AWS::RDS::DBProxy" not in both
    if topology == "direct":
        assert {"AWS::RDS::DBCluster", "AWS::EC2::VPC"} <= both
        cluster, = [r for r in stateful(synthesized)["Resources"].values() if r["Type"] == "AWS::RDS::DBCluster"]
        assert cluster["Properties"]["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0  # auto-pause
    else:
        assert not both & {"AWS::RDS::DBCluster", "AWS::EC2::VPC", "AWS::EC2::VPCEndpoint", "AWS::SecretsManager::Secret"}
        assert all("VpcConfig" not in r["Properties"] for r in stateless(synthesized)["Resources"].values()
                   if r["Type"] == "AWS::Lambda::Function")


def test_waiting_functions_outlast_a_resume_and_http_answers_503(synthesized: SynthesizedService) -> None:
    functions = {logical_id: r["Properties"] for logical_id, r in stateless(synthesized)["Resources"].items()
                 if r["Type"] == "AWS::Lambda::Function" and "DB_USER" in json.dumps(r["Properties"])}
    on_pause = {logical_id.split("Function")[0]: (p["Environment"]["Variables"].get("DB_ON_PAUSE"), p["Timeout"])
                for logical_id, p in functions.items() if "DB_HOST" in p["Environment"]["Variables"]}
    assert on_pause == {"Api": ("unavailable", 10), "Worker": ("wait", 60), "Schedule": ("wait", 120)}


def test_templates_tell_their_topology(synthesized: SynthesizedService) -> None:
    templates = Templates.from_assembly(synthesized.outdir)
    assert topology_of(templates) == synthesized.stacks.stateful.topology
    if topology_of(templates) == "express":
        assert express_cluster_id(templates) == EXPRESS_CLUSTER_ID


def test_every_flow_is_decided_as_declared(synthesized: SynthesizedService) -> None:
    # GIVEN the topology's templates  WHEN AWS decides each of its flows  THEN as declared
    templates = Templates.from_assembly(synthesized.outdir)
    policies = Policies(templates)
    flows = service_flows(topology=synthesized.stacks.stateful.topology)
    problems = {flow.name: outcome.problems for flow in flows if not (outcome := check(flow, templates, policies)).ok}
    assert not problems, problems
    assert any(flow.name == "API function → cluster as app_user" for flow in flows)
    assert not any("proxy" in flow.name.lower() for flow in flows)


def test_every_role_is_used_by_a_declared_flow(synthesized: SynthesizedService) -> None:
    from constructs_lib.contract.flows import requests

    templates = Templates.from_assembly(synthesized.outdir)
    flows = service_flows(topology=synthesized.stacks.stateful.topology)
    declared = {request.principal.arn for flow in flows if flow.allowed
                for _, request in requests(flow, templates, Policies(templates))}
    roles = {templates.attribute(templates.resource(r.stack, r.logical_id), "Arn") for r in templates.resources()
             if r.type == "AWS::IAM::Role"}
    assert roles <= declared, f"roles no flow uses: {sorted(roles - declared)}"


def test_no_unexplained_scanner_finding(synthesized: SynthesizedService) -> None:
    templates = sorted(synthesized.outdir.glob("*.template.json"))
    topology_skips = (scanners.load_skips(EXPRESS_SKIPS) if synthesized.stacks.stateful.topology == "express" else [])
    found = (scanners.cfn_lint_findings(templates) + scanners.checkov_findings(templates)
             + scanners.parliament_findings(templates))
    unexplained = scanners.unexplained(found, scanners.load_skips() + topology_skips)
    assert not unexplained, "\n".join(sorted({str(finding) for finding in unexplained}))
    assert not scanners.stale(found, topology_skips)
