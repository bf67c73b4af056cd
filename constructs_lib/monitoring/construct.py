"""Alarms that show trouble before users do, an SNS topic they notify, and one dashboard."""
from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..dead_letters import dead_letter_queue
from ..errors import InvalidPropError
from ..function import ServerlessFunction
from ..http_api import LambdaHttpApi
from ..node_values import check_durations, seconds
from ..references import strong_references
from ..queue_worker import QueueWorker, WorkQueue
from ..scheduled_task import ScheduledTask
from . import alarms, dashboard, defaults, metrics


class ServiceMonitoring(Construct):
    """Alarms on functions, the HTTP API, queues, schedules and the proxy; a topic; one dashboard.

    Every alarm notifies ``topic`` (on ALARM and on OK), treats missing data as not breaching
    (no invocations, no messages: nothing failing), and says in its description what to check
    first. Metrics come from :mod:`.metrics`, alarm thresholds from :mod:`.alarms`, widgets from
    :mod:`.dashboard`.

    Rollback alarms: when a monitored function deploys gradually (``ServerlessFunction(deployment=…)``),
    its errors and p99 duration alarms, and the 5xx and p99 latency alarms of an HTTP API in front of
    it, join its CodeDeploy deployment group: one of them in ALARM during the traffic shift stops the
    deployment and moves the alias back.

    :param service_name: the dashboard's title and the topic's display name (not physical names). Required.
    :param alarm_email: an email address subscribed to the topic (the example app takes it from the
        ``alarm_email`` context). Default: none.

    Methods: :meth:`monitor_function`, :meth:`monitor_http_api`, :meth:`monitor_queue_worker`
    (:meth:`monitor_queue` for a bare :class:`WorkQueue`), :meth:`monitor_scheduled_task`,
    :meth:`monitor_dead_letters`, :meth:`monitor_proxy`, :meth:`add_alarm_status_widget`.

    Attributes: ``topic`` (KMS-encrypted, TLS-only; CloudWatch alarms of this account may publish),
    ``topic_key`` (CloudWatch may use it for alarms of this account only), ``dashboard``, ``alarms``
    (every alarm created, in order), ``subscription_dead_letter_queue`` (notifications the email
    subscription could not deliver; None without ``alarm_email``).
    """

    def __init__(self, scope: Construct, construct_id: str, *, service_name: str, alarm_email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        if alarm_email is not None and ("@" not in alarm_email or " " in alarm_email):
            raise InvalidPropError("ServiceMonitoring", "alarm_email", alarm_email, "an email address")

        # 2. build ----------------------------------------------------------------------
        # CloudWatch alarms can publish to an encrypted topic only with a customer-managed key that
        # lets the CloudWatch service use it (the AWS-managed SNS key does not).
        self.topic_key = kms.Key(self, "TopicKey", enable_key_rotation=True,
                                 description=f"Encrypts the alarm topic of {service_name}")
        self.topic = sns.Topic(self, "AlarmTopic", master_key=self.topic_key, enforce_ssl=True,
                               display_name=f"{service_name} alarms")
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=defaults.DASHBOARD_INTERVAL)
        self.dashboard.add_widgets(dashboard.title(service_name))
        self.alarms: list[cloudwatch.Alarm] = []
        self._action = actions.SnsAction(self.topic)

        # 3. wire -----------------------------------------------------------------------
        strong_references(self.topic, self.topic_key, self.dashboard)
        # A topic policy replaces SNS's default one: without this statement no alarm can publish. The
        # same conditions on the key keep another account's alarms (confused deputy) out of both.
        alarms_of_this_account = {
            "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
            "ArnLike": {"aws:SourceArn": Stack.of(self).format_arn(
                service="cloudwatch", resource="alarm", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME)},
        }
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsOfThisAccount", principals=[cloudwatch_principal], actions=["sns:Publish"],
            resources=[self.topic.topic_arn], conditions=alarms_of_this_account))
        self.topic_key.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsOfThisAccount", principals=[cloudwatch_principal],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"], conditions=alarms_of_this_account))
        self.subscription_dead_letter_queue: sqs.Queue | None = None
        if alarm_email:
            # notifications SNS cannot deliver to the address are kept, not dropped
            self.subscription_dead_letter_queue = dead_letter_queue(
                self, "EmailDeadLetterQueue", retention=defaults.SUBSCRIPTION_DLQ_RETENTION,
                why_last="This queue is itself the dead-letter queue of the alarm email subscription; undelivered "
                         "notifications stop here for 14 days instead of moving again.")
            self.topic.add_subscription(subscriptions.EmailSubscription(
                alarm_email, dead_letter_queue=self.subscription_dead_letter_queue))

    # ---- what to monitor -------------------------------------------------------------------
    def monitor_function(self, function: ServerlessFunction | lambda_.IFunction, label: str | None = None,
                         timeout: Duration | None = None) -> list[cloudwatch.Alarm]:
        """Errors, throttles, p99 duration ≥ 80% of the timeout, concurrency ≥ 80% of its reservation
        (only when it has one the app can see). Any function: a :class:`ServerlessFunction`, a
        ``lambda_.Function`` of the app, or one imported with ``Function.from_function_arn``.

        :param label: prefixes ids and titles. Default: the function's construct id.
        :param timeout: the function's timeout, which the duration alarm is 80% of. Default: a
            ServerlessFunction's or a ``lambda_.Function``'s own (Lambda's 3 s when it sets none; given
            anyway, it must agree); required for an imported function, whose timeout the app cannot see.
        """
        check_durations("ServiceMonitoring.monitor_function", timeout=timeout)
        timeout_seconds, reserved = _timeout_and_reservation(function, timeout)
        label = label or function.node.id
        monitored = function.function if isinstance(function, ServerlessFunction) else function
        found = metrics.function_metrics(monitored)
        return self._monitor(label, found, alarms.function_alarms(label, found, timeout_seconds, reserved),
                             rollback_of=function.deployment_group if isinstance(function, ServerlessFunction) else None)

    def monitor_http_api(self, api: LambdaHttpApi, label: str = "HttpApi",
                         latency_threshold: Duration | None = None) -> list[cloudwatch.Alarm]:
        """5xx responses and p99 latency ≥ ``latency_threshold``. Default: 2 seconds. Both are rollback
        alarms of the API function's deployment group, when it has one."""
        check_durations("ServiceMonitoring.monitor_http_api", latency_threshold=latency_threshold)
        latency_ms = (int(seconds(latency_threshold) * 1000) if latency_threshold is not None
                      else defaults.API_P99_LATENCY_MS)
        if latency_ms < 1:
            raise InvalidPropError("ServiceMonitoring.monitor_http_api", "latency_threshold", f"{latency_ms} ms",
                                   ">= 1 millisecond")
        found = metrics.http_api_metrics(api)
        return self._monitor(label, found, alarms.http_api_alarms(label, found, latency_ms),
                             rollback_of=api.function.deployment_group)

    def monitor_queue_worker(self, worker: QueueWorker, label: str | None = None,
                             oldest_message_age: Duration | None = None) -> list[cloudwatch.Alarm]:
        """Visible messages in the worker's DLQ (> 0) and the age of the oldest message in its queue
        (≥ ``oldest_message_age``. Default: 5 minutes). ``label`` default: the worker's construct id.
        A worker on an imported queue whose dead-letter queue it was not told (``QueueWorker(dead_letter_queue=…)``)
        gets the age alarm only."""
        check_durations("ServiceMonitoring.monitor_queue_worker", oldest_message_age=oldest_message_age)
        return self.monitor_queue(worker, label or worker.node.id, oldest_message_age)

    def monitor_queue(self, queue: WorkQueue | QueueWorker, label: str = "Queue",
                      oldest_message_age: Duration | None = None) -> list[cloudwatch.Alarm]:
        """The same alarms as :meth:`monitor_queue_worker`, for a :class:`WorkQueue` (or a worker)."""
        check_durations("ServiceMonitoring.monitor_queue", oldest_message_age=oldest_message_age)
        age = int(seconds(oldest_message_age)) if oldest_message_age is not None else defaults.QUEUE_AGE_SECONDS
        if age < 1:
            raise InvalidPropError("ServiceMonitoring.monitor_queue", "oldest_message_age", f"{age} seconds",
                                   ">= 1 second")
        found = metrics.queue_metrics(queue.queue, queue.dead_letter_queue)
        return self._monitor(label, found, alarms.queue_alarms(label, found, age))

    def monitor_scheduled_task(self, task: ScheduledTask, label: str | None = None) -> list[cloudwatch.Alarm]:
        """Visible messages (> 0) in the task's delivery DLQ and in its failed-runs queue.

        ``label`` default: the task's construct id; the alarms are ``<label>Delivery…`` and ``<label>Failures…``.
        """
        label = label or task.node.id
        return [self.monitor_dead_letters(task.dead_letter_queue, f"{label}Delivery",
                                          check_first=defaults.SCHEDULE_DELIVERY_CHECK_FIRST),
                self.monitor_dead_letters(task.failure_queue, f"{label}Failures",
                                          check_first=defaults.SCHEDULE_FAILURES_CHECK_FIRST)]

    def monitor_dead_letters(self, queue: sqs.IQueue, label: str, check_first: str | None = None) -> cloudwatch.Alarm:
        """Visible messages (> 0) in a dead-letter queue of its own; ``check_first`` ends the description.
        Default: read a message and the function's logs, fix, re-run."""
        found = metrics.dead_letter_metrics(queue)
        (alarm,) = self._monitor(label, found, [alarms.dead_letter_alarm(label, found, check_first)])
        return alarm

    def monitor_proxy(self, proxy: rds.IDatabaseProxy | str, budget: int, label: str = "Proxy") -> list[cloudwatch.Alarm]:
        """Client connections (AWS/RDS, dimension ProxyName) ≥ 80% of the connection ``budget``.

        :param proxy: the RDS Proxy, or its name.
        :param budget: the connections the proxy may open (``ServerlessDatabase.connection_budget``), >= 1.
        """
        if budget < 1:
            raise InvalidPropError("ServiceMonitoring.monitor_proxy", "budget", budget, ">= 1 connection")
        found = metrics.proxy_metrics(proxy)
        return self._monitor(label, found, alarms.proxy_alarms(label, found, budget))

    def add_alarm_status_widget(self) -> None:
        """One widget showing every alarm's state (call after adding the monitors)."""
        self.dashboard.add_widgets(dashboard.alarm_status(self.alarms))

    # ---- alarms on the topic, metrics on the dashboard ---------------------------------------
    def _monitor(self, label: str, found: dict[str, cloudwatch.IMetric], specs: Sequence[alarms.AlarmSpec],
                 rollback_of: codedeploy.LambdaDeploymentGroup | None = None) -> list[cloudwatch.Alarm]:
        created = [self._alarm(label, spec) for spec in specs]
        if rollback_of is not None:
            for spec, alarm in zip(specs, created):
                if spec.rollback:
                    rollback_of.add_alarm(alarm)
        self.dashboard.add_widgets(*dashboard.graphs(label, found))
        return created

    def _alarm(self, label: str, spec: alarms.AlarmSpec) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(self, f"{label}{spec.suffix}", metric=spec.metric, threshold=spec.threshold,
                                 comparison_operator=spec.comparison, evaluation_periods=spec.evaluation_periods,
                                 datapoints_to_alarm=spec.datapoints_to_alarm,
                                 treat_missing_data=spec.treat_missing_data, alarm_description=spec.description)
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm


def _timeout_and_reservation(function: ServerlessFunction | lambda_.IFunction,
                             timeout: Duration | None) -> tuple[float, int | None]:
    """The timeout (seconds) and reserved concurrency the alarms are sized by, from what the app can see."""
    if isinstance(function, ServerlessFunction):
        own: float | None = function.timeout_seconds
        reserved = function.reserved_concurrent_executions
    elif isinstance(function, lambda_.Function):
        own = seconds(function.timeout) if function.timeout is not None else defaults.LAMBDA_DEFAULT_TIMEOUT_SECONDS
        found = getattr(function.node.default_child, "reserved_concurrent_executions", None)
        reserved = found if isinstance(found, int) and not Token.is_unresolved(found) else None
    else:
        own, reserved = None, None
    if timeout is None:
        if own is None:
            raise InvalidPropError("ServiceMonitoring.monitor_function", "timeout", None,
                                   f"the timeout of {function.node.path}, which the app cannot see (an imported "
                                   "function): its p99 duration alarm is 80% of it")
        return own, reserved
    given = seconds(timeout)
    if given <= 0 or (own is not None and given != own):
        raise InvalidPropError("ServiceMonitoring.monitor_function", "timeout", f"{given:g} seconds",
                               f"the function's own timeout, {own:g} seconds (or leave it unset)" if own is not None
                               else "a positive duration, the imported function's timeout")
    return given, reserved
