"""An outside team's own CDK app, synthesized with the CDK CLI as they run it: what they see.

Each app lives in a fresh directory with a minimal ``cdk.json`` (the app command, no feature flags, no
context) and imports ``constructs_lib`` as an installed library would be imported. No AWS credentials.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cdk_helpers import PROJECT

CDK = PROJECT / "node_modules" / ".bin" / "cdk"
ACCOUNT, REGION = "111122223333", "eu-west-1"
#: What the CLI would have recorded after one synth with credentials for the account.
LOOKED_UP_ZONES = {f"availability-zones:account={ACCOUNT}:region={REGION}": [f"{REGION}a", f"{REGION}b", f"{REGION}c"]}
#: Signs of a stack trace, Python's or the jsii kernel's.
TRACE_MARKERS = ("Traceback", "program.js", "jsii", "at Kernel", 'File "')

APP_HEADER = f'''
import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs_lib import QueueWorker, ServerlessDatabase, ServerlessFunction, ServiceNetwork

app = cdk.App()
stack = cdk.Stack(app, "Consumer", env=cdk.Environment(account="{ACCOUNT}", region="{REGION}"))
code = lambda_.Code.from_inline("def handler(event, context):\\n    return {{}}\\n")
'''


def error_block(output: str, rule: str) -> str:
    """The lines `cdk synth` printed for the error of ``rule``: from its ``ERROR`` line to its ``Rule`` line."""
    end = output.index(f"Rule {rule}")
    return output[output.rindex("ERROR ", 0, end):end]


def cdk_synth(directory: Path, app_body: str, context: dict | None = None) -> subprocess.CompletedProcess[str]:
    """Write the app and a minimal cdk.json into ``directory`` and run ``cdk synth`` there, without credentials."""
    (directory / "app.py").write_text(APP_HEADER + app_body + "\napp.synth()\n")
    (directory / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
    if context is not None:
        (directory / "cdk.context.json").write_text(json.dumps(context))
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_") or key == "AWS_CA_BUNDLE"}
    env.update(PYTHONPATH=str(PROJECT), HOME=str(directory), CDK_DISABLE_VERSION_CHECK="1",
               CDK_DISABLE_CLI_TELEMETRY="true", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=str(directory / "no-aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(directory / "no-aws-credentials"),
               # the CDK's built-in CloudFormation rules check of every template (~7 s a run here) reports
               # warnings only and prints no annotation differently
               CDK_VALIDATION="false")
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("PYTEST_VERSION", None)  # CDK changes how it reports validation errors under pytest
    return subprocess.run([str(CDK), "synth", "--quiet", "--no-notices"], cwd=directory, env=env,
                          capture_output=True, text=True, timeout=600)


def test_budget_errors_print_as_cdk_synth_errors_and_a_queue_workers_bound_counts(tmp_path: Path) -> None:
    # GIVEN a worker bounded by its QueueWorker (granted before the QueueWorker exists), and a
    # function nothing bounds
    body = '''
network = ServiceNetwork(stack, "Network")
database = ServerlessDatabase(stack, "Database", vpc=network.vpc, vpc_subnets=network.data_subnets)
worker = ServerlessFunction(stack, "Worker", code=code, handler="index.handler", timeout=Duration.seconds(30),
                            **network.function_placement)
database.grant_connect(worker)
QueueWorker(stack, "Jobs", function=worker, max_concurrency=5)
reports = ServerlessFunction(stack, "Reports", code=code, handler="index.handler", **network.function_placement)
database.grant_connect(reports)
'''
    # WHEN the team runs cdk synth
    result = cdk_synth(tmp_path, body, context=LOOKED_UP_ZONES)
    output = result.stdout + result.stderr
    # THEN it fails on the unbounded function only, naming the props that bound it, with no stack trace
    assert result.returncode != 0, output
    assert "connection budget: Consumer/Reports connects to the database with unbounded concurrency" in output
    assert "set reserved_concurrent_executions on its ServerlessFunction" in output
    assert "accept_unbounded_concurrency=True" in output
    assert "Consumer/Worker connects" not in output
    assert not [marker for marker in TRACE_MARKERS if marker in output], output
    assert "Consumer/Database" in error_block(output, "ServerlessDatabase::ConnectionBudget")


def test_a_network_without_looked_up_zones_names_cdk_context_json(tmp_path: Path) -> None:
    # GIVEN a fresh app with no cdk.context.json and no AWS credentials
    body = 'network = ServiceNetwork(stack, "Network")\n'
    # WHEN the team runs cdk synth
    result = cdk_synth(tmp_path, body)
    output = result.stdout + result.stderr
    # THEN it fails saying what to put into cdk.context.json, with no stack trace
    assert result.returncode != 0, output
    key = next(iter(LOOKED_UP_ZONES))
    assert f"Need to perform AWS calls for account {ACCOUNT}" in output  # CDK's own error, still there
    assert f'ServiceNetwork spans max_azs=2 availability zones, which the CDK reads from the context value "{key}"' in output
    assert f"write it into cdk.context.json beside cdk.json yourself: {json.dumps(LOOKED_UP_ZONES)}" in output
    assert not [marker for marker in TRACE_MARKERS if marker in error_block(output, "ServiceNetwork::AvailabilityZones")]
    assert "Traceback" not in output  # (CDK's own error is printed after a jsii-internal file location)
