"""ServiceMonitoring: each alarm's metric, threshold, description and action; topic; dashboard."""
from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from constructs_lib import (InvalidPropError, LambdaHttpApi, QueueWorker, ScheduledTask, ServerlessDatabase,
                            ServerlessFunction, ServiceMonitoring, ServiceNetwork)
from tests.cdk_helpers import new_stack

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


@pytest.fixture(scope="module")
def monitored():  # type: ignore[no-untyped-def]
    stack = new_stack()
    api_fn = ServerlessFunction(stack, "Api", code=INLINE, handler="index.handler", timeout=Duration.seconds(10),
                                reserved_concurrent_executions=20)
    worker_fn = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30))
    api = LambdaHttpApi(stack, "Http", function=api_fn)
    worker = QueueWorker(stack, "Jobs", function=worker_fn)
    network = ServiceNetwork(stack, "Net")
    database = ServerlessDatabase(stack, "Db", vpc=network.vpc)
    monitoring = ServiceMonitoring(stack, "Monitoring", service_name="users-test", alarm_email="ops@example.com")
    monitoring.monitor_function(api_fn, "Api")
    monitoring.monitor_function(worker_fn, "Worker")
    monitoring.monitor_http_api(api)
    monitoring.monitor_queue(worker, "Jobs")
    monitoring.monitor_proxy(database.proxy, budget=740)
    monitoring.add_alarm_status_widget()
    template = Template.from_stack(stack)
    by_id = template.find_resources("AWS::CloudWatch::Alarm")
    return monitoring, template, by_id


def alarm(by_id: dict, prefix: str) -> dict:
    (props,) = [a["Properties"] for logical_id, a in by_id.items() if logical_id.startswith(prefix)]
    return props


class TestAlarms:
    @pytest.mark.parametrize(("prefix", "metric", "threshold", "operator"), [
        ("MonitoringApiErrors", "Errors", 1, "GreaterThanOrEqualToThreshold"),
        ("MonitoringApiThrottles", "Throttles", 1, "GreaterThanOrEqualToThreshold"),
        ("MonitoringApiDurationP99", "Duration", 8000, "GreaterThanOrEqualToThreshold"),
        ("MonitoringApiConcurrency", "ConcurrentExecutions", 16, "GreaterThanOrEqualToThreshold"),
        ("MonitoringWorkerDurationP99", "Duration", 24000, "GreaterThanOrEqualToThreshold"),
        ("MonitoringHttpApi5xx", "5xx", 1, "GreaterThanOrEqualToThreshold"),
        ("MonitoringHttpApiLatencyP99", "Latency", 2000, "GreaterThanOrEqualToThreshold"),
        ("MonitoringJobsDeadLetters", "ApproximateNumberOfMessagesVisible", 0, "GreaterThanThreshold"),
        ("MonitoringJobsOldestMessage", "ApproximateAgeOfOldestMessage", 300, "GreaterThanOrEqualToThreshold"),
        ("MonitoringProxyClientConnections", "ClientConnections", 592, "GreaterThanOrEqualToThreshold"),
    ])
    def test_metric_threshold_and_comparison(self, monitored, prefix, metric, threshold, operator) -> None:  # type: ignore[no-untyped-def]
        _, _, by_id = monitored
        props = alarm(by_id, prefix)
        assert (props["MetricName"], props["Threshold"], props["ComparisonOperator"]) == (metric, threshold, operator)
        assert props["TreatMissingData"] == "notBreaching"

    def test_p99_statistics(self, monitored) -> None:  # type: ignore[no-untyped-def]
        _, _, by_id = monitored
        assert alarm(by_id, "MonitoringApiDurationP99")["ExtendedStatistic"] == "p99"
        assert alarm(by_id, "MonitoringHttpApiLatencyP99")["ExtendedStatistic"] == "p99"

    def test_proxy_metric_dimension(self, monitored) -> None:  # type: ignore[no-untyped-def]
        _, _, by_id = monitored
        props = alarm(by_id, "MonitoringProxyClientConnections")
        assert props["Namespace"] == "AWS/RDS" and props["Dimensions"][0]["Name"] == "ProxyName"

    def test_no_concurrency_alarm_without_reserved_concurrency(self, monitored) -> None:  # type: ignore[no-untyped-def]
        _, _, by_id = monitored
        assert not [i for i in by_id if i.startswith("MonitoringWorkerConcurrency")]

    def test_every_alarm_notifies_the_topic_and_says_what_to_check(self, monitored) -> None:  # type: ignore[no-untyped-def]
        monitoring, _, by_id = monitored
        assert len(by_id) == len(monitoring.alarms) == 12  # api 4, worker 3, http api 2, queue 2, proxy 1
        topic_ref = {"Ref": next(i for i in monitored[1].find_resources("AWS::SNS::Topic"))}
        for props in (a["Properties"] for a in by_id.values()):
            assert props["AlarmActions"] == [topic_ref] and props["OKActions"] == [topic_ref]
            assert "Check" in props["AlarmDescription"] or "Read" in props["AlarmDescription"]


class TestTopicAndDashboard:
    def test_encrypted_tls_only_topic_with_email(self, monitored) -> None:  # type: ignore[no-untyped-def]
        _, template, _ = monitored
        topic = next(iter(template.find_resources("AWS::SNS::Topic").values()))["Properties"]
        assert "KmsMasterKeyId" in topic
        template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})
        policy = next(iter(template.find_resources("AWS::SNS::TopicPolicy").values()))["Properties"]["PolicyDocument"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in policy["Statement"])
        key_policy = next(iter(template.find_resources("AWS::KMS::Key").values()))["Properties"]["KeyPolicy"]
        assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in key_policy["Statement"])

    def test_email_subscription_keeps_undelivered_notifications(self, monitored) -> None:  # type: ignore[no-untyped-def]
        monitoring, template, _ = monitored
        stack = monitoring.topic.stack
        dlq_id = stack.get_logical_id(monitoring.subscription_dead_letter_queue.node.default_child)
        template.has_resource_properties("AWS::SNS::Subscription", {
            "Protocol": "email", "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}}})
        dlq = template.find_resources("AWS::SQS::Queue")[dlq_id]["Properties"]
        assert dlq["SqsManagedSseEnabled"] is True and dlq["MessageRetentionPeriod"] == 14 * 86400

    def test_one_dashboard(self, monitored) -> None:  # type: ignore[no-untyped-def]
        _, template, _ = monitored
        template.resource_count_is("AWS::CloudWatch::Dashboard", 1)

    def test_invalid_email_and_budget(self) -> None:
        with pytest.raises(InvalidPropError, match="invalid alarm_email='not an email'"):
            ServiceMonitoring(new_stack(), "M", service_name="s", alarm_email="not an email")
        stack = new_stack()
        network = ServiceNetwork(stack, "Net")
        database = ServerlessDatabase(stack, "Db", vpc=network.vpc)
        with pytest.raises(InvalidPropError, match="invalid budget=0"):
            ServiceMonitoring(stack, "M", service_name="s").monitor_proxy(database.proxy, budget=0)


@pytest.fixture(scope="module")
def by_method():  # type: ignore[no-untyped-def]
    """The named methods with default labels: monitor_queue_worker, monitor_scheduled_task, a proxy by name."""
    stack = new_stack()
    worker_fn = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(20),
                                   reserved_concurrent_executions=10)
    job_fn = ServerlessFunction(stack, "Job", code=INLINE, handler="index.handler")
    worker = QueueWorker(stack, "Jobs", function=worker_fn, max_concurrency=5)
    task = ScheduledTask(stack, "Nightly", function=job_fn, schedule="rate(1 day)")
    monitoring = ServiceMonitoring(stack, "Monitoring", service_name="users-test")
    monitoring.monitor_function(worker_fn)
    monitoring.monitor_queue_worker(worker, oldest_message_age=Duration.minutes(2))
    monitoring.monitor_scheduled_task(task)
    monitoring.monitor_proxy("users-proxy", budget=10, label="SharedProxy")
    return stack, worker, task, monitoring, Template.from_stack(stack)


class TestNamedMethods:
    def test_default_labels_are_the_construct_ids(self, by_method) -> None:  # type: ignore[no-untyped-def]
        _, _, _, monitoring, template = by_method
        ids = sorted(template.find_resources("AWS::CloudWatch::Alarm"))
        prefixes = ("MonitoringWorkerErrors", "MonitoringWorkerThrottles", "MonitoringWorkerDurationP99",
                    "MonitoringWorkerConcurrency", "MonitoringJobsDeadLetters", "MonitoringJobsOldestMessage",
                    "MonitoringNightlyDeliveryDeadLetters", "MonitoringNightlyFailuresDeadLetters",
                    "MonitoringSharedProxyClientConnections")
        assert len(ids) == len(prefixes) == len(monitoring.alarms)
        for prefix in prefixes:
            assert [i for i in ids if i.startswith(prefix)], prefix

    def test_queue_worker_alarms_watch_the_dlq_and_the_queue(self, by_method) -> None:  # type: ignore[no-untyped-def]
        stack, worker, _, _, template = by_method
        by_id = template.find_resources("AWS::CloudWatch::Alarm")
        dead = alarm(by_id, "MonitoringJobsDeadLetters")
        assert dead["Dimensions"] == [{"Name": "QueueName", "Value": {
            "Fn::GetAtt": [stack.get_logical_id(worker.dead_letter_queue.node.default_child), "QueueName"]}}]
        assert (dead["Threshold"], dead["EvaluationPeriods"], dead["DatapointsToAlarm"], dead["Statistic"]) == (0, 1, 1, "Maximum")
        oldest = alarm(by_id, "MonitoringJobsOldestMessage")
        assert oldest["Dimensions"][0]["Value"] == {
            "Fn::GetAtt": [stack.get_logical_id(worker.queue.node.default_child), "QueueName"]}
        assert oldest["Threshold"] == 120 and oldest["Namespace"] == "AWS/SQS" and oldest["Period"] == 60

    def test_scheduled_task_alarms_say_what_each_queue_holds(self, by_method) -> None:  # type: ignore[no-untyped-def]
        stack, _, task, _, template = by_method
        by_id = template.find_resources("AWS::CloudWatch::Alarm")
        delivery = alarm(by_id, "MonitoringNightlyDeliveryDeadLetters")
        failures = alarm(by_id, "MonitoringNightlyFailuresDeadLetters")
        for props, queue in ((delivery, task.dead_letter_queue), (failures, task.failure_queue)):
            assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
            assert props["ComparisonOperator"] == "GreaterThanThreshold" and props["Threshold"] == 0
            assert props["Dimensions"][0]["Value"]["Fn::GetAtt"][0] == stack.get_logical_id(queue.node.default_child)
        assert "ERROR_CODE" in delivery["AlarmDescription"]
        assert "requestContext.condition" in failures["AlarmDescription"]

    def test_proxy_by_name_and_concurrency_from_reservation(self, by_method) -> None:  # type: ignore[no-untyped-def]
        _, _, _, _, template = by_method
        by_id = template.find_resources("AWS::CloudWatch::Alarm")
        proxy = alarm(by_id, "MonitoringSharedProxyClientConnections")
        assert proxy["Dimensions"] == [{"Name": "ProxyName", "Value": "users-proxy"}] and proxy["Threshold"] == 8
        assert "8 client connections, 80% of the 10-connection budget" in proxy["AlarmDescription"]
        concurrency = alarm(by_id, "MonitoringWorkerConcurrency")
        assert concurrency["Threshold"] == 8 and concurrency["Statistic"] == "Maximum"
        assert alarm(by_id, "MonitoringWorkerDurationP99")["Threshold"] == 16000

    def test_dashboard_has_one_graph_per_metric(self, by_method) -> None:  # type: ignore[no-untyped-def]
        _, _, _, _, template = by_method
        (board,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
        body = "".join(part for part in board["Properties"]["DashboardBody"]["Fn::Join"][1] if isinstance(part, str))
        for title in ("Worker: errors", "Worker: duration_p99", "Jobs: dlq_visible", "Jobs: oldest_age",
                      "NightlyDelivery: dead letters", "SharedProxy: client_connections"):
            assert f'"title":"{title}"' in body
        assert "DashboardName" not in board["Properties"]


class TestMoreOptions:
    def test_http_api_latency_threshold(self) -> None:
        stack = new_stack()
        api_fn = ServerlessFunction(stack, "Api", code=INLINE, handler="index.handler")
        monitoring = ServiceMonitoring(stack, "Monitoring", service_name="s")
        monitoring.monitor_http_api(LambdaHttpApi(stack, "Http", function=api_fn), latency_threshold=Duration.millis(500))
        by_id = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
        latency = alarm(by_id, "MonitoringHttpApiLatencyP99")
        assert latency["Threshold"] == 500 and latency["Namespace"] == "AWS/ApiGateway"
        assert latency["Dimensions"][0]["Name"] == "ApiId"

    def test_topic_without_email_has_no_subscription_and_no_name(self) -> None:
        stack = new_stack()
        ServiceMonitoring(stack, "Monitoring", service_name="s")
        template = Template.from_stack(stack)
        template.resource_count_is("AWS::SNS::Subscription", 0)
        template.resource_count_is("AWS::SQS::Queue", 0)
        topic = next(iter(template.find_resources("AWS::SNS::Topic").values()))["Properties"]
        assert "TopicName" not in topic and topic["DisplayName"] == "s alarms"
        key = next(iter(template.find_resources("AWS::KMS::Key").values()))["Properties"]
        assert key["EnableKeyRotation"] is True

    @pytest.mark.parametrize(("method", "prop"), [
        ("monitor_http_api", "latency_threshold"), ("monitor_queue_worker", "oldest_message_age")])
    def test_zero_thresholds_fail(self, method: str, prop: str) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
        monitoring = ServiceMonitoring(stack, "Monitoring", service_name="s")
        if method == "monitor_http_api":
            call = lambda: monitoring.monitor_http_api(LambdaHttpApi(stack, "Http", function=function),  # noqa: E731
                                                       latency_threshold=Duration.millis(0))
        else:
            call = lambda: monitoring.monitor_queue_worker(QueueWorker(stack, "Jobs", function=function),  # noqa: E731
                                                           oldest_message_age=Duration.seconds(0))
        with pytest.raises(InvalidPropError) as raised:
            call()
        assert raised.value.prop == prop


class TestAnyFunctionAndQueue:
    """Functions and queues a team already has: a plain lambda_.Function, an imported one, an imported queue."""

    def alarms_of(self, build) -> tuple[dict, object]:  # type: ignore[no-untyped-def]
        stack = new_stack()
        monitoring = ServiceMonitoring(stack, "Monitoring", service_name="s")
        subject = build(stack, monitoring)
        return Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm"), (stack, subject)

    def test_a_plain_function_gets_alarms_sized_by_its_own_timeout_and_reservation(self) -> None:
        def build(stack, monitoring):  # type: ignore[no-untyped-def]
            function = lambda_.Function(stack, "Plain", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
                                        code=INLINE, timeout=Duration.seconds(10), reserved_concurrent_executions=5)
            monitoring.monitor_function(function)
            return function
        by_id, (stack, function) = self.alarms_of(build)
        # THEN errors, throttles, duration (80% of 10 s) and concurrency (80% of 5) on that function
        assert alarm(by_id, "MonitoringPlainDurationP99")["Threshold"] == 8000
        assert alarm(by_id, "MonitoringPlainConcurrency")["Threshold"] == 4
        assert alarm(by_id, "MonitoringPlainErrors")["Dimensions"] == [
            {"Name": "FunctionName", "Value": {"Ref": stack.get_logical_id(function.node.default_child)}}]

    def test_a_plain_function_without_a_timeout_has_lambdas_3_seconds(self) -> None:
        def build(stack, monitoring):  # type: ignore[no-untyped-def]
            monitoring.monitor_function(lambda_.Function(stack, "Plain", runtime=lambda_.Runtime.PYTHON_3_13,
                                                         handler="index.handler", code=INLINE))
        by_id, _ = self.alarms_of(build)
        assert alarm(by_id, "MonitoringPlainDurationP99")["Threshold"] == 2400
        assert not [i for i in by_id if "Concurrency" in i]

    def test_an_imported_function_takes_its_timeout_as_a_prop(self) -> None:
        arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders"

        def build(stack, monitoring):  # type: ignore[no-untyped-def]
            function = lambda_.Function.from_function_arn(stack, "Orders", arn)
            with pytest.raises(InvalidPropError) as raised:
                monitoring.monitor_function(function)
            assert raised.value.prop == "timeout" and "imported" in raised.value.allowed
            monitoring.monitor_function(function, timeout=Duration.seconds(20))
        by_id, _ = self.alarms_of(build)
        duration = alarm(by_id, "MonitoringOrdersDurationP99")
        assert duration["Threshold"] == 16000 and duration["Dimensions"] == [{"Name": "FunctionName", "Value": "orders"}]

    @pytest.mark.parametrize("kind", ["serverless", "plain"])
    def test_a_timeout_that_disagrees_with_the_functions_own_fails(self, kind: str) -> None:
        stack = new_stack()
        monitoring = ServiceMonitoring(stack, "Monitoring", service_name="s")
        function = (ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler", timeout=Duration.seconds(10))
                    if kind == "serverless" else
                    lambda_.Function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=INLINE,
                                     timeout=Duration.seconds(10)))
        with pytest.raises(InvalidPropError) as raised:
            monitoring.monitor_function(function, timeout=Duration.seconds(12))
        assert (raised.value.prop, raised.value.value) == ("timeout", "12 seconds") and "10 seconds" in raised.value.allowed

    def test_a_worker_on_an_imported_queue_alarms_on_age_and_on_a_dead_letter_queue_it_was_told(self) -> None:
        queue_arn = "arn:aws:sqs:eu-west-1:123456789012:orders"

        def build(stack, monitoring):  # type: ignore[no-untyped-def]
            function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
            bare = QueueWorker(stack, "Bare", function=function, queue=sqs.Queue.from_queue_arn(stack, "Q", queue_arn))
            told = QueueWorker(stack, "Told", function=function,
                               queue=sqs.Queue.from_queue_arn(stack, "Q2", queue_arn + "-2"),
                               dead_letter_queue=sqs.Queue.from_queue_arn(stack, "D2", queue_arn + "-2-dlq"))
            monitoring.monitor_queue_worker(bare)
            monitoring.monitor_queue_worker(told)
        by_id, _ = self.alarms_of(build)
        # THEN the bare worker gets the age alarm only; the told one a dead-letter alarm on the queue it named
        assert sorted(i for i in by_id if i.startswith("MonitoringBare")) == [
            i for i in by_id if i.startswith("MonitoringBareOldestMessage")]
        assert alarm(by_id, "MonitoringBareOldestMessage")["Dimensions"] == [{"Name": "QueueName", "Value": "orders"}]
        assert alarm(by_id, "MonitoringToldDeadLetters")["Dimensions"] == [{"Name": "QueueName", "Value": "orders-2-dlq"}]
