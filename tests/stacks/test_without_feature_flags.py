"""An app without the project's feature flags gets the same security from the constructs.

A team's ``cdk.json`` carries none of ours. An outside team's had none, so CDK added no
``Custom::VpcRestrictDefaultSG`` and the VPC's default security group kept its allow-all rules:
``@aws-cdk/aws-ec2:restrictDefaultSecurityGroup`` had decided it. Here the example is synthesized
with no feature flag at all and its security-relevant properties compared with the default synth.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from constructs_lib.contract import Policies, Templates, check
from stacks.flows import service_flows
from tests.cdk_helpers import SynthesizedService, synthesize_service

#: Per resource type, the properties that decide who may do what, what is encrypted and what is reachable
#: ("*": all of them). Removal policies are compared for every resource listed.
SECURITY_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "AWS::IAM::Role": ("AssumeRolePolicyDocument", "Policies", "ManagedPolicyArns", "PermissionsBoundary"),
    "AWS::IAM::Policy": ("PolicyDocument", "Roles", "Users", "Groups"),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument", "Roles", "Users", "Groups"),
    "AWS::KMS::Key": ("KeyPolicy", "EnableKeyRotation", "KeySpec", "KeyUsage"),
    "AWS::SQS::Queue": ("SqsManagedSseEnabled", "KmsMasterKeyId", "RedrivePolicy"),
    "AWS::SQS::QueuePolicy": ("PolicyDocument", "Queues"),
    "AWS::SNS::Topic": ("KmsMasterKeyId",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument", "Topics"),
    "AWS::SNS::Subscription": ("*",),
    "AWS::SecretsManager::Secret": ("KmsKeyId",),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy", "SecretId", "BlockPublicPolicy"),
    "AWS::SecretsManager::RotationSchedule": ("*",),
    "AWS::Lambda::Permission": ("*",),
    "AWS::Lambda::Url": ("AuthType",),
    "AWS::Lambda::Function": ("Role", "KmsKeyArn", "VpcConfig"),
    "AWS::Logs::LogGroup": ("KmsKeyId", "RetentionInDays"),
    "AWS::EC2::SecurityGroup": ("SecurityGroupIngress", "SecurityGroupEgress", "VpcId"),
    "AWS::EC2::SecurityGroupIngress": ("*",),
    "AWS::EC2::SecurityGroupEgress": ("*",),
    "AWS::EC2::Subnet": ("MapPublicIpOnLaunch",),
    "AWS::EC2::VPCEndpoint": ("PolicyDocument", "PrivateDnsEnabled", "SecurityGroupIds"),
    "AWS::EC2::FlowLog": ("*",),
    "AWS::RDS::DBCluster": ("StorageEncrypted", "KmsKeyId", "EnableIAMDatabaseAuthentication", "DeletionProtection",
                            "VpcSecurityGroupIds", "MasterUserSecret", "MasterUserPassword", "MasterUsername"),
    "AWS::RDS::DBInstance": ("PubliclyAccessible",),
    "AWS::RDS::DBProxy": ("RequireTLS", "Auth", "DefaultAuthScheme", "RoleArn", "VpcSecurityGroupIds"),
    "AWS::ApiGatewayV2::Route": ("AuthorizationType", "AuthorizerId"),
    "AWS::ApiGatewayV2::Authorizer": ("*",),
    "Custom::VpcRestrictDefaultSG": ("*",),
}
#: Resources whose construct path a flag may move without changing what they do: keyed by their target.
KEYED_BY_TARGET = {"AWS::SecretsManager::ResourcePolicy": "SecretId"}
POLICY_DOCUMENTS = ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument", "ResourcePolicy")


def atoms(document: Mapping[str, Any]) -> list[str]:
    """A resolved policy document as sorted (effect, principal, one action, one resource, condition)
    atoms: how CDK merges or orders statements (``@aws-cdk/aws-iam:minimizePolicies``) changes nothing."""
    found = set()
    for statement in document.get("Statement", []):
        statement = dict(statement)
        statement.pop("Sid", None)
        actions = statement.pop("Action", None)
        resources = statement.pop("Resource", None)
        for action in actions if isinstance(actions, list) else [actions]:
            for resource in resources if isinstance(resources, list) else [resources]:
                found.add(json.dumps({**statement, "Action": action, "Resource": resource}, sort_keys=True))
    return sorted(found)


def security(templates: Templates) -> dict[tuple[str, ...], Any]:
    """Every security-relevant property of every resource, intrinsics resolved (partition literals and
    ``${AWS::Partition}`` alike), keyed by stack and construct path."""
    posture: dict[tuple[str, ...], Any] = {}
    for resource in templates.resources():
        wanted = SECURITY_PROPERTIES.get(resource.type)
        if wanted is None:
            continue
        body = templates.templates[resource.stack]["Resources"][resource.logical_id]
        properties = {name: value for name, value in resource.properties.items() if "*" in wanted or name in wanted}
        resolved = templates.resolve(resource.stack, properties)
        for name in POLICY_DOCUMENTS:
            if name in resolved:
                resolved[name] = atoms(resolved[name])
        for inline in resolved.get("Policies", []) if resource.type == "AWS::IAM::Role" else []:
            inline["PolicyDocument"] = atoms(inline["PolicyDocument"])
        resolved["removal"] = (body.get("DeletionPolicy"), body.get("UpdateReplacePolicy"))
        target = KEYED_BY_TARGET.get(resource.type)
        where = json.dumps(resolved[target]) if target else resource.path.split("/", 1)[1]
        posture[(resource.stack, resource.type, where)] = resolved
    return posture


@pytest.fixture(scope="module")
def flagless(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedService:
    """The example synthesized with cdk.json's context minus every feature flag (stages and account kept)."""
    return synthesize_service(tmp_path_factory.mktemp("cdk.out-no-flags"), feature_flags=False)


def test_the_flagless_synth_has_no_feature_flag(flagless: SynthesizedService) -> None:
    assert flagless.app.node.try_get_context("@aws-cdk/aws-ec2:restrictDefaultSecurityGroup") is None
    assert flagless.app.node.try_get_context("stages") == "dev:eu-west-1"


def test_without_feature_flags_the_security_posture_is_the_same(service: SynthesizedService,
                                                                flagless: SynthesizedService) -> None:
    # GIVEN the example as make synth builds it, and the same app with no feature flag
    default = security(Templates.from_assembly(service.outdir))
    without = security(Templates.from_assembly(flagless.outdir))
    # THEN the same resources carry the same policies, rules, encryption, TLS and removal policies
    assert sorted(set(default) - set(without)) == []
    assert sorted(set(without) - set(default)) == []
    assert [key for key in default if default[key] != without[key]] == []
    assert any(key[1] == "Custom::VpcRestrictDefaultSG" for key in without)


def test_without_feature_flags_every_flow_of_the_deploy_contract_holds(flagless: SynthesizedService) -> None:
    templates = Templates.from_assembly(flagless.outdir)
    policies = Policies(templates)
    problems = {flow.name: outcome.problems for flow in service_flows()
                if not (outcome := check(flow, templates, policies)).ok}
    assert problems == {}
