"""What builds the metrics: one function per monitored resource, returning ``{name: metric}``.

Nothing here creates an alarm or a widget; :mod:`.alarms` and :mod:`.dashboard` do that.
"""
from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sqs as sqs

from ..http_api import LambdaHttpApi
from . import defaults


def function_metrics(function: lambda_.IFunction) -> dict[str, cloudwatch.IMetric]:
    """Errors and throttles (sums), p99 duration, and concurrent executions (maximum) per minute."""
    period = defaults.PERIOD
    return {
        "errors": function.metric_errors(period=period, statistic="Sum"),
        "throttles": function.metric_throttles(period=period, statistic="Sum"),
        "duration_p99": function.metric_duration(period=period, statistic="p99"),
        "concurrency": function.metric("ConcurrentExecutions", period=period, statistic="Maximum"),
    }


def http_api_metrics(api: LambdaHttpApi) -> dict[str, cloudwatch.IMetric]:
    """5xx responses (sum) and p99 latency per minute, on the API's ApiId dimension."""
    period = defaults.PERIOD
    return {
        "5xx": api.api.metric_server_error(period=period, statistic="Sum"),
        "latency_p99": api.api.metric_latency(period=period, statistic="p99"),
    }


def queue_metrics(queue: sqs.IQueue, dead_letter_queue: sqs.IQueue | None) -> dict[str, cloudwatch.IMetric]:
    """Visible messages in the dead-letter queue (when known) and the age of the oldest message in the
    queue (maxima)."""
    period = defaults.PERIOD
    found = {"oldest_age": queue.metric_approximate_age_of_oldest_message(period=period, statistic="Maximum")}
    if dead_letter_queue is not None:
        found = {"dlq_visible": dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period, statistic="Maximum"), **found}
    return found


def dead_letter_metrics(dead_letter_queue: sqs.IQueue) -> dict[str, cloudwatch.IMetric]:
    """Visible messages (maximum) in a dead-letter queue of its own."""
    return {"dead letters": dead_letter_queue.metric_approximate_number_of_messages_visible(
        period=defaults.PERIOD, statistic="Maximum")}


def proxy_metrics(proxy: rds.IDatabaseProxy | str) -> dict[str, cloudwatch.IMetric]:
    """Client connections (maximum) of an RDS Proxy, given as the proxy or its name."""
    name = proxy if isinstance(proxy, str) else proxy.db_proxy_name
    return {"client_connections": cloudwatch.Metric(
        namespace="AWS/RDS", metric_name="ClientConnections", dimensions_map={"ProxyName": name},
        period=defaults.PERIOD, statistic="Maximum")}
