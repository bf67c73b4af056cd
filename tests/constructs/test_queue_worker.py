"""WorkQueue and QueueWorker: encryption, TLS, redrive, visibility rule, event source, bad input."""
from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from constructs_lib import InvalidPropError, QueueWorker, ServerlessFunction, WorkQueue
from tests.cdk_helpers import new_stack

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def build(function_timeout: int = 30, **props):  # type: ignore[no-untyped-def]
    stack = new_stack()
    function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler",
                                  timeout=Duration.seconds(function_timeout))
    worker = QueueWorker(stack, "Jobs", function=function, **props)
    return worker, function, Template.from_stack(stack)


def queues(template: Template) -> tuple[dict, dict]:
    found = template.find_resources("AWS::SQS::Queue")
    main = next(q for q in found.values() if "RedrivePolicy" in q["Properties"])
    dlq = next(q for q in found.values() if "RedrivePolicy" not in q["Properties"])
    return main, dlq


class TestDefaults:
    def test_both_queues_encrypted_with_sse_sqs(self) -> None:
        _, _, template = build()
        main, dlq = queues(template)
        assert main["Properties"]["SqsManagedSseEnabled"] is True and dlq["Properties"]["SqsManagedSseEnabled"] is True

    def test_both_queues_deny_non_tls_access(self) -> None:
        _, _, template = build()
        policies = template.find_resources("AWS::SQS::QueuePolicy")
        assert len(policies) == 2
        for policy in policies.values():
            statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
            assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    def test_dlq_keeps_messages_14_days_and_max_receive_count_5(self) -> None:
        _, _, template = build()
        main, dlq = queues(template)
        assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 86400
        assert main["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
        assert dlq["DeletionPolicy"] == "Retain"

    def test_visibility_timeout_is_6x_function_timeout_plus_window(self) -> None:
        _, _, template = build(function_timeout=30)
        assert queues(template)[0]["Properties"]["VisibilityTimeout"] == 180
        _, _, windowed = build(function_timeout=20, max_batching_window=Duration.seconds(5), batch_size=50)
        assert queues(windowed)[0]["Properties"]["VisibilityTimeout"] == 125

    def test_report_batch_item_failures_always_on(self) -> None:
        _, _, template = build()
        template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
            "FunctionResponseTypes": ["ReportBatchItemFailures"], "BatchSize": 10})

    def test_attributes(self) -> None:
        worker, function, _ = build(max_concurrency=5)
        assert worker.function is function and worker.max_concurrency == 5
        assert worker.queue is worker.work_queue.queue and worker.dead_letter_queue is worker.work_queue.dead_letter_queue


class TestOptions:
    def test_batching_window_batch_size_and_max_concurrency(self) -> None:
        _, _, template = build(batch_size=100, max_batching_window=Duration.seconds(10), max_concurrency=4)
        template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
            "BatchSize": 100, "MaximumBatchingWindowInSeconds": 10, "ScalingConfig": {"MaximumConcurrency": 4},
            "FunctionResponseTypes": ["ReportBatchItemFailures"]})

    def test_max_receive_count(self) -> None:
        _, _, template = build(max_receive_count=2)
        assert queues(template)[0]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 2

    def test_kms_key(self) -> None:
        stack = new_stack()
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30))
        QueueWorker(stack, "Jobs", function=function, encryption_key=key)
        template = Template.from_stack(stack)
        for queue in template.find_resources("AWS::SQS::Queue").values():
            assert "KmsMasterKeyId" in queue["Properties"]
        template.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([
            Match.object_like({"Action": "kms:Decrypt"})])}})

    def test_fifo_with_content_based_deduplication(self) -> None:
        _, _, template = build(fifo=True)
        main, dlq = queues(template)
        assert main["Properties"]["FifoQueue"] is True and main["Properties"]["ContentBasedDeduplication"] is True
        assert dlq["Properties"]["FifoQueue"] is True

    def test_existing_work_queue_and_producer_grant(self) -> None:
        stack = new_stack()
        work_queue = WorkQueue(stack, "Shared", consumer_timeout=Duration.seconds(10))
        worker_fn = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(10))
        producer = ServerlessFunction(stack, "Api", code=INLINE, handler="index.handler")
        QueueWorker(stack, "Jobs", function=worker_fn, queue=work_queue)
        work_queue.grant_send_to(producer)
        template = Template.from_stack(stack)
        template.resource_count_is("AWS::SQS::Queue", 2)
        variables = template.find_resources("AWS::Lambda::Function")[stack.get_logical_id(producer.function.node.default_child)]["Properties"]["Environment"]["Variables"]
        assert variables["QUEUE_URL"] == {"Ref": stack.get_logical_id(work_queue.queue.node.default_child)}
        producer_role = {"Ref": stack.get_logical_id(producer.role.node.default_child)}
        sends = [st for p in template.find_resources("AWS::IAM::Policy").values() if producer_role in p["Properties"]["Roles"]
                 for st in p["Properties"]["PolicyDocument"]["Statement"] if "sqs:SendMessage" in st["Action"]]
        assert len(sends) == 1 and sends[0]["Resource"] == {"Fn::GetAtt": [stack.get_logical_id(work_queue.queue.node.default_child), "Arn"]}


class TestInvalidProps:
    @pytest.mark.parametrize(("props", "prop", "fragment"), [
        ({"batch_size": 10_001, "max_batching_window": Duration.seconds(1)}, "batch_size", "1–10000 for a standard queue"),
        ({"batch_size": 11, "fifo": True}, "batch_size", "1–10 for a FIFO queue"),
        ({"batch_size": 20}, "batch_size", "unless max_batching_window >= 1 second"),
        ({"batch_size": 0}, "batch_size", "1–10000"),
        ({"fifo": True, "max_batching_window": Duration.seconds(5)}, "max_batching_window", "0 on a FIFO queue"),
        ({"max_batching_window": Duration.seconds(301)}, "max_batching_window", "0–300 seconds"),
        ({"max_receive_count": 0}, "max_receive_count", "1–1000"),
        ({"max_concurrency": 1}, "max_concurrency", "2–1000"),
    ])
    def test_fails_at_synth(self, props, prop, fragment) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            build(**props)
        assert raised.value.prop == prop and fragment in str(raised.value)

    def test_visibility_timeout_shorter_than_allowed(self) -> None:
        with pytest.raises(InvalidPropError) as raised:
            WorkQueue(new_stack(), "Q", consumer_timeout=Duration.seconds(30), visibility_timeout=Duration.seconds(60))
        assert str(raised.value) == ("WorkQueue: invalid visibility_timeout='60 seconds'; allowed: at least 180 seconds "
                                     "= 6 × the function timeout + the batching window")

    def test_existing_queue_too_short_for_this_worker(self) -> None:
        stack = new_stack()
        work_queue = WorkQueue(stack, "Q", consumer_timeout=Duration.seconds(10))  # 60 s
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30))
        with pytest.raises(InvalidPropError, match=r"invalid queue.visibility_timeout='60 seconds'; allowed: at least 180 seconds"):
            QueueWorker(stack, "Jobs", function=function, queue=work_queue)

    def test_visibility_timeout_above_12_hours(self) -> None:
        with pytest.raises(InvalidPropError, match="at most 43200 seconds"):
            WorkQueue(new_stack(), "Q", visibility_timeout=Duration.hours(13))
