"""References from one stack to what the constructs create in another are strong, whatever the app's flag says.

CDK warns an app without ``@aws-cdk/core:defaultCrossStackReferences`` to move to "weak" references
(``Fn::GetStackOutput``). An outside team did, and cfn-lint failed (E1022): a weak reference to the
proxy's ARN sits inside the ``Fn::Split`` of the ``rds-db:connect`` grant. The constructs now ask for
strong references (``Fn::ImportValue``) to their resources, so the flag only governs the app's own.
"""
from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_

from constructs_lib import (DatabaseMigrations, LambdaHttpApi, QueueWorker, ScheduledTask, ServerlessDatabase,
                            ServerlessFunction, ServiceMonitoring, ServiceNetwork, WorkQueue)
from tests.cdk_helpers import PROJECT, cdk_context
from tests.stacks.scanners import cfn_lint_findings

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")
REFERENCE_FLAG = "@aws-cdk/core:defaultCrossStackReferences"


def consumer_app(outdir: Path, strength: str) -> dict[str, Path]:
    """A team's app on the constructs: data in one stack, functions in another using all of it."""
    app = cdk.App(outdir=str(outdir), context=cdk_context(**{REFERENCE_FLAG: strength}))
    env = cdk.Environment(account="123456789012", region="eu-west-1")
    data = cdk.Stack(app, "Team-Data", env=env)
    network = ServiceNetwork(data, "Network")
    database = ServerlessDatabase(data, "Database", vpc=network.vpc, vpc_subnets=network.data_subnets,
                                  https_egress=network.https_egress)
    queue = WorkQueue(data, "Jobs")
    api = cdk.Stack(app, "Team-Api", env=env)
    api.add_dependency(data)
    function = ServerlessFunction(api, "Api", code=INLINE, handler="index.handler", reserved_concurrent_executions=5,
                                  **network.function_placement)
    database.grant_connect(function)
    queue.grant_send_to(function)
    LambdaHttpApi(api, "Http", function=function)
    worker = ServerlessFunction(api, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30),
                                **network.function_placement)
    jobs = QueueWorker(api, "Worker-Jobs", function=worker, queue=queue, max_concurrency=2)
    database.grant_connect(worker)
    nightly = ServerlessFunction(api, "Nightly", code=INLINE, handler="index.handler",
                                 reserved_concurrent_executions=1, **network.function_placement)
    database.grant_connect(nightly)
    ScheduledTask(api, "NightlyTask", function=nightly, schedule="rate(1 day)")
    migrate = ServerlessFunction(api, "Migrate", code=INLINE, handler="index.handler", timeout=Duration.minutes(5),
                                 reserved_concurrent_executions=1, **network.function_placement)
    DatabaseMigrations(api, "Migrations", database=database, function=migrate,
                       cache_dir=outdir.parent / f"{outdir.name}-cache")
    monitoring = ServiceMonitoring(api, "Monitoring", service_name="team")
    monitoring.monitor_queue_worker(jobs)
    monitoring.monitor_proxy(database.proxy, database.connection_budget)
    assembly = app.synth()
    return {stack.stack_name: Path(assembly.directory) / stack.template_file for stack in assembly.stacks}


@pytest.fixture(scope="module")
def weak_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The consumer app with the flag at "weak", as CDK's warning recommends, synthesized once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(PROJECT)  # DatabaseMigrations finds the RDS CAs in node_modules here
        return consumer_app(tmp_path_factory.mktemp("weak") / "cdk.out", "weak")


def test_references_to_the_constructs_resources_are_imports_under_weak_references(
        weak_templates: dict[str, Path]) -> None:
    # GIVEN the consumer app with weak references as its default  WHEN synthesized
    api = weak_templates["Team-Api"].read_text()
    # THEN every reference to the data stack is an export/import, none a stack-output read
    assert "Fn::GetStackOutput" not in api
    assert api.count("Fn::ImportValue") >= 10


def test_cfn_lint_accepts_the_consumer_app_under_weak_references(weak_templates: dict[str, Path]) -> None:
    # cfn-lint's own errors (E1022 failed before); cfn-lint-serverless's ES rules are about the app's design
    errors = [f for f in cfn_lint_findings(list(weak_templates.values())) if re.fullmatch(r"E\d{4}", f.rule)]
    assert errors == []
