"""ScheduledTask: EventBridge Scheduler with retries, DLQ, async invoke config, cron validation."""
from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from constructs_lib import InvalidPropError, ScheduledTask, ServerlessFunction
from constructs_lib.scheduled_task import expressions
from tests.cdk_helpers import new_stack

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def build(schedule: str = "rate(1 day)", **props):  # type: ignore[no-untyped-def]
    stack = new_stack()
    function = ServerlessFunction(stack, "Job", code=INLINE, handler="index.handler")
    task = ScheduledTask(stack, "Nightly", function=function, schedule=schedule, **props)
    return task, Template.from_stack(stack)


class TestDefaults:
    def test_schedule_with_retry_policy_dlq_and_scheduled_time_input(self) -> None:
        _, template = build()
        schedule = next(iter(template.find_resources("AWS::Scheduler::Schedule").values()))["Properties"]
        assert schedule["ScheduleExpression"] == "rate(1 day)" and schedule["ScheduleExpressionTimezone"] == "UTC"
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        target = schedule["Target"]
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
        assert "Arn" in str(target["DeadLetterConfig"]) and '<aws.scheduler.scheduled-time>' in target["Input"]

    def test_async_invoke_config_with_on_failure_destination(self) -> None:
        _, template = build()
        template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {
            "MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600,
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}}})

    def test_dead_letter_queues_encrypted_tls_only(self) -> None:
        _, template = build()
        for queue in template.find_resources("AWS::SQS::Queue").values():
            assert queue["Properties"]["SqsManagedSseEnabled"] is True and queue["DeletionPolicy"] == "Retain"
        assert len(template.find_resources("AWS::SQS::QueuePolicy")) == 2


class TestOptions:
    def test_cron_time_zone_flexible_window_and_retries(self) -> None:
        _, template = build("cron(0 3 ? * MON-FRI *)", time_zone="Europe/Paris", flexible_window=Duration.minutes(15),
                            retry_attempts=5, max_event_age=Duration.hours(2), async_retry_attempts=0)
        schedule = next(iter(template.find_resources("AWS::Scheduler::Schedule").values()))["Properties"]
        assert schedule["ScheduleExpression"] == "cron(0 3 ? * MON-FRI *)"
        assert schedule["ScheduleExpressionTimezone"] == "Europe/Paris"
        assert schedule["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
        assert schedule["Target"]["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 5}
        template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 0})


class TestInvalidProps:
    @pytest.mark.parametrize(("expression", "reason"), [
        ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 3 * *)", "cron needs 6 fields"),
        ("cron(60 3 * * ? *)", "invalid minutes field '60'"),
        ("cron(0 24 * * ? *)", "invalid hours field '24'"),
        ("cron(0 3 ? FOO 1 *)", "invalid month field 'FOO'"),
        ("rate(1 days)", "use 'day' for 1 and 'days' otherwise"),
        ("rate(5 day)", "use 'day' for 1 and 'days' otherwise"),
        ("rate(0 minutes)", "at least 1"),
        ("rate(5 weeks)", "rate(<value> <minute|minutes|hour|hours|day|days>)"),
        ("every day", "rate(...) or cron(...)"),
    ])
    def test_expressions_eventbridge_rejects_fail_synth(self, expression: str, reason: str) -> None:
        with pytest.raises(InvalidPropError) as raised:
            build(expression)
        assert raised.value.prop == "schedule" and reason in str(raised.value)

    @pytest.mark.parametrize("expression", ["rate(1 minute)", "rate(5 minutes)", "cron(0/15 * * * ? *)",
                                            "cron(0 3 L * ? *)", "cron(0 3 ? * 2#1 *)", "cron(0 3 1,15 JAN-JUN ? 2027)"])
    def test_valid_expressions(self, expression: str) -> None:
        assert expressions.problem(expression) is None

    @pytest.mark.parametrize(("props", "prop"), [
        ({"retry_attempts": 186}, "retry_attempts"),
        ({"max_event_age": Duration.seconds(30)}, "max_event_age"),
        ({"async_retry_attempts": 3}, "async_retry_attempts"),
        ({"async_max_event_age": Duration.hours(7)}, "async_max_event_age"),
        ({"flexible_window": Duration.minutes(1441)}, "flexible_window"),
    ])
    def test_limits(self, props, prop) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            build(**props)
        assert raised.value.prop == prop
