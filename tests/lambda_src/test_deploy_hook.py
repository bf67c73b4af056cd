"""The pre-traffic hook: one smoke request to the new version, its outcome reported to CodeDeploy.

The "new version" here is the real HTTP handler run in-process on the event the hook sends, against
the test database: what passes here is what the deployed hook sees from a healthy version.
"""
from __future__ import annotations

import io
import json
import logging
import socket
from typing import Any

import pytest

from lambda_src import deploy_hook
from lambda_src.example import http
from tests.lambda_src.conftest import FakeContext

TARGET = "arn:aws:lambda:eu-west-1:123456789012:function:Users-prod-ApiFunction:7"
EVENT = {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "eyJhIjoiYiJ9"}


class FakeLambda:
    """boto3's Lambda client, answering Invoke with ``answer(kwargs)``."""

    def __init__(self, answer: Any) -> None:
        self.answer, self.calls = answer, []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return self.answer(kwargs)


class FakeCodeDeploy:
    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []

    def put_lifecycle_event_hook_execution_status(self, **kwargs: Any) -> dict[str, Any]:
        self.reports.append(kwargs)
        return {"lifecycleEventHookExecutionId": kwargs["lifecycleEventHookExecutionId"]}


def the_handler(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The new version: the real HTTP handler, given the hook's payload as Lambda would."""
    response = http.handler(json.loads(kwargs["Payload"]), FakeContext())
    return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(response).encode())}


def run(answer: Any, env: dict[str, str] | None = None) -> tuple[str, FakeLambda, FakeCodeDeploy]:
    lambda_client, codedeploy_client = FakeLambda(answer), FakeCodeDeploy()
    status = deploy_hook.handler(EVENT, FakeContext(), lambda_client=lambda_client,
                                 codedeploy_client=codedeploy_client,
                                 env={deploy_hook.TARGET_ENV: TARGET} if env is None else env)
    return status, lambda_client, codedeploy_client


def test_a_healthy_version_passes_and_the_deployment_goes_on(db: str) -> None:
    # GIVEN a new version whose /health reaches the database
    # WHEN the hook runs
    status, lambda_client, codedeploy_client = run(the_handler)
    # THEN it invoked that version, synchronously, with GET /health, and reported Succeeded to its deployment
    (call,) = lambda_client.calls
    assert call["FunctionName"] == TARGET and call["InvocationType"] == "RequestResponse"
    sent = json.loads(call["Payload"])
    assert (sent["requestContext"]["http"]["method"], sent["rawPath"]) == ("GET", "/health")
    assert status == "Succeeded"
    assert codedeploy_client.reports == [{"deploymentId": "d-ABCDEF123", "lifecycleEventHookExecutionId": "eyJhIjoiYiJ9",
                                          "status": "Succeeded"}]


def test_a_version_that_cannot_reach_the_database_fails_the_deployment(db: str, monkeypatch: pytest.MonkeyPatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a new version configured with a database port nothing listens on
    from lambda_src import config
    from lambda_src.db import connection

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("DB_PORT", str(closed_port))
    config.reload()
    connection.reset()
    # WHEN the hook runs
    logger = logging.getLogger("lambda_src")
    logger.addHandler(caplog.handler)
    try:
        status, _, codedeploy_client = run(the_handler)
    finally:
        logger.removeHandler(caplog.handler)
    # THEN it reports Failed (CodeDeploy keeps the old version) and logs what it got
    assert status == "Failed" and codedeploy_client.reports[0]["status"] == "Failed"
    (record,) = [r for r in caplog.records if r.getMessage() == "smoke request FAILED"]
    assert record.levelname == "ERROR"
    assert record.smoke["status"] == 503 and record.smoke["expected"] == 200  # type: ignore[attr-defined]
    assert record.smoke["request"] == "GET /health" and record.smoke["deploymentId"] == "d-ABCDEF123"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("answer", "expected"), [
    (lambda kw: {"StatusCode": 200, "FunctionError": "Unhandled",
                 "Payload": io.BytesIO(b'{"errorType": "ImportModuleError", "errorMessage": "No module named x"}')},
     "functionError"),
    (lambda kw: {"StatusCode": 200, "Payload": io.BytesIO(b'{"statusCode": 500, "body": "{}"}')}, "status"),
    (lambda kw: (_ for _ in ()).throw(RuntimeError("AccessDeniedException")), "error"),
], ids=["function error", "500", "invoke refused"])
def test_any_other_answer_fails_the_deployment(answer: Any, expected: str, caplog: pytest.LogCaptureFixture) -> None:
    status, _, codedeploy_client = run(answer)
    assert status == "Failed" and codedeploy_client.reports[0]["status"] == "Failed"


def test_without_a_target_it_still_reports_failed_rather_than_leaving_codedeploy_waiting() -> None:
    status, lambda_client, codedeploy_client = run(the_handler, env={})
    assert status == "Failed" and lambda_client.calls == [] and codedeploy_client.reports[0]["status"] == "Failed"


def test_the_smoke_request_is_configurable() -> None:
    answer = lambda kw: {"StatusCode": 200, "Payload": io.BytesIO(b'{"statusCode": 204, "body": ""}')}  # noqa: E731
    status, lambda_client, _ = run(answer, env={deploy_hook.TARGET_ENV: TARGET, "SMOKE_METHOD": "head",
                                                "SMOKE_PATH": "/ready", "SMOKE_EXPECT_STATUS": "204"})
    sent = json.loads(lambda_client.calls[0]["Payload"])
    assert status == "Succeeded" and (sent["requestContext"]["http"]["method"], sent["rawPath"]) == ("HEAD", "/ready")
