"""ServiceMonitoring: each alarm's metric, threshold, description and action; topic; dashboard."""
from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from constructs_lib import (InvalidPropError, LambdaHttpApi, QueueWorker, ServerlessDatabase, ServerlessFunction,
                            ServiceMonitoring, ServiceNetwork)
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
