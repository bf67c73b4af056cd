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
        ("every day", "rate(1 minute|hour|day), rate(N minutes|hours|days), cron("),
        ("cron(0 3 ? * 1/2 *)", "invalid day-of-week field '1/2'"),
        ("cron(0 3 ? * 2#1,3#2 *)", "invalid day-of-week field '2#1,3#2'"),
        ("cron(0 3 ? * 2#6 *)", "invalid day-of-week field '2#6'"),
        ("cron(0 3 ? * 0 *)", "invalid day-of-week field '0'; allowed: 1-7 or SUN-SAT"),
        ("cron(0 3 32 * ? *)", "invalid day-of-month field '32'; allowed: 1-31"),
        ("cron(0 3 L-2 * ? *)", "invalid day-of-month field 'L-2'"),
        ("cron(0 3 * ? ? *)", "invalid month field '?'"),
        ("cron(0 3 * 13 ? *)", "invalid month field '13'; allowed: 1-12 or JAN-DEC"),
        ("cron(0 3 * * ? 1969)", "invalid year field '1969'; allowed: 1970-2199"),
        ("cron(0/0 * * * ? *)", "invalid minutes field '0/0'"),
        ("cron(0  3 * * ? *)", "cron needs 6 fields separated by single spaces"),
        ("cron(0 3 * * ? * *)", "got 7"),
        ("rate(5  minutes)", "one space between value and unit"),
        ("at(2027-02-30T00:00:00)", "a real date and time"),
    ])
    def test_expressions_eventbridge_rejects_fail_synth(self, expression: str, reason: str) -> None:
        with pytest.raises(InvalidPropError) as raised:
            build(expression)
        assert raised.value.prop == "schedule" and reason in str(raised.value)

    @pytest.mark.parametrize("expression", ["rate(1 minute)", "rate(5 minutes)", "cron(0/15 * * * ? *)",
                                            "cron(0 3 L * ? *)", "cron(0 3 ? * 2#1 *)", "cron(0 3 1,15 JAN-JUN ? 2027)",
                                            "cron(*/5 8-18 ? * MON-FRI *)", "cron(0 3 15W * ? *)", "cron(0 3 LW * ? *)",
                                            "cron(0 3 ? * 6L *)", "cron(0 3 ? * FRIL 2027-2030)", "rate(1 hour)",
                                            "rate(12 hours)", "at(2027-01-01T03:00:00)"])
    def test_valid_expressions(self, expression: str) -> None:
        assert expressions.problem(expression) is None

    @pytest.mark.parametrize(("props", "prop"), [
        ({"retry_attempts": 186}, "retry_attempts"),
        ({"max_event_age": Duration.seconds(30)}, "max_event_age"),
        ({"async_retry_attempts": 3}, "async_retry_attempts"),
        ({"async_max_event_age": Duration.hours(7)}, "async_max_event_age"),
        ({"flexible_window": Duration.minutes(1441)}, "flexible_window"),
        ({"flexible_window": Duration.seconds(90)}, "flexible_window"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"max_event_age": Duration.hours(25)}, "max_event_age"),
        ({"async_max_event_age": Duration.seconds(59)}, "async_max_event_age"),
        ({"retry_attempts": -1}, "retry_attempts"),
    ])
    def test_limits(self, props, prop) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            build(**props)
        assert raised.value.prop == prop


def logical_id(stack, construct) -> str:  # type: ignore[no-untyped-def]
    return stack.get_logical_id(construct.node.default_child)


class TestWiring:
    def test_target_is_the_function_and_dlq_is_the_delivery_queue(self) -> None:
        # GIVEN a scheduled task with defaults
        stack = new_stack()
        function = ServerlessFunction(stack, "Job", code=INLINE, handler="index.handler")
        task = ScheduledTask(stack, "Nightly", function=function, schedule="rate(1 day)")
        template = Template.from_stack(stack)
        # THEN the schedule invokes the function with the scheduler's role and dead-letters into its queue
        target = next(iter(template.find_resources("AWS::Scheduler::Schedule").values()))["Properties"]["Target"]
        assert target["Arn"] == {"Fn::GetAtt": [logical_id(stack, function.function), "Arn"]}
        assert target["RoleArn"] == {"Fn::GetAtt": [logical_id(stack, task.role), "Arn"]}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [logical_id(stack, task.dead_letter_queue), "Arn"]}}
        # AND the on-failure destination of the async config is the failure queue
        template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {"DestinationConfig": {"OnFailure": {
            "Destination": {"Fn::GetAtt": [logical_id(stack, task.failure_queue), "Arn"]}}}, "Qualifier": "$LATEST"})
        assert task.expression == "rate(1 day)" and task.time_zone == "UTC" and task.function is function

    def test_scheduler_role_invokes_and_dead_letters_function_role_sends_failures(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Job", code=INLINE, handler="index.handler")
        task = ScheduledTask(stack, "Nightly", function=function, schedule="rate(1 day)")
        template = Template.from_stack(stack)

        def statements(role) -> list[dict]:  # type: ignore[no-untyped-def]
            ref = {"Ref": logical_id(stack, role)}
            return [st for p in template.find_resources("AWS::IAM::Policy").values() if ref in p["Properties"]["Roles"]
                    for st in p["Properties"]["PolicyDocument"]["Statement"]]

        scheduler_actions = {st["Action"] for st in statements(task.role)}
        assert {"lambda:InvokeFunction", "sqs:SendMessage"} <= scheduler_actions
        template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [
            Match.object_like({"Principal": {"Service": "scheduler.amazonaws.com"}})]}})
        failure_arn = {"Fn::GetAtt": [logical_id(stack, task.failure_queue), "Arn"]}
        assert any(failure_arn == st["Resource"] for st in statements(function.role))

    def test_both_queues_deny_non_tls_and_keep_14_days(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Job", code=INLINE, handler="index.handler")
        task = ScheduledTask(stack, "Nightly", function=function, schedule="rate(1 day)")
        template = Template.from_stack(stack)
        covered = set()
        for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
            (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
            assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            covered.update(ref["Ref"] for ref in policy["Properties"]["Queues"])
        assert covered == {logical_id(stack, task.dead_letter_queue), logical_id(stack, task.failure_queue)}
        for queue in template.find_resources("AWS::SQS::Queue").values():
            assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 86400 and "QueueName" not in queue["Properties"]

    def test_alias_is_the_target_when_the_function_has_one(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Job", code=INLINE, handler="index.handler", publish_alias=True)
        ScheduledTask(stack, "Nightly", function=function, schedule="cron(0 3 * * ? *)")
        template = Template.from_stack(stack)
        target = next(iter(template.find_resources("AWS::Scheduler::Schedule").values()))["Properties"]["Target"]
        assert target["Arn"] == {"Ref": logical_id(stack, function.alias)}
        (config,) = template.find_resources("AWS::Lambda::EventInvokeConfig").values()
        assert logical_id(stack, function.alias) in str(config["Properties"]["Qualifier"])  # the alias's name

    def test_one_time_at_schedule_in_a_time_zone(self) -> None:
        _, template = build("at(2027-01-01T03:00:00)", time_zone="America/New_York")
        template.has_resource_properties("AWS::Scheduler::Schedule", {
            "ScheduleExpression": "at(2027-01-01T03:00:00)", "ScheduleExpressionTimezone": "America/New_York"})
