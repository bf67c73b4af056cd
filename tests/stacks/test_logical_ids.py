"""Logical IDs of resources that must never be replaced are pinned.

Renaming one of these makes CloudFormation replace the resource: the database (and its data),
its secret, the proxy endpoint the functions use, the VPC, the API URL clients call, or the keys
that encrypt the logs and the secret (a new key cannot read what the old one encrypted).
"""
from __future__ import annotations

from tests.cdk_helpers import SynthesizedService

PINNED = {
    "stateful": {
        "DatabaseCluster5B53A178": "AWS::RDS::DBCluster",
        "DatabaseClusterWriterD43085C6": "AWS::RDS::DBInstance",
        "UsersdevStatefulDatabaseClusterSecret295AD8BD3fdaad7efa858a3daf9490cf0a702aeb": "AWS::SecretsManager::Secret",
        "DatabaseProxyE01FC4E6": "AWS::RDS::DBProxy",
        "NetworkVpc7FB7348F": "AWS::EC2::VPC",
        "LogKeyE83D0C1B": "AWS::KMS::Key",
        "SecretKey573D36D8": "AWS::KMS::Key",
    },
    "stateless": {
        "HttpApi9292168F": "AWS::ApiGatewayV2::Api",
        "HttpApiDefaultStage3EEB07D6": "AWS::ApiGatewayV2::Stage",
        "HttpApiAccessLogsDED8C7A4": "AWS::Logs::LogGroup",
        "ApiFunctionLogGroupB51C7C52": "AWS::Logs::LogGroup",
    },
}


def test_stateful_logical_ids_are_stable(service: SynthesizedService) -> None:
    resources = service.template_json(service.stacks.stateful)["Resources"]
    assert {i: resources[i]["Type"] for i in PINNED["stateful"] if i in resources} == PINNED["stateful"]


def test_stateless_logical_ids_are_stable(service: SynthesizedService) -> None:
    resources = service.template_json(service.stacks.stateless)["Resources"]
    assert {i: resources[i]["Type"] for i in PINNED["stateless"] if i in resources} == PINNED["stateless"]
