"""What turns metrics into alarms: thresholds, comparisons and "what to check first", as plain specs.

Each function takes the metrics :mod:`.metrics` built and returns :class:`AlarmSpec` values;
:class:`~constructs_lib.monitoring.ServiceMonitoring` creates the CloudWatch alarms from them and
points their actions at its topic.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch

from . import defaults

_AT_OR_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm to create: ``<label><suffix>`` is its construct id."""

    suffix: str
    metric: cloudwatch.IMetric
    threshold: float
    description: str
    comparison: cloudwatch.ComparisonOperator = _AT_OR_ABOVE
    evaluation_periods: int = defaults.EVALUATION_PERIODS
    datapoints_to_alarm: int = defaults.DATAPOINTS_TO_ALARM
    #: No data means no invocations / no messages: nothing is failing.
    treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING
    #: A sign that a new version is bad: stops a gradual deployment and rolls it back (see
    #: :attr:`ServerlessFunction.deployment_group`). Load-driven alarms (throttles, concurrency) are not.
    rollback: bool = False


def function_alarms(label: str, found: Mapping[str, cloudwatch.IMetric], timeout_seconds: float,
                    reserved_concurrent_executions: int | None) -> list[AlarmSpec]:
    """Errors ≥ 1, throttles ≥ 1, p99 duration ≥ 80% of ``timeout_seconds``, and — only with reserved
    concurrency — concurrent executions ≥ 80% of it. Errors and p99 duration are rollback alarms."""
    specs = [
        AlarmSpec("Errors", found["errors"], 1,
                  f"{label}: invocations are failing. Check the function's log group for ERROR records "
                  "and the requestId of the first failure.", rollback=True),
        AlarmSpec("Throttles", found["throttles"], 1,
                  f"{label}: invocations are throttled. Check reserved concurrency and the account "
                  "concurrency limit; a traffic spike or a retry storm is the usual cause."),
        AlarmSpec("DurationP99", found["duration_p99"], timeout_seconds * 1000 * defaults.DURATION_SHARE_OF_TIMEOUT,
                  f"{label}: p99 duration is at 80% of the {timeout_seconds:g} s timeout. Check "
                  "database latency (proxy borrow time, slow queries) before raising the timeout.", rollback=True),
    ]
    if reserved_concurrent_executions:
        specs.append(AlarmSpec(
            "Concurrency", found["concurrency"],
            max(1, int(reserved_concurrent_executions * defaults.CONCURRENCY_SHARE)),
            f"{label}: concurrent executions are near the reserved {reserved_concurrent_executions}. "
            "Check for a traffic surge or slow invocations; raising it also raises database connections."))
    return specs


def http_api_alarms(label: str, found: Mapping[str, cloudwatch.IMetric], latency_threshold_ms: int) -> list[AlarmSpec]:
    """5xx responses ≥ 1 a minute, p99 latency ≥ ``latency_threshold_ms``; both are rollback alarms."""
    return [
        AlarmSpec("5xx", found["5xx"], defaults.API_5XX_THRESHOLD,
                  f"{label}: 5xx responses. Check the API function's Errors alarm and logs first, then "
                  "the access log's integrationError field.", rollback=True),
        AlarmSpec("LatencyP99", found["latency_p99"], latency_threshold_ms,
                  f"{label}: p99 latency above {latency_threshold_ms} ms. Check the function's duration "
                  "and cold starts (integrationLatency in the access log).", rollback=True),
    ]


def queue_alarms(label: str, found: Mapping[str, cloudwatch.IMetric], oldest_message_seconds: int) -> list[AlarmSpec]:
    """Any visible message in the dead-letter queue (> 0, first minute; when its metric is in ``found``),
    oldest message ≥ ``oldest_message_seconds``."""
    dead_letters = [] if "dlq_visible" not in found else [
        AlarmSpec("DeadLetters", found["dlq_visible"], 0,
                  f"{label}: messages reached the dead-letter queue. Read one (its body and the worker's "
                  "logs for its messageId), fix the cause, then redrive it to the source queue.",
                  comparison=_ABOVE, evaluation_periods=1, datapoints_to_alarm=1)]
    return [
        *dead_letters,
        AlarmSpec("OldestMessage", found["oldest_age"], oldest_message_seconds,
                  f"{label}: the oldest message is {oldest_message_seconds} s old. Check the worker's "
                  "errors and throttles, and its maximum concurrency against the backlog."),
    ]


def dead_letter_alarm(label: str, found: Mapping[str, cloudwatch.IMetric], check_first: str | None = None) -> AlarmSpec:
    """Any visible message (> 0, first minute) in a dead-letter queue of its own."""
    return AlarmSpec("DeadLetters", found["dead letters"], 0,
                     f"{label}: " + (check_first or defaults.DEAD_LETTERS_CHECK_FIRST),
                     comparison=_ABOVE, evaluation_periods=1, datapoints_to_alarm=1)


def proxy_alarms(label: str, found: Mapping[str, cloudwatch.IMetric], budget: int) -> list[AlarmSpec]:
    """Client connections ≥ 80% of the connection ``budget``."""
    threshold = max(1, int(budget * defaults.PROXY_CONNECTION_SHARE))
    return [AlarmSpec("ClientConnections", found["client_connections"], threshold,
                      f"{label}: {threshold} client connections, 80% of the {budget}-connection budget. "
                      "Check which function's concurrency grew and its connections per container.")]
