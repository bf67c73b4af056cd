"""The deploy contract cannot pass vacuously.

- A flow whose caller or resource is missing from the templates fails, it is not skipped.
- Removing any one statement from a copy of the templates turns exactly the flows that rested on it
  (allowed only by it, or denied by it) to the other answer, and every statement of our templates
  allows or denies at least one flow: a grant no flow uses is an over-grant, and fails here.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

from constructs_lib.contract import (At, Flow, Fmt, Policies, Role, Service, TemplateError, Templates, check,
                                     check_all)
from stacks.flows import TOPIC, service_flows

DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"


def test_a_flow_whose_caller_is_missing_fails(templates: Templates, policies: Policies) -> None:
    ghost = Flow("ghost → topic", Role(At("Stateless", "GhostFunction/Function", "AWS::Lambda::Function").prop("Role")),
                 ("sns:Publish",), TOPIC, ("identity",), DOC)
    with pytest.raises(TemplateError, match="GhostFunction"):
        check(ghost, templates, policies)


def test_a_flow_whose_resource_is_missing_fails(templates: Templates, policies: Policies) -> None:
    flow = Flow("alarm → ghost topic", Service("cloudwatch.amazonaws.com"), ("sns:Publish",),
                At("Stateless", "Monitoring/GhostTopic", "AWS::SNS::Topic"), ("resource",), DOC)
    with pytest.raises(TemplateError, match="GhostTopic"):
        check(flow, templates, policies)


def test_a_role_not_in_the_templates_fails(templates: Templates, policies: Policies) -> None:
    flow = Flow("stranger → topic", Role(Fmt("arn:aws:iam::123456789012:role/Stranger")), ("sns:Publish",), TOPIC,
                ("identity",), DOC)
    with pytest.raises(TemplateError, match="not in the templates"):
        check(flow, templates, policies)


def test_a_flow_that_omits_the_key_of_an_encrypted_resource_fails(templates: Templates, policies: Policies) -> None:
    flow = Flow("alarm → topic, key forgotten", Service("cloudwatch.amazonaws.com"), ("sns:Publish",), TOPIC,
                ("resource",), DOC)
    with pytest.raises(TemplateError, match="encrypted with"):
        check(flow, templates, policies)


def test_a_missing_grant_in_the_template_turns_its_flow_to_denied(templates: Templates) -> None:
    # GIVEN the proxy role's policy removed from a copy of the stateful template (today's bug, re-created)
    edited = {name: copy.deepcopy(template) for name, template in templates.templates.items()}
    stateful = templates.stack_named("Stateful")
    resources: dict[str, Any] = edited[stateful]["Resources"]
    for logical_id in [lid for lid, body in resources.items() if lid.startswith("DatabaseProxyRoleDefaultPolicy")]:
        del resources[logical_id]
    broken = Templates(edited, templates.environments, templates.paths)
    # WHEN the flows are decided  THEN the proxy's login is the flow that fails, and only it
    failed = [o.flow.name for o in check_all(service_flows(), broken) if not o.ok]
    assert failed == ["Proxy → cluster as app_user"]


@pytest.mark.parametrize("variant", ["default", "realtime", "release"])
def test_removing_each_statement_changes_exactly_the_flows_resting_on_it(variant: str, request: pytest.FixtureRequest
                                                                        ) -> None:
    found: Templates = request.getfixturevalue({"default": "templates", "realtime": "realtime_templates",
                                                "release": "release_templates"}[variant])
    flows = service_flows(realtime=variant == "realtime", canary=variant == "release")
    policies = Policies(found)
    baseline = check_all(flows, found, policies)
    assert all(outcome.ok for outcome in baseline)
    unused = []
    for statement in policies.statements():
        changed = check_all(flows, found, policies.without(statement.id))
        flipped = {after.flow.name for after in changed if not after.ok}
        expected = {before.flow.name for before in baseline if _rests_only_on(before, statement.id)}
        # THEN a flow changes only if it rested on the statement, and every flow resting on it alone changes
        assert flipped <= {before.flow.name for before in baseline if statement.id in before.rests_on()}, statement.id
        assert expected <= flipped, (statement.id, expected - flipped)
        if not flipped and not any(statement.id in before.rests_on() for before in baseline):
            unused.append(statement.id)
    # AND every statement allows or denies some flow (alone, or beside a redundant one CDK also writes)
    assert unused == [], f"statements no flow needs (over-grants, or flows missing from the table): {unused}"


def _rests_only_on(outcome: Any, statement_id: str) -> bool:
    """Some decision of the outcome has ``statement_id`` as its only allowing statement, or is denied by it."""
    for _, decision in outcome.decisions:
        if decision.denied_by == (statement_id,):
            return True
        supports = {kind: ids for kind, ids in decision.allowed_by.items()}
        if decision.allowed and any(ids == (statement_id,) for ids in supports.values()) and \
                sum(1 for ids in supports.values() if ids) == 1:
            return True
        if decision.allowed and len(supports) > 1 and any(ids == (statement_id,) for ids in supports.values()):
            return True
    return False
