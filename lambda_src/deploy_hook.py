"""A CodeDeploy pre-traffic hook: one smoke request to the new version before any traffic shifts.

``ServerlessFunction(deployment=…, pre_traffic_hook=…)`` gives the hook the new version's ARN
(``DEPLOY_TARGET_VERSION_ARN``) and lets it invoke that version and report to that deployment group,
nothing more. The hook sends an HTTP API (payload 2.0) request, ``GET /health`` unless configured,
directly to the version, and reports ``Succeeded`` when the answer has the expected status,
``Failed`` otherwise: CodeDeploy then stops, the alias stays on the old version, and the stack
update fails. Every outcome is one log record ``smoke request …`` (what was sent, the status or
the function error, the time taken), the first thing to read after a failed deployment.

Configured by ``DEPLOY_TARGET_VERSION_ARN`` (set by the construct) and ``SMOKE_METHOD``,
``SMOKE_PATH``, ``SMOKE_EXPECT_STATUS``: see :mod:`lambda_src.environment`.
"""
from __future__ import annotations

import time
from typing import Any

from . import config, environment
from .json_codec import decode, encode
from .log import logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

TARGET_ENV = environment.DEPLOY_TARGET_VERSION_ARN
#: What CodeDeploy accepts as a hook's status.
SUCCEEDED, FAILED = "Succeeded", "Failed"


def smoke_event(method: str, path: str) -> dict[str, Any]:
    """An HTTP API payload 2.0 event as the ``$default`` route would send, without a caller: the
    route it asks for must be public (the hook holds no credentials for the API)."""
    now = time.time()
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"user-agent": "codedeploy-pre-traffic-hook", "accept": "application/json"},
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "codedeploy-pre-traffic-hook"},
                           "requestId": "pre-traffic-hook", "routeKey": "$default", "stage": "$default",
                           "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                           "timeEpoch": int(now * 1000)},
        "isBase64Encoded": False,
    }


def smoke(lambda_client: Any, target: str, method: str, path: str, expect: int) -> tuple[bool, dict[str, Any]]:
    """Invoke ``target`` with the smoke request; ``(passed, what to log)``."""
    started = time.perf_counter()
    record: dict[str, Any] = {"target": target, "request": f"{method} {path}", "expected": expect}
    try:
        answer = lambda_client.invoke(FunctionName=target, InvocationType="RequestResponse",
                                      Payload=encode(smoke_event(method, path)).encode())
        payload = answer["Payload"].read()
        record["functionError"] = answer.get("FunctionError")
        result = decode(payload or b"null")
        status = result.get("statusCode") if isinstance(result, dict) else None
        record["status"] = status
        record["body"] = str(result.get("body", ""))[:300] if isinstance(result, dict) else str(result)[:300]
        passed = record["functionError"] is None and status == expect
    except Exception as error:  # noqa: BLE001 - any failure to get an answer fails the deployment
        record["error"] = f"{type(error).__name__}: {error}"[:300]
        passed = False
    record["elapsedMs"] = round((time.perf_counter() - started) * 1000)
    return passed, record


def handler(event: dict[str, Any], context: Any, *, lambda_client: Any = None, codedeploy_client: Any = None,
            env: Mapping[str, str] | None = None) -> str:
    """CodeDeploy's ``BeforeAllowTraffic`` hook: test the new version, report the outcome, return it.

    :param env: the environment to read instead of this container's (tests).
    """
    settings = config.load() if env is None else config.Config(env)
    if lambda_client is None or codedeploy_client is None:
        import boto3

        lambda_client = lambda_client or boto3.client("lambda")
        codedeploy_client = codedeploy_client or boto3.client("codedeploy")
    target = settings.deploy_target_version_arn
    if target:
        passed, record = smoke(lambda_client, target, settings.smoke_method, settings.smoke_path,
                               settings.smoke_expect_status)
    else:
        passed, record = False, {"error": f"{TARGET_ENV} is not set"}
    status = SUCCEEDED if passed else FAILED
    record["deploymentId"] = event.get("DeploymentId")
    (logger.info if passed else logger.error)(f"smoke request {'passed' if passed else 'FAILED'}",
                                              extra={"smoke": record})
    codedeploy_client.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"], lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status)
    return status
