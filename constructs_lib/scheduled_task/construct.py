"""A function run on a schedule by EventBridge Scheduler, with retries and nowhere to lose a run."""
from __future__ import annotations

import functools
import zoneinfo

from aws_cdk import Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..acknowledge import acknowledge
from ..dead_letters import dead_letter_queue
from ..errors import InvalidPropError, check_range
from ..function import ServerlessFunction
from ..node_values import check_durations, seconds, whole_units
from ..references import strong_references
from . import defaults, expressions


class ScheduledTask(Construct):
    """EventBridge Scheduler invoking a :class:`ServerlessFunction` (asynchronously) on a schedule.

    A failed delivery is retried by the scheduler and then lands in ``dead_letter_queue``; a failed
    run is retried by Lambda and then lands in ``failure_queue``. The function receives
    ``{"scheduledTime": "<the scheduled time>"}``, which makes each run idempotent per time.

    :param function: the task. Required.
    :param schedule: ``rate(1 day)``, ``cron(0 3 * * ? *)`` (six fields, exactly one of day-of-month
        and day-of-week ``?``) or ``at(2030-01-01T03:00:00)``, checked at synth as EventBridge
        Scheduler would (see :mod:`.expressions`). Required.
    :param time_zone: IANA name the cron/at expression is read in. Default: ``UTC``.
    :param flexible_window: let the scheduler start up to this much later (0–1440 min). Default: off.
    :param retry_attempts: scheduler delivery retries (0–185). Default: 3.
    :param max_event_age: 60 s–24 h. Default: 1 hour.
    :param async_retry_attempts: Lambda retries of a failed run (0–2). Default: 2.
    :param async_max_event_age: 60 s–6 h. Default: 1 hour.

    Attributes: ``schedule``, ``dead_letter_queue`` (failed deliveries), ``failure_queue`` (failed runs),
    ``role`` (the scheduler's), ``function``, ``expression``, ``time_zone``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, function: ServerlessFunction, schedule: str,
                 time_zone: str | None = None, flexible_window: Duration | None = None,
                 retry_attempts: int | None = None, max_event_age: Duration | None = None,
                 async_retry_attempts: int | None = None, async_max_event_age: Duration | None = None) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        check_durations("ScheduledTask", flexible_window=flexible_window, max_event_age=max_event_age,
                        async_max_event_age=async_max_event_age)
        reason = expressions.problem(schedule)
        if reason:
            raise InvalidPropError("ScheduledTask", "schedule", schedule, reason)
        zone_name = time_zone or defaults.TIME_ZONE
        if not _is_time_zone(zone_name):
            raise InvalidPropError("ScheduledTask", "time_zone", zone_name, "an IANA time zone name such as UTC or Europe/Paris")
        retries = retry_attempts if retry_attempts is not None else defaults.RETRY_ATTEMPTS
        age = max_event_age or defaults.MAX_EVENT_AGE
        async_retries = async_retry_attempts if async_retry_attempts is not None else defaults.ASYNC_RETRY_ATTEMPTS
        async_age = async_max_event_age or defaults.ASYNC_MAX_EVENT_AGE
        window = flexible_window or defaults.FLEXIBLE_WINDOW
        check_range("ScheduledTask", "retry_attempts", retries, defaults.RETRY_ATTEMPTS_RANGE)
        check_range("ScheduledTask", "max_event_age", int(seconds(age)), defaults.MAX_EVENT_AGE_RANGE_SECONDS, "seconds")
        check_range("ScheduledTask", "async_retry_attempts", async_retries, defaults.ASYNC_RETRY_ATTEMPTS_RANGE)
        check_range("ScheduledTask", "async_max_event_age", int(seconds(async_age)),
                    defaults.ASYNC_MAX_EVENT_AGE_RANGE_SECONDS, "seconds")
        window_minutes = whole_units(window, construct="ScheduledTask", prop="flexible_window", unit_seconds=60,
                                     unit="minutes")
        check_range("ScheduledTask", "flexible_window", window_minutes, (0, defaults.FLEXIBLE_WINDOW_MAX_MINUTES),
                    "minutes")

        # 2. build ----------------------------------------------------------------------
        self.function = function
        self.expression = schedule
        self.time_zone = zone_name
        why_last = ("This queue is a dead-letter destination itself (failed deliveries/runs); it is watched "
                    "by an alarm rather than redriven to another queue.")
        self.dead_letter_queue = dead_letter_queue(self, "DeliveryDeadLetterQueue", retention=defaults.DLQ_RETENTION,
                                                   why_last=why_last, removal_policy=RemovalPolicy.RETAIN)
        self.failure_queue = dead_letter_queue(self, "FailureQueue", retention=defaults.DLQ_RETENTION,
                                               why_last=why_last, removal_policy=RemovalPolicy.RETAIN)
        zone = TimeZone.of(zone_name)
        self.role = iam.Role(self, "SchedulerRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
                             description=f"EventBridge Scheduler invoking {function.path}")
        self.schedule = scheduler.Schedule(
            self, "Schedule",
            schedule=scheduler.ScheduleExpression.expression(schedule, zone),
            target=targets.LambdaInvoke(function.invoke_target, dead_letter_queue=self.dead_letter_queue, role=self.role,
                                        retry_attempts=retries, max_event_age=age,
                                        input=scheduler.ScheduleTargetInput.from_object(
                                            {"scheduledTime": scheduler.ContextAttribute.scheduled_time})),
            time_window=scheduler.TimeWindow.flexible(window) if window_minutes else scheduler.TimeWindow.off(),
            description=f"Runs {function.path} on {schedule}",
        )

        # 3. wire -----------------------------------------------------------------------
        strong_references(self.schedule, self.dead_letter_queue, self.failure_queue, self.role)
        function.invoke_target.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.failure_queue), retry_attempts=async_retries, max_event_age=async_age)
        acknowledge(function.function, "Serverless-LambdaDLQ",
                    "Failed asynchronous runs go to the on-failure destination (failure_queue) of the function's "
                    "event invoke config, which supersedes a dead-letter queue and keeps the full context.")
        stack = Stack.of(self)
        function_id = stack.resolve(stack.get_logical_id(function.function.node.default_child))
        acknowledge(self.role, f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
                    "lambda:InvokeFunction on this one function's versions and aliases (ARN:*), as grantInvoke "
                    "writes it; no other function is reachable.")


def _is_time_zone(name: str) -> bool:
    """An IANA name EventBridge Scheduler accepts: UTC, the system's zones, or the CDK's list."""
    return name == "UTC" or name in zoneinfo.available_timezones() or name in _cdk_time_zones()


@functools.cache
def _cdk_time_zones() -> frozenset[str]:
    return frozenset(getattr(TimeZone, attr).timezone_name for attr in dir(TimeZone) if attr.isupper())

