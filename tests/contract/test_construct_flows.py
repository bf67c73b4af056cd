"""Each construct used alone, in its smallest app: its flows decided from its own template."""
from __future__ import annotations

import json

import pytest

from constructs_lib.contract import Policies, Templates, check_all
from stacks.flows import ALONE, CONSTRUCTS_ALONE, alone_flows, build_alone
from tests.cdk_helpers import cdk_context

import aws_cdk as cdk


def synthesize_alone(construct: str, tmp_path) -> Templates:  # type: ignore[no-untyped-def]
    app = cdk.App(outdir=str(tmp_path), context=cdk_context())
    stack = cdk.Stack(app, ALONE, env=cdk.Environment(account="123456789012", region="eu-west-1"))
    build_alone(stack, construct)
    app.synth()
    return Templates.from_assembly(tmp_path)


@pytest.mark.parametrize("construct", CONSTRUCTS_ALONE)
def test_construct_alone_flows(construct: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # GIVEN the construct alone in a stack  WHEN AWS decides each of its flows  THEN as declared
    templates = synthesize_alone(construct, tmp_path)
    policies = Policies(templates)
    outcomes = check_all(alone_flows(construct), templates, policies)
    assert [(o.flow.name, o.problems) for o in outcomes if not o.ok] == []
    # AND every statement of its template is one some flow needs: removing it changes a flow
    unused = [s.id for s in policies.statements()
              if not any(s.id in o.rests_on() for o in outcomes)
              and all(o.ok for o in check_all(alone_flows(construct), templates, policies.without(s.id)))]
    assert unused == []


def test_the_proxy_role_grows_one_statement_per_granted_user_and_no_more(tmp_path) -> None:  # type: ignore[no-untyped-def]
    templates = synthesize_alone("ServerlessDatabase", tmp_path)
    proxy = templates.find(ALONE, "Database/Proxy", "AWS::RDS::DBProxy")
    role = templates.resolve(proxy.stack, proxy.properties["RoleArn"])
    statements = Policies(templates).identity[role]
    assert [s.body["Action"] for s in statements] == ["rds-db:connect"]
    resources = sorted(statements[0].body["Resource"])
    assert [r.rsplit("/", 1)[1] for r in resources] == ["app_user", "reporting"]
    assert all(":dbuser:cluster-" in r for r in resources), json.dumps(resources)
