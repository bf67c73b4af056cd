"""Alarms that show trouble before users do, an SNS topic they notify, and one dashboard."""
from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ..errors import InvalidPropError
from ..function import ServerlessFunction
from ..http_api import LambdaHttpApi
from . import defaults, metrics


class ServiceMonitoring(Construct):
    """Alarms on functions, the HTTP API, queues and the proxy; a topic; one dashboard.

    Every alarm notifies ``topic`` and says in its description what to check first.

    :param service_name: names the dashboard's title (not a physical name). Required.
    :param alarm_email: an email address subscribed to the topic. Default: none.

    Methods: :meth:`monitor_function`, :meth:`monitor_http_api`, :meth:`monitor_queue`,
    :meth:`monitor_proxy`. Attributes: ``topic``, ``topic_key``, ``dashboard``, ``alarms``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, service_name: str, alarm_email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        if alarm_email is not None and ("@" not in alarm_email or " " in alarm_email):
            raise InvalidPropError("ServiceMonitoring", "alarm_email", alarm_email, "an email address")
        # CloudWatch alarms can publish to an encrypted topic only with a customer-managed key that
        # lets the CloudWatch service use it.
        self.topic_key = kms.Key(self, "TopicKey", enable_key_rotation=True,
                                 description=f"Encrypts the alarm topic of {service_name}")
        self.topic_key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "AlarmTopic", master_key=self.topic_key, enforce_ssl=True,
                               display_name=f"{service_name} alarms")
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(cloudwatch.TextWidget(markdown=f"# {service_name}", width=24, height=1))
        self.alarms: list[cloudwatch.Alarm] = []
        self._action = actions.SnsAction(self.topic)

    # ---- what turns metrics into alarms --------------------------------------------------
    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str,
               comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
               evaluation_periods: int = defaults.EVALUATION_PERIODS,
               datapoints: int = defaults.DATAPOINTS_TO_ALARM) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(self, construct_id, metric=metric, threshold=threshold, comparison_operator=comparison,
                                 evaluation_periods=evaluation_periods, datapoints_to_alarm=datapoints,
                                 treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                                 alarm_description=description)
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def monitor_function(self, function: ServerlessFunction, label: str) -> list[cloudwatch.Alarm]:
        """Errors, throttles, p99 duration ≥ 80% of the timeout, concurrency near its reservation."""
        found = metrics.function_metrics(function.function)
        timeout_ms = function.timeout.to_milliseconds()
        alarms = [
            self._alarm(f"{label}Errors", found["errors"], 1,
                        f"{label}: invocations are failing. Check the function's log group for ERROR records "
                        "and the requestId of the first failure."),
            self._alarm(f"{label}Throttles", found["throttles"], 1,
                        f"{label}: invocations are throttled. Check reserved concurrency and the account "
                        "concurrency limit; a traffic spike or a retry storm is the usual cause."),
            self._alarm(f"{label}DurationP99", found["duration_p99"], timeout_ms * defaults.DURATION_SHARE_OF_TIMEOUT,
                        f"{label}: p99 duration is at 80% of the {function.timeout.to_seconds():g} s timeout. Check "
                        "database latency (proxy borrow time, slow queries) before raising the timeout."),
        ]
        if function.reserved_concurrent_executions:
            alarms.append(self._alarm(
                f"{label}Concurrency", found["concurrency"],
                max(1, int(function.reserved_concurrent_executions * defaults.CONCURRENCY_SHARE)),
                f"{label}: concurrent executions are near the reserved {function.reserved_concurrent_executions}. "
                "Check for a traffic surge or slow invocations; raising it also raises database connections."))
        self._graph(label, found)
        return alarms

    def monitor_http_api(self, api: LambdaHttpApi, label: str = "HttpApi") -> list[cloudwatch.Alarm]:
        """5xx responses and p99 latency."""
        found = metrics.http_api_metrics(api)
        alarms = [
            self._alarm(f"{label}5xx", found["5xx"], defaults.API_5XX_THRESHOLD,
                        f"{label}: 5xx responses. Check the API function's Errors alarm and logs first, then "
                        "the access log's integrationError field."),
            self._alarm(f"{label}LatencyP99", found["latency_p99"], defaults.API_P99_LATENCY_MS,
                        f"{label}: p99 latency above {defaults.API_P99_LATENCY_MS} ms. Check the function's duration "
                        "and cold starts (integrationLatency in the access log)."),
        ]
        self._graph(label, found)
        return alarms

    def monitor_queue(self, queue: object, label: str = "Queue") -> list[cloudwatch.Alarm]:
        """Visible messages in the DLQ (> 0) and the age of the oldest message in the queue.

        ``queue`` is a :class:`~constructs_lib.queue_worker.WorkQueue` or :class:`QueueWorker`.
        """
        found = metrics.queue_metrics(queue.queue, queue.dead_letter_queue)  # type: ignore[attr-defined]
        alarms = [
            self._alarm(f"{label}DeadLetters", found["dlq_visible"], 0,
                        f"{label}: messages reached the dead-letter queue. Read one (its body and the worker's "
                        "logs for its messageId), fix the cause, then redrive it to the source queue.",
                        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, evaluation_periods=1,
                        datapoints=1),
            self._alarm(f"{label}OldestMessage", found["oldest_age"], defaults.QUEUE_AGE_SECONDS,
                        f"{label}: the oldest message is {defaults.QUEUE_AGE_SECONDS} s old. Check the worker's "
                        "errors and throttles, and its maximum concurrency against the backlog."),
        ]
        self._graph(label, found)
        return alarms

    def monitor_dead_letters(self, queue: object, label: str) -> cloudwatch.Alarm:
        """Visible messages (> 0) in a dead-letter queue of its own (e.g. a scheduled task's)."""
        metric = queue.metric_approximate_number_of_messages_visible(period=defaults.PERIOD, statistic="Maximum")  # type: ignore[attr-defined]
        alarm = self._alarm(f"{label}DeadLetters", metric, 0,
                            f"{label}: messages in this dead-letter queue mean runs that failed for good. Read one "
                            "and the function's logs for its time, fix the cause, then re-run the job for that time.",
                            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, evaluation_periods=1,
                            datapoints=1)
        self._graph(label, {"dead letters": metric})
        return alarm

    def monitor_proxy(self, proxy: rds.IDatabaseProxy, budget: int, label: str = "Proxy") -> list[cloudwatch.Alarm]:
        """Client connections near the connection budget."""
        if budget < 1:
            raise InvalidPropError("ServiceMonitoring.monitor_proxy", "budget", budget, ">= 1 connection")
        found = metrics.proxy_metrics(proxy)
        threshold = max(1, int(budget * defaults.PROXY_CONNECTION_SHARE))
        alarms = [self._alarm(f"{label}ClientConnections", found["client_connections"], threshold,
                              f"{label}: {threshold} client connections, 80% of the {budget}-connection budget. "
                              "Check which function's concurrency grew and its connections per container.")]
        self._graph(label, found)
        return alarms

    # ---- what puts them on the dashboard ---------------------------------------------------
    def _graph(self, label: str, found: dict[str, cloudwatch.IMetric]) -> None:
        self.dashboard.add_widgets(*[cloudwatch.GraphWidget(title=f"{label}: {name}", left=[metric], width=6, height=5)
                                     for name, metric in found.items()])

    def add_alarm_status_widget(self) -> None:
        """One widget showing every alarm's state (call after adding the monitors)."""
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(alarms=self.alarms, width=24, title="Alarms"))
