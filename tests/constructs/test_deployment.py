"""Gradual deploys: ServerlessFunction(deployment=…), its pre-traffic hook, and the rollback alarms
ServiceMonitoring adds to the deployment group. Permissions are decided as AWS would decide them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Stack
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from constructs_lib import InvalidPropError, LambdaHttpApi, ServerlessFunction, ServiceMonitoring
from constructs_lib.compliance import acknowledge, add_checks
from constructs_lib.contract import Policies, Principal, Request, Templates, decide
from constructs_lib.function import defaults
from tests.cdk_helpers import cdk_context, new_stack
from tests.policy_eval import ACCOUNT, REGION

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")
CANARY = codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES


def build(stack: Stack, *, hook: bool = True, monitored: bool = True, **props: Any) -> dict[str, Any]:
    """A function deployed gradually behind an HTTP API, with a hook and monitoring (each optional)."""
    built: dict[str, Any] = {}
    if hook:
        built["hook"] = ServerlessFunction(stack, "Hook", code=INLINE, handler="index.handler")
    built["fn"] = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler",
                                     deployment=props.pop("deployment", CANARY), pre_traffic_hook=built.get("hook"),
                                     **props)
    built["other"] = ServerlessFunction(stack, "Other", code=INLINE, handler="index.handler")
    built["api"] = LambdaHttpApi(stack, "Http", function=built["fn"])
    if monitored:
        monitoring = ServiceMonitoring(stack, "Monitoring", service_name="test")
        monitoring.monitor_function(built["fn"], "Fn")
        monitoring.monitor_function(built["other"], "Other")
        monitoring.monitor_http_api(built["api"])
        built["monitoring"] = monitoring
    return built


def logical_id(stack: Stack, construct: Any) -> str:
    return stack.resolve(construct.node.default_child.logical_id)


def group_of(template: Template) -> dict[str, Any]:
    (group,) = template.find_resources("AWS::CodeDeploy::DeploymentGroup").values()
    return group["Properties"]


class TestDeploymentGroup:
    def test_canary_config_on_the_alias_with_the_hook_before_traffic(self) -> None:
        # GIVEN a function with a canary deployment and a pre-traffic hook
        stack = new_stack()
        built = build(stack)
        template = Template.from_stack(stack)
        # THEN a deployment group shifts its alias with that config
        group = group_of(template)
        assert group["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
        assert group["DeploymentStyle"] == {"DeploymentOption": "WITH_TRAFFIC_CONTROL", "DeploymentType": "BLUE_GREEN"}
        (alias_id, alias), = template.find_resources("AWS::Lambda::Alias").items()
        assert alias["Properties"]["Name"] == "live"
        update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert update["DeploymentGroupName"] == {"Ref": logical_id(stack, built["fn"].deployment_group)}
        assert update["BeforeAllowTrafficHook"] == {"Ref": logical_id(stack, built["hook"].function)}
        # AND the construct exposes it
        assert built["fn"].deployment_group is not None and built["fn"].alias is not None

    @pytest.mark.parametrize(("config", "name"), [
        (codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_1_MINUTE,
         "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"),
        (codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_30_MINUTES,
         "CodeDeployDefault.LambdaCanary10Percent30Minutes"),
    ])
    def test_linear_or_any_canary_config(self, config: Any, name: str) -> None:
        stack = new_stack()
        build(stack, hook=False, monitored=False, deployment=config)
        assert group_of(Template.from_stack(stack))["DeploymentConfigName"] == name

    def test_deployment_implies_the_alias_and_the_http_api_invokes_it(self) -> None:
        stack = new_stack()
        built = build(stack, hook=False, monitored=False)
        template = Template.from_stack(stack)
        alias = {"Ref": logical_id(stack, built["fn"].alias)}
        template.has_resource_properties("AWS::ApiGatewayV2::Integration", {"IntegrationUri": alias})
        template.has_resource_properties("AWS::Lambda::Permission", {"FunctionName": alias,
                                                                    "Principal": "apigateway.amazonaws.com"})
        assert built["fn"].invoke_target is built["fn"].alias

    def test_no_deployment_group_by_default(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler", publish_alias=True)
        template = Template.from_stack(stack)
        template.resource_count_is("AWS::CodeDeploy::DeploymentGroup", 0)
        assert function.deployment_group is None and defaults.DEPLOYMENT is None
        (alias,) = template.find_resources("AWS::Lambda::Alias").values()
        assert "UpdatePolicy" not in alias

    def test_a_hook_without_a_deployment_is_refused(self) -> None:
        stack = new_stack()
        hook = ServerlessFunction(stack, "Hook", code=INLINE, handler="index.handler")
        with pytest.raises(InvalidPropError) as raised:
            ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler", pre_traffic_hook=hook)
        assert (raised.value.construct, raised.value.prop) == ("ServerlessFunction", "pre_traffic_hook")
        assert "only with deployment" in raised.value.allowed


class TestRollbackAlarms:
    def test_errors_5xx_and_p99_alarms_roll_the_deployment_back(self) -> None:
        # GIVEN the function and its API monitored
        stack = new_stack()
        build(stack)
        template = Template.from_stack(stack)
        group = group_of(template)
        # THEN its errors and p99 duration alarms and the API's 5xx and p99 latency alarms are the rollback alarms
        names = sorted(alarm["Name"]["Ref"] for alarm in group["AlarmConfiguration"]["Alarms"])
        assert [name[:-8] for name in names] == ["MonitoringFnDurationP99", "MonitoringFnErrors",
                                                 "MonitoringHttpApi5xx", "MonitoringHttpApiLatencyP99"]
        assert group["AlarmConfiguration"]["Enabled"] is True
        assert group["AutoRollbackConfiguration"] == {"Enabled": True,
                                                      "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
        # AND not the throttles alarm (load, not a bad version), nor another function's alarms
        alarms = template.find_resources("AWS::CloudWatch::Alarm")
        assert all(name in alarms for name in names)
        assert not any(name.startswith(("MonitoringFnThrottles", "MonitoringOther")) for name in names)

    def test_monitoring_without_a_deployment_adds_no_alarm_anywhere(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
        monitoring = ServiceMonitoring(stack, "Monitoring", service_name="test")
        monitoring.monitor_function(function, "Fn")
        monitoring.monitor_http_api(LambdaHttpApi(stack, "Http", function=function))
        Template.from_stack(stack).resource_count_is("AWS::CodeDeploy::DeploymentGroup", 0)


@pytest.fixture(scope="module")
def decided() -> dict[str, Any]:
    stack = new_stack()
    built = build(stack)
    template = Template.from_stack(stack).to_json()
    templates = Templates({"TestStack": template}, {"TestStack": (ACCOUNT, REGION)})
    hook_role = f"arn:aws:iam::{ACCOUNT}:role/{logical_id(stack, built['hook'].role)}"
    fn_id, other_id = logical_id(stack, built["fn"].function), logical_id(stack, built["other"].function)
    group = built["fn"].deployment_group

    def ref(construct: Any) -> str:
        return templates.resolve("TestStack", stack.resolve(construct))

    return {"policies": Policies(templates), "hook": Principal(account=ACCOUNT, arn=hook_role),
            "template": template, "fn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn_id}",
            "other": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{other_id}",
            "version": ref(built["fn"].version.function_arn), "alias": ref(built["fn"].alias.function_arn),
            "group": ref(group.deployment_group_arn),
            "hook_env": template["Resources"][logical_id(stack, built["hook"].function)]["Properties"]["Environment"],
            "version_id": logical_id(stack, built["fn"].version)}



class TestHookPermissions:
    """The hook may invoke the new version only, and report to its own deployment group only."""

    def allowed(self, decided: dict[str, Any], action: str, resource: str) -> bool:
        return decide(decided["policies"], Request(decided["hook"], action, resource)).allowed

    def test_the_hook_invokes_the_new_version_and_nothing_else(self, decided: dict[str, Any]) -> None:
        invoke = "lambda:InvokeFunction"
        assert decided["version"].endswith(":1") and decided["version"].startswith(decided["fn"])
        assert self.allowed(decided, invoke, decided["version"])
        # not the live alias (the old version), not $LATEST, not another function
        assert not self.allowed(decided, invoke, decided["alias"])
        assert not self.allowed(decided, invoke, decided["fn"])
        assert not self.allowed(decided, invoke, decided["other"])

    def test_the_hook_reports_to_its_own_deployment_group_only(self, decided: dict[str, Any]) -> None:
        report = "codedeploy:PutLifecycleEventHookExecutionStatus"
        group = decided["group"]
        assert group.startswith(f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:")
        assert self.allowed(decided, report, group)
        application = group.rsplit(":", 1)[1].split("/")[0]
        other_group = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:{application}/Other"
        assert not self.allowed(decided, report, other_group)
        assert not self.allowed(decided, report, f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:App/Other")

    def test_the_hook_learns_the_new_version_from_its_environment(self, decided: dict[str, Any]) -> None:
        assert decided["hook_env"] == {"Variables": {defaults.HOOK_TARGET_ENV: {"Ref": decided["version_id"]}}}
        from lambda_src import deploy_hook

        assert deploy_hook.TARGET_ENV == defaults.HOOK_TARGET_ENV

    def test_codedeploy_assumes_its_role_and_may_invoke_the_hook(self, decided: dict[str, Any]) -> None:
        roles = [(lid, r) for lid, r in decided["template"]["Resources"].items()
                 if r["Type"] == "AWS::IAM::Role" and lid.startswith("FnDeploymentServiceRole")]
        (role_id, _), = roles
        codedeploy_service = Principal(account=ACCOUNT, service="codedeploy.amazonaws.com")
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role_id}"
        assert decide(decided["policies"], Request(codedeploy_service, "sts:AssumeRole", role_arn)).allowed
        deployer = Principal(account=ACCOUNT, arn=role_arn)
        hook_fn = next(lid for lid, r in decided["template"]["Resources"].items()
                       if r["Type"] == "AWS::Lambda::Function" and lid.startswith("HookFunction"))
        hook_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{hook_fn}"
        assert decide(decided["policies"], Request(deployer, "lambda:InvokeFunction", hook_arn)).allowed
        assert not decide(decided["policies"], Request(deployer, "lambda:InvokeFunction", decided["other"])).allowed
        assert decide(decided["policies"], Request(deployer, "lambda:UpdateAlias", decided["alias"])).allowed


def test_cdk_nag_is_clean_with_only_the_libraries_reasoned_acknowledgements(tmp_path: Path) -> None:
    # GIVEN the gradual deployment with its hook and monitoring, cdk-nag on
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "Consumer", env=cdk.Environment(account=ACCOUNT, region=REGION))
    built = build(stack)
    for name in ("hook", "fn", "other"):  # this test's inline code: findings about the code, not the deployment
        acknowledge(built[name].function, ("Serverless-LambdaDLQ", "AwsSolutions-L1", "Serverless-LambdaLatestVersion"),
                    "This test's inline code stands in for a real bundle; only the deployment's findings are under test.")
    add_checks(app)
    # WHEN synthesized  THEN no finding is left (synth raises on one)
    app.synth()
    found = {rule: reason for metadata in tmp_path.glob("*.metadata.json")
             for entries in json.loads(metadata.read_text()).values() for entry in entries
             if entry.get("type") == "aws:cdk:acknowledged-rules" for rule, reason in entry["data"].items()}
    # AND the deployment role's managed policy and its invoke grant of the hook are acknowledged by name
    assert "AWSCodeDeployRoleForLambdaLimited" in next(rule for rule in found if "IAM4" in rule)
    hook_grant = next(rule for rule in found if "IAM5" in rule and ">:*" in rule)
    assert "HookFunction" in hook_grant and "pre-traffic hook" in found[hook_grant]


def test_the_template_passes_cfn_lint(tmp_path: Path) -> None:
    import subprocess
    import sys

    stack = new_stack()
    build(stack)
    path = tmp_path / "deployment.template.json"
    path.write_text(json.dumps(Template.from_stack(stack).to_json()))
    completed = subprocess.run([sys.executable, "-m", "cfnlint", "--format", "json", "--", str(path)],
                               capture_output=True, text=True, timeout=300)
    findings = [m for m in json.loads(completed.stdout or "[]") if m["Rule"]["Id"] != "W3005"]
    assert findings == [], json.dumps(findings, indent=1)[:3000]
