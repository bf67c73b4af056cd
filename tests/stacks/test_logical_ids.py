"""Logical IDs of resources that must never be replaced are pinned.

Renaming one of these makes CloudFormation replace the resource: a new API URL for clients,
or log groups (and their history) deleted.
"""
from __future__ import annotations

from tests.cdk_helpers import SynthesizedService

PINNED_STATELESS = {
    "HttpApiF5A9A8A7": "AWS::ApiGatewayV2::Api",
    "HttpApiDefaultStage2A8F3E0B": "AWS::ApiGatewayV2::Stage",
    "HttpApiAccessLogsB7A5D4D5": "AWS::Logs::LogGroup",
    "ApiFunctionLogGroup6D5C8E5F": "AWS::Logs::LogGroup",
}


def test_stateless_logical_ids_are_stable(service: SynthesizedService) -> None:
    resources = service.template_json(service.stacks.stateless)["Resources"]
    actual = {logical_id: resources[logical_id]["Type"] for logical_id in PINNED_STATELESS if logical_id in resources}
    assert actual == PINNED_STATELESS
