"""The docs/constructs examples synthesize as written, and the constructs pass cdk-nag and cfn-lint."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from constructs_lib import (LambdaHttpApi, QueueWorker, ScheduledTask, ServerlessFunction, ServiceMonitoring,
                            WorkQueue)
from constructs_lib.compliance import acknowledge, acknowledge_each
from constructs_lib.compliance import add_checks
from tests.cdk_helpers import PROJECT, cdk_context
from tests.stacks.scanners import load_skips

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def docs_example(name: str) -> str:
    text = (PROJECT / "docs" / "constructs" / f"{name}.md").read_text()
    match = re.search(re.escape(f"<!-- example: {name} -->") + r"\s*```python\n(.*?)```", text, re.S)
    assert match, f"docs/constructs/{name}.md has its example"
    return match.group(1)


@pytest.mark.parametrize(("name", "stack", "expected"), [
    ("queue_worker", "MyQueueWorker", {"AWS::SQS::Queue": 2, "AWS::SQS::QueuePolicy": 2,
                                       "AWS::Lambda::EventSourceMapping": 1}),
    ("scheduled_task", "MyScheduledTask", {"AWS::Scheduler::Schedule": 1, "AWS::Lambda::EventInvokeConfig": 1,
                                           "AWS::SQS::Queue": 2}),
    ("monitoring", "MyMonitoring", {"AWS::CloudWatch::Dashboard": 1, "AWS::SNS::Topic": 1,
                                    "AWS::CloudWatch::Alarm": 3 + 4 + 3 + 2 + 2 + 2 + 1}),
])
def test_docs_example_synthesizes(monkeypatch, name: str, stack: str, expected: dict) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a docs example, run from the project directory that holds the handler package
    monkeypatch.chdir(PROJECT)
    namespace: dict = {}
    # WHEN it runs as a user's app.py would
    exec(compile(docs_example(name), f"docs/constructs/{name}.md", "exec"), namespace)
    # THEN it synthesized what the page describes
    template = Template.from_stack(namespace["app"].node.find_child(stack))
    for kind, count in expected.items():
        template.resource_count_is(kind, count)
    if name == "queue_worker":
        template.has_resource_properties("AWS::Lambda::EventSourceMapping",
                                         {"FunctionResponseTypes": ["ReportBatchItemFailures"]})


def build_every_option(app: cdk.App) -> cdk.Stack:
    """One stack using each construct with its options: KMS, FIFO, aliases, an email, a proxy by name."""
    stack = cdk.Stack(app, "Workers", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    api_fn = ServerlessFunction(stack, "Api", code=INLINE, handler="index.handler", reserved_concurrent_executions=10)
    worker_fn = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30),
                                   reserved_concurrent_executions=5)
    fifo_fn = ServerlessFunction(stack, "FifoWorker", code=INLINE, handler="index.handler", publish_alias=True)
    job_fn = ServerlessFunction(stack, "Job", code=INLINE, handler="index.handler", timeout=Duration.minutes(2))
    alias_job_fn = ServerlessFunction(stack, "AliasJob", code=INLINE, handler="index.handler", publish_alias=True)
    # inline code is the consumer's own: the library leaves the runtime finding to it (see test_compliance)
    acknowledge_each((fn.function, finding, "This fixture's inline handler is plain Python with no compiled wheels; "
                      "Python 3.13 is the runtime these construct tests pin.")
                     for fn in (api_fn, worker_fn, fifo_fn, job_fn, alias_job_fn)
                     for finding in ("Serverless-LambdaLatestVersion", "AwsSolutions-L1"))
    api = LambdaHttpApi(stack, "Http", function=api_fn)
    key = kms.Key(stack, "QueueKey", enable_key_rotation=True)
    jobs = QueueWorker(stack, "Jobs", function=worker_fn, batch_size=100, max_batching_window=Duration.seconds(5),
                       max_concurrency=5, encryption_key=key)
    orders = QueueWorker(stack, "Orders", function=fifo_fn, fifo=True)
    shared = WorkQueue(stack, "Shared", consumer_timeout=Duration.seconds(30))
    jobs.grant_send_to(api_fn)
    orders.grant_send_to(api_fn, env_var="ORDERS_QUEUE_URL")
    shared.grant_send_to(api_fn, env_var="SHARED_QUEUE_URL")
    nightly = ScheduledTask(stack, "Nightly", function=job_fn, schedule="cron(0 3 * * ? *)", time_zone="Europe/Paris",
                            flexible_window=Duration.minutes(15))
    hourly = ScheduledTask(stack, "Hourly", function=alias_job_fn, schedule="rate(1 hour)")
    monitoring = ServiceMonitoring(stack, "Monitoring", service_name="workers", alarm_email="ops@example.com")
    for function in (api_fn, worker_fn, fifo_fn, job_fn, alias_job_fn):
        monitoring.monitor_function(function)
    monitoring.monitor_http_api(api)
    monitoring.monitor_queue_worker(jobs)
    monitoring.monitor_queue_worker(orders)
    monitoring.monitor_queue(shared, "Shared")
    monitoring.monitor_scheduled_task(nightly)
    monitoring.monitor_scheduled_task(hourly)
    monitoring.monitor_proxy("users-proxy", budget=100)
    monitoring.add_alarm_status_widget()
    # the app's own decision, not the constructs': an API function invoked synchronously
    acknowledge(api_fn.function, "Serverless-LambdaDLQ",
                "Invoked synchronously by the HTTP API: a failure returns to the caller, so an asynchronous "
                "dead-letter queue would never receive anything.")
    return stack


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, cdk.Stack]:
    outdir = tmp_path_factory.mktemp("constructs-nag")
    app = cdk.App(context=cdk_context(), outdir=str(outdir))
    stack = build_every_option(app)
    add_checks(app)
    app.synth()  # raises ValidationFailed listing any unacknowledged cdk-nag finding
    return outdir, stack


def test_cdk_nag_passes_with_only_specific_acknowledgements(checked: tuple[Path, cdk.Stack]) -> None:
    outdir, _ = checked
    found = [(rule, reason) for metadata in outdir.glob("*.metadata.json")
             for entries in json.loads(metadata.read_text()).values() for entry in entries
             if entry.get("type") == "aws:cdk:acknowledged-rules" for rule, reason in entry["data"].items()]
    rules = {rule for rule, _ in found}
    assert {"AwsSolutions::AwsSolutions-SQS3", "Serverless::Serverless-LambdaEventSourceMappingDestination"} <= rules
    for rule, reason in found:
        assert "IAM5" not in rule or "[" in rule, f"{rule}: IAM5 must name the finding"
        assert len(reason) >= 40, f"{rule}: reason too short to be specific: {reason!r}"


def test_cfn_lint_has_no_errors_or_warnings(checked: tuple[Path, cdk.Stack]) -> None:
    outdir, stack = checked
    template = outdir / f"{stack.artifact_id}.template.json"
    # the rules scanners/skips.yaml skips on every resource (what CDK itself writes)
    everywhere = sorted({skip.rule for skip in load_skips() if skip.scanner == "cfn-lint" and skip.resources == ("*",)})
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--ignore-checks", *everywhere, "--", str(template)],
        capture_output=True, text=True, cwd=PROJECT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
