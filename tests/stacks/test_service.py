"""The example service as a whole: stage layout, references, secrets, wiring."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stacks.stages import Stage, parse_stages
from tests.cdk_helpers import SynthesizedService, synthesize_service


def test_stateful_stack_has_termination_protection(service: SynthesizedService) -> None:
    assert service.stacks.stateful.termination_protection is True
    assert service.stacks.stateless.termination_protection is False


def test_cross_stack_references_only_go_from_stateless_to_stateful(service: SynthesizedService) -> None:
    stateful = json.dumps(service.template_json(service.stacks.stateful))
    stateless = json.dumps(service.template_json(service.stacks.stateless))
    assert "Fn::ImportValue" not in stateful
    assert "Fn::ImportValue" in stateless
    assert service.stacks.stateful in service.stacks.stateless.dependencies
    assert service.stacks.stateless not in service.stacks.stateful.dependencies


def test_no_secret_value_in_any_environment_variable_or_output(service: SynthesizedService) -> None:
    for stack in (service.stacks.stateful, service.stacks.stateless):
        template = service.template_json(stack)
        exposed = json.dumps([r["Properties"].get("Environment") for r in template["Resources"].values()
                              if r["Type"] == "AWS::Lambda::Function"] + [template.get("Outputs", {})])
        assert "SecretString" not in exposed and "resolve:secretsmanager" not in exposed
        assert not re.search(r"PASSWORD|password", exposed)


def test_api_function_uses_proxy_with_iam_and_bounded_concurrency(service: SynthesizedService) -> None:
    stateless = service.stacks.stateless
    variables = service.template(stateless).find_resources("AWS::Lambda::Function")[
        stateless.get_logical_id(stateless.api_function.function.node.default_child)]["Properties"]["Environment"]["Variables"]
    assert {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER"} <= set(variables)
    assert stateless.api_function.reserved_concurrent_executions is not None
    assert service.stacks.stateful.database.budget_errors() == []


def test_borrow_timeout_is_below_every_connected_function_timeout(service: SynthesizedService) -> None:
    stateless = service.stacks.stateless
    borrow = service.stacks.stateful.database.borrow_timeout.to_seconds()
    assert all(borrow < fn.timeout.to_seconds() for fn in (stateless.api_function, stateless.migrate_function))


def test_several_stages_and_regions_from_context(tmp_path: Path) -> None:
    # GIVEN two stages in two regions WHEN synthesized from context alone
    service = synthesize_service(tmp_path, stages="dev:eu-west-1,prod:us-east-1")
    # THEN each stage has its own stateful + stateless pair in its own environment
    stacks = {artifact.stack_name: artifact.environment.region for artifact in service.assembly.stacks}
    assert stacks == {"Users-dev-Stateful": "eu-west-1", "Users-dev-Stateless": "eu-west-1",
                      "Users-prod-Stateful": "us-east-1", "Users-prod-Stateless": "us-east-1"}


@pytest.mark.parametrize("text", ["dev", "Dev:eu-west-1", "dev:europe", "dev:eu-west-1,dev:us-east-1"])
def test_invalid_stages_context_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="context stages"):
        parse_stages(text)


def test_stages_context_parses() -> None:
    assert parse_stages("dev:eu-west-1, prod:us-east-1") == [Stage("dev", "eu-west-1"), Stage("prod", "us-east-1")]


def test_realtime_variant_adds_the_websocket_api_nat_and_broadcast_grants(realtime_service: SynthesizedService) -> None:
    # GIVEN -c realtime=true (synthesized with cdk-nag on: it passed, or the fixture would have raised)
    stateless, stateful = realtime_service.stacks.stateless, realtime_service.stacks.stateful
    template = realtime_service.template(stateless)
    template.resource_count_is("AWS::ApiGatewayV2::Api", 2)
    realtime_service.template(stateful).resource_count_is("AWS::EC2::NatGateway", 1)
    # THEN the API and the worker may broadcast, and know where to
    for function in (stateless.api_function, stateless.worker_function, stateless.websocket_function):
        variables = template.find_resources("AWS::Lambda::Function")[
            stateless.get_logical_id(function.function.node.default_child)]["Properties"]["Environment"]["Variables"]
        assert "WEBSOCKET_CALLBACK_URL" in variables
    assert stateless.websocket_function.reserved_concurrent_executions == 10
    assert realtime_service.stacks.stateful.database.budget_errors() == []


def test_default_service_has_no_websocket_api_and_no_nat(service: SynthesizedService) -> None:
    assert service.stacks.stateless.websocket_api is None
    service.template(service.stacks.stateful).resource_count_is("AWS::EC2::NatGateway", 0)


def api_asset(service: SynthesizedService) -> Path:
    """The synthesized asset directory of the API function's code."""
    stateless = service.stacks.stateless
    code = service.template_json(stateless)["Resources"][
        stateless.get_logical_id(stateless.api_function.function.node.default_child)]["Properties"]["Code"]
    return service.outdir / f"asset.{code['S3Key'].removesuffix('.zip')}"


def test_the_deployed_asset_holds_the_handler_package_and_aarch64_dependencies_without_boto(service: SynthesizedService) -> None:
    from tests.constructs.test_bundling import elf_machines

    asset = api_asset(service)
    names = {path.name for path in asset.iterdir()}
    assert {"example", "lambda_src", "psycopg", "psycopg_binary"} <= names
    assert not {"boto3", "botocore"} & names and not (asset / "devtools").exists()
    assert (asset / "example" / "http.py").is_file()
    assert (asset / "example" / "migrations" / "0001_schema.sql").is_file()
    assert elf_machines(asset) == {"aarch64"}


def test_the_example_is_bundled_as_a_consumer_package_on_the_installed_runtime(service: SynthesizedService) -> None:
    # GIVEN the example's asset, as make synth builds it from lambda_src/example and its requirements.txt
    asset = api_asset(service)
    stateless = service.stacks.stateless
    handlers = {function.node.id: service.template(stateless).find_resources("AWS::Lambda::Function")[
        stateless.get_logical_id(function.function.node.default_child)]["Properties"]["Handler"]
        for function in (stateless.api_function, stateless.worker_function, stateless.schedule_function,
                         stateless.migrate_function)}
    # THEN the handlers are the example package's own, and the runtime's entry point for migrations
    assert handlers == {"ApiFunction": "example.http.handler", "WorkerFunction": "example.worker.handler",
                        "ScheduleFunction": "example.schedule.handler", "MigrateFunction": "lambda_src.migrate.handler"}
    # AND the runtime is an installed distribution (pip built it), not a copy of the checkout's source tree
    assert [path.name for path in asset.glob("lambda_src-*.dist-info")] == ["lambda_src-0.1.0.dist-info"]
    assert (asset / "lambda_src" / "migrations" / "0001_runtime_tables.sql").is_file()
    assert not (asset / "lambda_src" / "example").exists() and not (asset / "lambda_src" / "pyproject.toml").exists()
    assert not (asset / "example" / "requirements.txt").exists()


def test_the_example_handler_runs_from_its_asset_alone(service: SynthesizedService, tmp_path: Path) -> None:
    import subprocess
    import sys

    from devtools.runtime_api import RicWorker
    from tests.lambda_src.events import body_of, v2

    asset = api_asset(service)
    # GIVEN a process whose only import path is the asset (as /var/task): its runtime is the installed one
    imports = subprocess.run(
        [sys.executable, "-c", "import importlib.util, example.http, lambda_src\n"
         "print(lambda_src.__file__, importlib.util.find_spec('lambda_src.example'))"],
        cwd=asset, env={"PYTHONPATH": str(asset), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert imports.returncode == 0, imports.stderr
    assert imports.stdout.split() == [str(asset / "lambda_src" / "__init__.py"), "None"]
    # WHEN the API handler runs under awslambdaric with the asset as its task root and requests needing no
    # database arrive
    worker = RicWorker("example.http.handler", {"AWS_LAMBDA_LOG_FORMAT": "JSON"}, task_root=asset,
                       output=tmp_path / "function.log")
    try:
        missing = worker.invoke(v2("GET", "/no-such-route"), 30.0)
        anonymous = worker.invoke(v2("GET", "/users", caller=None), 30.0)
    finally:
        worker.close()
    # THEN the example's router answers each, as it does deployed
    assert missing.error is None and anonymous.error is None, (tmp_path / "function.log").read_text()
    assert (missing.result["statusCode"], body_of(missing.result)["error"]["code"]) == (404, "not_found")
    assert anonymous.result["statusCode"] == 401  # /users serves IAM callers only


def test_domains_and_hosted_zone_context_parse() -> None:
    from stacks.stages import HostedZone, parse_domains, parse_hosted_zone

    assert parse_domains("prod:users.example.com, staging:users.staging.example.com") == {
        "prod": "users.example.com", "staging": "users.staging.example.com"}
    assert parse_domains(None) == {} and parse_hosted_zone(None) is None
    assert parse_hosted_zone("Z0123456789ABCDEFGHIJ:example.com") == HostedZone("Z0123456789ABCDEFGHIJ", "example.com")
    for bad in ("prod", "prod:a.example.com,prod:b.example.com", "Prod:x.example.com"):
        with pytest.raises(ValueError, match="context domains"):
            parse_domains(bad)
    with pytest.raises(ValueError, match="context hosted_zone"):
        parse_hosted_zone("example.com")


def test_a_release_stage_answers_on_its_domain_and_dev_on_none(service, release_service) -> None:  # type: ignore[no-untyped-def]
    # GIVEN -c domains=prod:users.example.com and the zone  THEN only prod's HTTP API has the domain
    assert service.stacks.stateless.http_api.domain is None
    domain = release_service.stacks.stateless.http_api.domain
    assert domain is not None and domain.url == "https://users.example.com/" and domain.record is not None
    template = release_service.template_json(release_service.stacks.stateless)
    (properties,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::DomainName"]
    assert properties["DomainNameConfigurations"][0]["SecurityPolicy"] == "TLS_1_2"


def test_one_hosted_zone_serves_only_the_stages_given_a_domain(tmp_path: Path) -> None:
    # GIVEN two stages, a domain for prod only, and the zone (shared by every stage)
    service = synthesize_service(tmp_path, stages="dev:eu-west-1,prod:us-east-1", domains="prod:users.example.com",
                                 hosted_zone="Z0123456789ABCDEFGHIJ:example.com")
    # THEN dev has no domain and prod has its own
    dev, prod = (stage.stateless.http_api for stage in service.all_stages)
    assert dev.domain is None and prod.domain is not None and prod.domain.url == "https://users.example.com/"


def test_the_api_contract_names_the_authorization_the_deployed_api_has(service: SynthesizedService) -> None:
    # GIVEN the synthesized HTTP API's routes, and the authorization they have
    from lambda_src.example.http import API_AUTHORIZATION, openapi
    from lambda_src.web.openapi import GATEWAYS

    routes = [resource["Properties"] for resource in service.template_json(service.stacks.stateless)["Resources"].values()
              if resource["Type"] == "AWS::ApiGatewayV2::Route"]
    assert routes and {route.get("AuthorizationType") for route in routes} == {
        {"IAM": "AWS_IAM", "JWT": "JWT", "LAMBDA": "CUSTOM"}[API_AUTHORIZATION]}
    # WHEN the example's OpenAPI document is built THEN every operation, /health included, requires that
    # gateway's scheme and documents the gateway's own refusals: the document says what the deployed API
    # does (the stack and the handler package state the authorization apart)
    scheme, statuses = GATEWAYS[API_AUTHORIZATION]
    operations = [operation for operations in openapi()["paths"].values() for operation in operations.values()]
    assert operations and all(operation["security"] == [{scheme: []}] for operation in operations)
    assert all(str(status) in operation["responses"] for operation in operations for status in statuses)
