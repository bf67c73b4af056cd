"""Every runtime flow of the example service, decided from its synthesized templates as AWS would.

The two findings of the outside trial are pinned by name: both failed on the templates before the
fix (the proxy's role had no policy; the alarm topic's policy held only the TLS Deny).
"""
from __future__ import annotations

import pytest

from constructs_lib.contract import Policies, Templates, check, decide
from constructs_lib.contract.flows import requests
from stacks.flows import PROXY, TOPIC_KEY, cluster_user, service_flows

DEFAULT_FLOWS = service_flows(realtime=False)
REALTIME_FLOWS = service_flows(realtime=True)
#: A release stage (not dev): the API function deploys as a canary, after the pre-traffic hook.
RELEASE_FLOWS = service_flows(canary=True)


@pytest.mark.parametrize("flow", DEFAULT_FLOWS, ids=[flow.name for flow in DEFAULT_FLOWS])
def test_default_variant_flow(flow, templates: Templates, policies: Policies) -> None:
    # GIVEN the example as `make synth` builds it  WHEN AWS decides the flow  THEN as declared
    outcome = check(flow, templates, policies)
    assert outcome.ok, outcome.problems


@pytest.mark.parametrize("flow", REALTIME_FLOWS, ids=[flow.name for flow in REALTIME_FLOWS])
def test_realtime_variant_flow(flow, realtime_templates: Templates, realtime_policies: Policies) -> None:
    outcome = check(flow, realtime_templates, realtime_policies)
    assert outcome.ok, outcome.problems


@pytest.mark.parametrize("flow", RELEASE_FLOWS, ids=[flow.name for flow in RELEASE_FLOWS])
def test_release_stage_flow(flow, release_templates: Templates, release_policies: Policies) -> None:
    outcome = check(flow, release_templates, release_policies)
    assert outcome.ok, outcome.problems


def test_the_release_stage_declares_the_hooks_limits() -> None:
    # the hook's own flows, and the denials the issue asks for: no other function, no other deployment group
    names = {flow.name: flow.allowed for flow in RELEASE_FLOWS}
    assert names["pre-traffic hook → the new API version"] and names["pre-traffic hook → its deployment's status"]
    for denied in ("pre-traffic hook → another function", "pre-traffic hook → another deployment group",
                   "pre-traffic hook → the live alias", "pre-traffic hook → another application's deployment"):
        assert names[denied] is False
    assert not any("hook" in name or "CodeDeploy" in name for name in {flow.name for flow in DEFAULT_FLOWS})


def test_the_realtime_variant_adds_flows_and_the_default_has_no_websocket() -> None:
    assert {flow.name for flow in DEFAULT_FLOWS} < {flow.name for flow in REALTIME_FLOWS}
    assert not any("WebSocket" in flow.name or "ManageConnections" in flow.name for flow in DEFAULT_FLOWS)


def _flow(name: str):  # type: ignore[no-untyped-def]
    return next(flow for flow in DEFAULT_FLOWS if flow.name == name)


def test_finding_1_the_proxy_role_logs_in_to_the_cluster_as_app_user(templates: Templates, policies: Policies) -> None:
    # GIVEN end-to-end IAM on the proxy (DefaultAuthScheme IAM_AUTH)
    assert PROXY.find(templates).properties["DefaultAuthScheme"] == "IAM_AUTH"
    # WHEN the proxy logs in to the cluster as app_user, with the cluster's resource id
    outcome = check(_flow("Proxy → cluster as app_user"), templates, policies)
    # THEN its own role's identity policy allows it
    assert outcome.ok, outcome.problems
    (request, decision), = outcome.decisions
    assert request.resource.split(":dbuser:")[1].startswith("cluster-")
    assert set(decision.allowed_by) == {"identity"}


def test_the_proxy_role_gets_nothing_but_the_granted_users(templates: Templates, policies: Policies) -> None:
    proxy_role = PROXY.prop("RoleArn").resolve(templates)
    statements = policies.identity[proxy_role]
    assert [s.body["Action"] for s in statements] == ["rds-db:connect"]
    assert statements[0].body["Resource"] == cluster_user("app_user").resolve(templates)


def test_finding_2_cloudwatch_alarms_can_publish_to_the_encrypted_topic(templates: Templates,
                                                                        policies: Policies) -> None:
    # GIVEN an alarm of this account  WHEN CloudWatch publishes its notification
    outcome = check(_flow("CloudWatch alarm → alarm topic"), templates, policies)
    # THEN the topic policy allows it, and the key policy lets SNS encrypt it for CloudWatch
    assert outcome.ok, outcome.problems
    kinds = [set(decision.allowed_by) for _, decision in outcome.decisions]
    assert kinds == [{"resource"}, {"kms"}, {"kms"}]


def test_the_topic_key_refuses_cloudwatch_for_another_accounts_alarm(templates: Templates, policies: Policies) -> None:
    outcome = check(_flow("another account's alarm → topic key"), templates, policies)
    assert outcome.ok, outcome.problems
    assert not outcome.decisions[0][1].allowed and TOPIC_KEY.attr("Arn").resolve(templates) == outcome.decisions[0][0].resource


def test_every_function_of_the_templates_has_its_flows(templates: Templates, realtime_templates: Templates) -> None:
    """A function added to the example without flows (its logs, X-Ray, role) fails here."""
    for found, flows in ((templates, DEFAULT_FLOWS), (realtime_templates, REALTIME_FLOWS)):
        declared = {request.principal.arn for flow in flows if flow.allowed
                    for _, request in requests(flow, found, Policies(found))}
        roles = {found.attribute(found.resource(r.stack, r.logical_id), "Arn") for r in found.resources()
                 if r.type == "AWS::IAM::Role"}
        assert roles <= declared, f"roles no flow uses: {sorted(roles - declared)}"


def test_no_flow_is_decided_without_a_document(templates: Templates, policies: Policies) -> None:
    for flow in DEFAULT_FLOWS:
        for _, request in requests(flow, templates, policies):
            decision = decide(policies, request)
            assert decision.allowed == bool(decision.allowed_by), flow.name
