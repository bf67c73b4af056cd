"""Custom domains on LambdaHttpApi and LambdaWebSocketApi: each way to give the certificate and the
zone, TLS 1.2, the API mapping, the Route 53 alias, the handler's base path, and bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from constructs_lib import InvalidPropError, LambdaHttpApi, LambdaWebSocketApi, ServerlessFunction
from constructs_lib.compliance import acknowledge, add_checks
from constructs_lib.http_api import defaults as http_defaults
from tests.cdk_helpers import cdk_context, new_stack

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")
ZONE = {"hosted_zone_id": "Z0123456789ABCDEFGHIJ", "hosted_zone_name": "example.com"}
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
CERTIFICATE_US_EAST_1 = CERTIFICATE.replace("eu-west-1", "us-east-1")
APIS = {"LambdaHttpApi": LambdaHttpApi, "LambdaWebSocketApi": LambdaWebSocketApi}


def build(kind: str = "LambdaHttpApi", stack: cdk.Stack | None = None, **props: Any) -> tuple[Any, Template]:
    stack = stack or new_stack()
    function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
    api = APIS[kind](stack, "Api", function=function, **props)
    return api, Template.from_stack(stack)


def only(template: Template, kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = template.find_resources(kind).items()
    return found


@pytest.mark.parametrize("kind", APIS)
class TestEachWayToGiveTheDomain:
    def test_a_zone_alone_gets_a_dns_validated_certificate_and_an_alias_record(self, kind: str) -> None:
        # GIVEN a domain in a hosted zone given by id and name, no certificate
        api, template = build(kind, domain_name="api.example.com", **ZONE)
        # THEN a certificate for the domain, validated by DNS in that zone
        certificate_id, certificate = only(template, "AWS::CertificateManager::Certificate")
        assert certificate["Properties"] == {
            "DomainName": "api.example.com", "ValidationMethod": "DNS",
            "DomainValidationOptions": [{"DomainName": "api.example.com", "HostedZoneId": ZONE["hosted_zone_id"]}],
            "Tags": [{"Key": "Name", "Value": "TestStack/Api/Domain/Certificate"}]}
        # AND a regional domain name with TLS 1.2 at least, on that certificate
        domain_id, domain = only(template, "AWS::ApiGatewayV2::DomainName")
        assert domain["Properties"] == {"DomainName": "api.example.com", "DomainNameConfigurations": [{
            "CertificateArn": {"Ref": certificate_id}, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}]}
        # AND the mapping of the API's stage, created after the stage
        _, mapping = only(template, "AWS::ApiGatewayV2::ApiMapping")
        stage_id, stage = only(template, "AWS::ApiGatewayV2::Stage")
        api_id, _ = only(template, "AWS::ApiGatewayV2::Api")
        assert mapping["Properties"] == {"ApiId": {"Ref": api_id}, "DomainName": {"Ref": domain_id},
                                         "Stage": stage["Properties"]["StageName"]}  # no ApiMappingKey: the root
        assert mapping["DependsOn"] == [stage_id]
        # AND the alias A record in the zone, to the regional name
        _, record = only(template, "AWS::Route53::RecordSet")
        assert record["Properties"]["Name"] == "api.example.com." and record["Properties"]["Type"] == "A"
        assert record["Properties"]["HostedZoneId"] == ZONE["hosted_zone_id"]
        assert record["Properties"]["AliasTarget"]["DNSName"] == {"Fn::GetAtt": [domain_id, "RegionalDomainName"]}
        assert record["Properties"]["AliasTarget"]["HostedZoneId"] == {"Fn::GetAtt": [domain_id, "RegionalHostedZoneId"]}
        assert api.domain.url == "https://api.example.com/" and api.domain.record is not None

    def test_a_certificate_alone_maps_the_domain_and_leaves_dns_to_you(self, kind: str) -> None:
        api, template = build(kind, domain_name="api.example.com", certificate_arn=CERTIFICATE)
        template.resource_count_is("AWS::CertificateManager::Certificate", 0)
        template.resource_count_is("AWS::Route53::RecordSet", 0)
        template.has_resource_properties("AWS::ApiGatewayV2::DomainName", {"DomainNameConfigurations": [{
            "CertificateArn": CERTIFICATE, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}]})
        template.resource_count_is("AWS::ApiGatewayV2::ApiMapping", 1)
        assert api.domain.record is None and api.domain.regional_domain_name

    def test_a_certificate_and_a_zone_use_the_certificate_and_write_the_record(self, kind: str) -> None:
        _, template = build(kind, domain_name="example.com", certificate_arn=CERTIFICATE, **ZONE)
        template.resource_count_is("AWS::CertificateManager::Certificate", 0)
        template.has_resource_properties("AWS::Route53::RecordSet", {"Name": "example.com.", "Type": "A"})
        template.has_resource_properties("AWS::ApiGatewayV2::DomainName", {"DomainNameConfigurations": [{
            "CertificateArn": CERTIFICATE, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}]})

    def test_a_base_path_is_the_mapping_key(self, kind: str) -> None:
        api, template = build(kind, domain_name="api.example.com", base_path="v1", **ZONE)
        template.has_resource_properties("AWS::ApiGatewayV2::ApiMapping", {"ApiMappingKey": "v1"})
        assert api.domain.url == "https://api.example.com/v1/"

    def test_no_domain_by_default(self, kind: str) -> None:
        api, template = build(kind)
        for resource in ("AWS::ApiGatewayV2::DomainName", "AWS::ApiGatewayV2::ApiMapping",
                         "AWS::CertificateManager::Certificate", "AWS::Route53::RecordSet"):
            template.resource_count_is(resource, 0)
        assert api.domain is None


class TestBasePathInTheHandler:
    def test_the_function_is_told_the_base_path_and_the_handler_routes_without_it(self) -> None:
        # GIVEN an HTTP API mapped under /v1
        _, template = build(domain_name="api.example.com", base_path="v1", **ZONE)
        (function,) = template.find_resources("AWS::Lambda::Function").values()
        env = function["Properties"]["Environment"]["Variables"]
        assert env == {http_defaults.BASE_PATH_ENV: "/v1"}
        # WHEN the handler is configured from that environment and a request arrives through the domain
        from lambda_src.config import Config
        from lambda_src.web.router import HttpApp

        app = HttpApp(strip_prefixes=Config(env).strip_prefixes)
        app.route("GET", "/ping", public=True)(lambda request: {"path": request.path})
        event = {"version": "2.0", "rawPath": "/v1/ping", "rawQueryString": "", "headers": {},
                 "requestContext": {"http": {"method": "GET", "path": "/v1/ping"}, "stage": "$default"}}
        response = app(event, None)
        # THEN it routes /ping: the mapping key is gone
        assert response["statusCode"] == 200 and json.loads(response["body"]) == {"path": "/ping"}

    def test_without_a_base_path_the_function_gets_no_base_paths(self) -> None:
        _, template = build(domain_name="api.example.com", **ZONE)
        (function,) = template.find_resources("AWS::Lambda::Function").values()
        assert "Environment" not in function["Properties"]
        assert http_defaults.BASE_PATH_ENV == "BASE_PATHS"  # what lambda_src.config reads


@pytest.mark.parametrize("kind", APIS)
@pytest.mark.parametrize(("props", "prop", "fragment"), [
    ({"domain_name": "api.other.org", **ZONE}, "domain_name", "in the hosted zone example.com"),
    ({"domain_name": "badexample.com", **ZONE}, "domain_name", "in the hosted zone example.com"),
    ({"domain_name": "api.example.com", "certificate_arn": CERTIFICATE_US_EAST_1}, "certificate_arn",
     "a certificate in eu-west-1"),
    ({"domain_name": "api.example.com", "certificate_arn": "arn:aws:iam::123456789012:server-certificate/x"},
     "certificate_arn", "an ACM certificate ARN"),
    ({"domain_name": "api.example.com"}, "certificate_arn", "hosted_zone_id and hosted_zone_name"),
    ({"domain_name": "api.example.com", "hosted_zone_id": "Z0123456789ABCDEFGHIJ"}, "hosted_zone_name", "together"),
    ({"domain_name": "api.example.com", "hosted_zone_name": "example.com"}, "hosted_zone_id", "together"),
    ({"domain_name": "api.example.com", "hosted_zone_id": "example.com", "hosted_zone_name": "example.com"},
     "hosted_zone_id", "a Route 53 hosted zone id"),
    ({"domain_name": "https://api.example.com", **ZONE}, "domain_name", "a host name"),
    ({"domain_name": "api.example.com", "base_path": "/v1", **ZONE}, "base_path", "one path segment"),
    ({"domain_name": "api.example.com", "base_path": "v1/users", **ZONE}, "base_path", "one path segment"),
    ({"base_path": "v1"}, "base_path", "only with domain_name"),
    ({"certificate_arn": CERTIFICATE}, "certificate_arn", "only with domain_name"),
    (ZONE, "hosted_zone_id", "only with domain_name"),
])
def test_bad_domain_props_fail_at_synth_naming_the_prop(kind: str, props: dict[str, Any], prop: str,
                                                         fragment: str) -> None:
    with pytest.raises(InvalidPropError) as raised:
        build(kind, **props)
    assert (raised.value.construct, raised.value.prop) == (kind, prop)
    assert fragment in raised.value.allowed


def test_a_certificate_of_another_region_is_not_checked_in_an_environment_agnostic_stack() -> None:
    # the stack's region is unknown until deploy: nothing to compare with, so synth does not guess
    stack = cdk.Stack(cdk.App(context=cdk_context()), "Agnostic")
    api, _ = build(stack=stack, domain_name="api.example.com", certificate_arn=CERTIFICATE_US_EAST_1)
    assert api.domain is not None


def test_a_trailing_dot_and_upper_case_are_the_same_zone() -> None:
    api, template = build(domain_name="API.Example.com", hosted_zone_id="Z0123456789ABCDEFGHIJ",
                          hosted_zone_name="example.com.")
    template.has_resource_properties("AWS::Route53::RecordSet", {"Type": "A"})


def synthesized_with_domain(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Both APIs with a domain each, cdk-nag on; the template and the acknowledged rules."""
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "Domains", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    http_fn = ServerlessFunction(stack, "HttpFn", code=INLINE, handler="index.handler")
    ws_fn = ServerlessFunction(stack, "WsFn", code=INLINE, handler="index.handler")
    LambdaHttpApi(stack, "Http", function=http_fn, domain_name="api.example.com", base_path="v1", **ZONE)
    LambdaWebSocketApi(stack, "Ws", function=ws_fn, domain_name="ws.example.com", certificate_arn=CERTIFICATE, **ZONE)
    for function in (http_fn, ws_fn):  # this test's inline code: findings about the code, not the domains
        acknowledge(function.function, ("Serverless-LambdaDLQ", "AwsSolutions-L1", "Serverless-LambdaLatestVersion"),
                    "This test's inline code stands in for a real bundle; only the domains' findings are under test.")
    add_checks(app)
    app.synth()  # raises on any finding not acknowledged
    rules = {rule: reason for metadata in tmp_path.glob("*.metadata.json")
             for entries in json.loads(metadata.read_text()).values() for entry in entries
             if entry.get("type") == "aws:cdk:acknowledged-rules" for rule, reason in entry["data"].items()}
    return tmp_path / "Domains.template.json", rules


def test_cdk_nag_and_cfn_lint_are_clean(tmp_path: Path) -> None:
    # GIVEN both APIs on custom domains, synthesized with cdk-nag (which raises on a finding)
    template, rules = synthesized_with_domain(tmp_path)
    # THEN nothing about the domains needed acknowledging
    assert not [rule for rule in rules if "Domain" in rule or "Certificate" in rule or "Route53" in rule]
    # AND cfn-lint finds nothing but CDK's own DependsOn edges
    completed = subprocess.run([sys.executable, "-m", "cfnlint", "--format", "json", "--", str(template)],
                               capture_output=True, text=True, timeout=300)
    findings = [m for m in json.loads(completed.stdout or "[]") if m["Rule"]["Id"] != "W3005"]
    assert findings == [], json.dumps(findings, indent=1)[:3000]
