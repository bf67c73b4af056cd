"""WorkQueue and QueueWorker: encryption, TLS, redrive, visibility rule, event source, bad input."""
from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
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
        ({"max_batching_window": Duration.millis(2500)}, "max_batching_window", "whole seconds"),
        ({"max_batching_window": Duration.seconds(301)}, "max_batching_window", "0–300 seconds"),
        ({"max_receive_count": 0}, "max_receive_count", "1–1000"),
        ({"max_concurrency": 1}, "max_concurrency", "2–1000"),
    ])
    def test_fails_at_synth(self, props, prop, fragment) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            build(**props)
        assert raised.value.prop == prop and fragment in str(raised.value)

    def test_visibility_timeout_shorter_than_allowed_names_consumer_timeout(self) -> None:
        with pytest.raises(InvalidPropError) as raised:
            WorkQueue(new_stack(), "Q", consumer_timeout=Duration.seconds(30), visibility_timeout=Duration.seconds(60))
        assert str(raised.value) == (
            "WorkQueue: invalid visibility_timeout='60 seconds'; allowed: at least 180 seconds = 6 × consumer_timeout "
            "(30 s) + max_batching_window (0 s): raise visibility_timeout, or leave it unset for exactly that; "
            "consumer_timeout and max_batching_window are the consuming function's timeout and batching window")

    def test_existing_queue_too_short_for_this_worker_names_the_queues_consumer_timeout(self) -> None:
        # GIVEN a queue sized for a 10 s consumer (visibility 60 s) WHEN a 30 s function consumes it
        stack = new_stack()
        work_queue = WorkQueue(stack, "Q", consumer_timeout=Duration.seconds(10))
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30))
        with pytest.raises(InvalidPropError) as raised:
            QueueWorker(stack, "Jobs", function=function, queue=work_queue)
        # THEN the error says which WorkQueue prop to set, and to what
        assert str(raised.value) == (
            "QueueWorker: invalid queue.visibility_timeout='60 seconds'; allowed: at least 180 seconds = 6 × the "
            "timeout of TestStack/Worker (30 s) + max_batching_window (0 s): create the WorkQueue TestStack/Q with "
            "consumer_timeout=Duration.seconds(30) (it has 10 s) and max_batching_window=Duration.seconds(0), or "
            "with visibility_timeout of at least 180 seconds; or lower the function's timeout")

    def test_visibility_timeout_above_12_hours(self) -> None:
        with pytest.raises(InvalidPropError, match="at most 43200 seconds"):
            WorkQueue(new_stack(), "Q", visibility_timeout=Duration.hours(13))


def function_environment(stack, template: Template, function: ServerlessFunction) -> dict:  # type: ignore[no-untyped-def]
    logical_id = stack.get_logical_id(function.function.node.default_child)
    return template.find_resources("AWS::Lambda::Function")[logical_id]["Properties"]["Environment"]["Variables"]


def role_statements(stack, template: Template, function: ServerlessFunction) -> list[dict]:  # type: ignore[no-untyped-def]
    role = {"Ref": stack.get_logical_id(function.role.node.default_child)}
    return [statement for policy in template.find_resources("AWS::IAM::Policy").values()
            if role in policy["Properties"]["Roles"] for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


class TestMoreDefaults:
    def test_no_physical_names_and_no_batching_window_or_scaling_config(self) -> None:
        # GIVEN a worker with every default
        _, _, template = build()
        # THEN CDK names the queues, and the mapping has neither window nor concurrency cap
        for queue in template.find_resources("AWS::SQS::Queue").values():
            assert "QueueName" not in queue["Properties"]
        (mapping,) = template.find_resources("AWS::Lambda::EventSourceMapping").values()
        assert "MaximumBatchingWindowInSeconds" not in mapping["Properties"]
        assert "ScalingConfig" not in mapping["Properties"]

    def test_tls_policy_covers_each_queue_and_all_sqs_actions(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        worker = QueueWorker(stack, "Jobs", function=function)
        template = Template.from_stack(stack)
        covered = set()
        for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
            (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
            assert statement["Action"] == "sqs:*" and statement["Principal"] == {"AWS": "*"}
            covered.update(ref["Ref"] for ref in policy["Properties"]["Queues"])
        assert covered == {stack.get_logical_id(q.node.default_child) for q in (worker.queue, worker.dead_letter_queue)}

    def test_mapping_reads_the_queue_and_the_worker_may_consume(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        worker = QueueWorker(stack, "Jobs", function=function)
        template = Template.from_stack(stack)
        queue_id = stack.get_logical_id(worker.queue.node.default_child)
        template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
            "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
            "FunctionName": {"Ref": stack.get_logical_id(function.function.node.default_child)}})
        consume = [s for s in role_statements(stack, template, function) if "sqs:ReceiveMessage" in s["Action"]]
        assert consume and "sqs:DeleteMessage" in consume[0]["Action"]

    def test_mapping_targets_the_alias_when_the_function_has_one(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", publish_alias=True)
        QueueWorker(stack, "Jobs", function=function)
        (mapping,) = Template.from_stack(stack).find_resources("AWS::Lambda::EventSourceMapping").values()
        # the alias ARN: <function ARN>:live
        assert ":live" in str(mapping["Properties"]["FunctionName"])
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


class TestMoreOptions:
    def test_caller_visibility_timeout_at_or_above_the_minimum(self) -> None:
        worker, _, template = build(function_timeout=30, visibility_timeout=Duration.minutes(10))
        assert queues(template)[0]["Properties"]["VisibilityTimeout"] == 600
        assert worker.work_queue.visibility_timeout.to_seconds() == 600

    def test_kms_key_for_both_queues_and_producer_can_encrypt(self) -> None:
        stack = new_stack()
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        worker_fn = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        producer = ServerlessFunction(stack, "Api", code=INLINE, handler="index.handler")
        worker = QueueWorker(stack, "Jobs", function=worker_fn, encryption_key=key)
        # WHEN a producer is granted
        worker.grant_send_to(producer)
        template = Template.from_stack(stack)
        key_arn = {"Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]}
        for queue in template.find_resources("AWS::SQS::Queue").values():
            assert queue["Properties"]["KmsMasterKeyId"] == key_arn and "SqsManagedSseEnabled" not in queue["Properties"]
        # THEN the producer gets exactly what an SSE-KMS producer needs, with no kms wildcards
        statements = role_statements(stack, template, producer)
        assert {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow", "Resource": key_arn} in statements
        actions = [a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
        assert "sqs:SendMessage" in actions and not [a for a in actions if a.startswith("kms:") and "*" in a]
        # AND the worker may decrypt what it receives
        assert any(s["Action"] == "kms:Decrypt" and s["Resource"] == key_arn
                   for s in role_statements(stack, template, worker_fn))

    def test_fifo_mapping_keeps_batch_10_without_window_and_dlq_is_fifo(self) -> None:
        worker, _, template = build(fifo=True, batch_size=10, max_concurrency=2)
        main, dlq = queues(template)
        assert dlq["Properties"]["FifoQueue"] is True and "ContentBasedDeduplication" not in dlq["Properties"]
        assert "QueueName" not in main["Properties"] and worker.fifo is True
        template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
            "BatchSize": 10, "MaximumBatchingWindowInSeconds": Match.absent(),
            "FunctionResponseTypes": ["ReportBatchItemFailures"], "ScalingConfig": {"MaximumConcurrency": 2}})

    def test_existing_fifo_queue_sets_the_worker_kind(self) -> None:
        stack = new_stack()
        work_queue = WorkQueue(stack, "Shared", fifo=True)
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30))
        worker = QueueWorker(stack, "Jobs", function=function, queue=work_queue, fifo=True)
        assert worker.fifo and worker.queue is work_queue.queue
        with pytest.raises(InvalidPropError, match="invalid batch_size=11; allowed: 1–10 for a FIFO queue"):
            QueueWorker(stack, "Jobs2", function=function, queue=work_queue, batch_size=11)

    def test_grant_send_to_from_the_worker_with_a_custom_variable(self) -> None:
        stack = new_stack()
        worker_fn = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        producer = ServerlessFunction(stack, "Api", code=INLINE, handler="index.handler")
        worker = QueueWorker(stack, "Jobs", function=worker_fn)
        worker.grant_send_to(producer, env_var="JOBS_QUEUE_URL")
        template = Template.from_stack(stack)
        queue_id = stack.get_logical_id(worker.queue.node.default_child)
        assert function_environment(stack, template, producer)["JOBS_QUEUE_URL"] == {"Ref": queue_id}
        sends = [s for s in role_statements(stack, template, producer) if "sqs:SendMessage" in s["Action"]]
        assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": [queue_id, "Arn"]}]
        assert not [s for s in role_statements(stack, template, producer) if "sqs:ReceiveMessage" in s["Action"]]

    def test_max_batching_window_of_300_seconds_allows_batch_10000(self) -> None:
        _, _, template = build(function_timeout=10, batch_size=10_000, max_batching_window=Duration.seconds(300))
        assert queues(template)[0]["Properties"]["VisibilityTimeout"] == 360
        template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
            "BatchSize": 10_000, "MaximumBatchingWindowInSeconds": 300})


class TestMoreInvalidProps:
    def test_caller_visibility_timeout_shorter_than_6x_timeout_plus_window(self) -> None:
        # GIVEN a 20 s function with a 5 s window; WHEN the caller asks for a 2-minute visibility timeout
        with pytest.raises(InvalidPropError) as raised:
            build(function_timeout=20, max_batching_window=Duration.seconds(5), batch_size=50,
                  visibility_timeout=Duration.minutes(2))
        # THEN synth fails naming the prop, the value and both numbers the minimum comes from
        assert raised.value.prop == "visibility_timeout" and raised.value.construct == "QueueWorker"
        assert str(raised.value) == (
            "QueueWorker: invalid visibility_timeout='120 seconds'; allowed: at least 125 seconds = 6 × the timeout of "
            "TestStack/Worker (20 s) + max_batching_window (5 s): raise visibility_timeout, or leave it unset for "
            "exactly that; or lower the function's timeout or max_batching_window")

    def test_visibility_timeout_above_12_hours_names_what_sets_it(self) -> None:
        with pytest.raises(InvalidPropError) as raised:
            build(function_timeout=30, visibility_timeout=Duration.hours(13))
        assert raised.value.allowed == ("at most 43200 seconds (12 hours, the SQS limit): lower visibility_timeout")

    @pytest.mark.parametrize(("props", "prop"), [
        ({"fifo": True}, "fifo"),
        ({"max_receive_count": 3}, "max_receive_count"),
        ({"visibility_timeout": Duration.minutes(10)}, "visibility_timeout"),
    ])
    def test_queue_props_with_an_existing_queue(self, props, prop) -> None:  # type: ignore[no-untyped-def]
        stack = new_stack()
        work_queue = WorkQueue(stack, "Shared")
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30))
        with pytest.raises(InvalidPropError) as raised:
            QueueWorker(stack, "Jobs", function=function, queue=work_queue, **props)
        assert raised.value.prop == prop and "None when an existing queue is given" in raised.value.allowed

    def test_max_concurrency_above_reserved_concurrency(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler",
                                      reserved_concurrent_executions=3)
        with pytest.raises(InvalidPropError) as raised:
            QueueWorker(stack, "Jobs", function=function, max_concurrency=5)
        assert raised.value.prop == "max_concurrency" and "reserved_concurrent_executions=3" in str(raised.value)

    @pytest.mark.parametrize(("props", "prop", "fragment"), [
        ({"max_receive_count": -1}, "max_receive_count", "1–1000"),
        ({"max_receive_count": 1001}, "max_receive_count", "1–1000"),
        ({"max_concurrency": 1001}, "max_concurrency", "2–1000"),
        ({"batch_size": 10_001, "max_batching_window": Duration.seconds(300)}, "batch_size", "1–10000"),
    ])
    def test_limits(self, props, prop, fragment) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            build(**props)
        assert raised.value.prop == prop and fragment in raised.value.allowed

    @pytest.mark.parametrize("env_var", ["1URL", "QUEUE-URL", "AWS_QUEUE_URL", "LAMBDA_URL", ""])
    def test_invalid_environment_variable_name(self, env_var: str) -> None:
        stack = new_stack()
        worker = QueueWorker(stack, "Jobs", function=ServerlessFunction(stack, "W", code=INLINE, handler="index.handler"))
        producer = ServerlessFunction(stack, "Api", code=INLINE, handler="index.handler")
        with pytest.raises(InvalidPropError) as raised:
            worker.grant_send_to(producer, env_var=env_var)
        assert raised.value.prop == "env_var"


class TestMaxConcurrencyFromReservation:
    def test_defaults_to_the_reserved_concurrency_so_the_poller_never_throttles(self) -> None:
        # GIVEN a worker function with 8 reserved executions and no max_concurrency
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler",
                                      reserved_concurrent_executions=8)
        # WHEN it consumes a queue
        worker = QueueWorker(stack, "Jobs", function=function)
        # THEN the mapping is capped at the reservation, and the budget reads the same bound
        Template.from_stack(stack).has_resource_properties("AWS::Lambda::EventSourceMapping", {
            "ScalingConfig": {"MaximumConcurrency": 8}})
        assert worker.max_concurrency == 8

    def test_a_reservation_below_the_sqs_minimum_leaves_it_unset(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler",
                                      reserved_concurrent_executions=1)
        assert QueueWorker(stack, "Jobs", function=function).max_concurrency is None


QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:orders"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def statements(template: Template, role: str = "") -> list[dict]:
    return [statement for policy in template.find_resources("AWS::IAM::Policy").values()
            if any(role in str(ref) for ref in policy["Properties"]["Roles"])
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


def actions_on(template: Template, resource: str, role: str = "") -> set[str]:
    """The actions the policies (of roles whose logical id contains ``role``) allow on ``resource``."""
    found: set[str] = set()
    for statement in statements(template, role):
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if resource in resources:
            found.update([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    return found


class TestExistingSqsQueue:
    """A team's own queue: an imported one (nothing about it is visible) or an sqs.Queue of the app."""

    def test_an_imported_queue_is_consumed_by_arn_and_nothing_is_created(self) -> None:
        # GIVEN a queue imported by ARN
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        queue = sqs.Queue.from_queue_arn(stack, "Orders", QUEUE_ARN)
        worker = QueueWorker(stack, "Jobs", function=function, queue=queue, max_concurrency=3)
        template = Template.from_stack(stack)
        # THEN the event source mapping reads that ARN, with the worker's settings, and no queue is created
        template.has_resource_properties("AWS::Lambda::EventSourceMapping", {
            "EventSourceArn": QUEUE_ARN, "FunctionResponseTypes": ["ReportBatchItemFailures"], "BatchSize": 10,
            "ScalingConfig": {"MaximumConcurrency": 3}})
        template.resource_count_is("AWS::SQS::Queue", 0)
        # AND the worker may consume it
        assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions_on(template, QUEUE_ARN)
        assert worker.queue is queue and worker.work_queue is None and worker.dead_letter_queue is None
        assert worker.fifo is False

    def test_an_imported_fifo_queue_sets_the_kind_and_its_limits(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        queue = sqs.Queue.from_queue_arn(stack, "Orders", QUEUE_ARN + ".fifo")
        with pytest.raises(InvalidPropError) as raised:
            QueueWorker(stack, "Jobs", function=function, queue=queue, batch_size=11)
        assert (raised.value.prop, raised.value.value) == ("batch_size", 11)
        assert QueueWorker(stack, "Ok", function=function, queue=queue).fifo is True

    def test_an_imported_queue_with_its_key_grants_the_key_to_worker_and_producer(self) -> None:
        # GIVEN a queue imported with its customer-managed key, and a producer
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        producer = ServerlessFunction(stack, "Producer", code=INLINE, handler="index.handler")
        queue = sqs.Queue.from_queue_attributes(stack, "Orders", queue_arn=QUEUE_ARN, key_arn=KEY_ARN)
        worker = QueueWorker(stack, "Jobs", function=function, queue=queue)
        worker.grant_send_to(producer)
        template = Template.from_stack(stack)
        # THEN the worker may decrypt and the producer may send and encrypt, and knows the queue URL
        assert "kms:Decrypt" in actions_on(template, KEY_ARN, "Worker")
        assert "sqs:SendMessage" in actions_on(template, QUEUE_ARN, "Producer")
        assert {"kms:GenerateDataKey", "kms:Decrypt"} <= actions_on(template, KEY_ARN, "Producer")
        variables = template.find_resources("AWS::Lambda::Function")
        assert any("QUEUE_URL" in f["Properties"].get("Environment", {}).get("Variables", {}) for f in variables.values())

    def test_an_imported_queue_takes_its_dead_letter_queue_for_monitoring(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        dead = sqs.Queue.from_queue_arn(stack, "OrdersDlq", QUEUE_ARN + "-dlq")
        worker = QueueWorker(stack, "Jobs", function=function, queue=sqs.Queue.from_queue_arn(stack, "Orders", QUEUE_ARN),
                             dead_letter_queue=dead)
        assert worker.dead_letter_queue is dead

    def test_an_app_queue_with_a_dead_letter_queue_and_enough_visibility(self) -> None:
        # GIVEN an sqs.Queue of the app, with a DLQ and 6 x 30 s visibility
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30))
        dead = sqs.Queue(stack, "Dead", enforce_ssl=True)
        queue = sqs.Queue(stack, "Orders", visibility_timeout=Duration.seconds(180), enforce_ssl=True,
                          dead_letter_queue=sqs.DeadLetterQueue(queue=dead, max_receive_count=3))
        worker = QueueWorker(stack, "Jobs", function=function, queue=queue)
        # THEN it is consumed, and its DLQ is the worker's
        assert worker.queue is queue and worker.dead_letter_queue is dead and worker.work_queue is None
        Template.from_stack(stack).has_resource_properties("AWS::Lambda::EventSourceMapping", {
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("Orders"), "Arn"]}})

    @pytest.mark.parametrize(("visibility", "shown"), [(None, "30 seconds"), (Duration.seconds(60), "60 seconds")])
    def test_an_app_queue_too_short_for_the_function_fails_naming_it(self, visibility, shown) -> None:  # type: ignore[no-untyped-def]
        # GIVEN an sqs.Queue with SQS's 30 s default (or 60 s) and a 30 s worker
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler", timeout=Duration.seconds(30))
        queue = sqs.Queue(stack, "Orders", visibility_timeout=visibility,
                          dead_letter_queue=sqs.DeadLetterQueue(queue=sqs.Queue(stack, "Dead"), max_receive_count=3))
        with pytest.raises(InvalidPropError) as raised:
            QueueWorker(stack, "Jobs", function=function, queue=queue)
        # THEN the error names the queue's visibility timeout and the value that fixes it
        assert (raised.value.prop, raised.value.value) == ("queue.visibility_timeout", shown)
        assert "at least 180 seconds" in raised.value.allowed and "visibility_timeout=Duration.seconds(180)" in raised.value.allowed

    def test_an_app_queue_without_a_dead_letter_queue_fails(self) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        queue = sqs.Queue(stack, "Orders", visibility_timeout=Duration.seconds(180))
        with pytest.raises(InvalidPropError) as raised:
            QueueWorker(stack, "Jobs", function=function, queue=queue)
        assert raised.value.prop == "queue" and "dead_letter_queue" in raised.value.allowed

    @pytest.mark.parametrize("own", ["work_queue", "app_queue", "none"])
    def test_dead_letter_queue_only_with_an_imported_queue(self, own: str) -> None:
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        queue = {"work_queue": lambda: WorkQueue(stack, "Work"),
                 "app_queue": lambda: sqs.Queue(stack, "Orders", visibility_timeout=Duration.seconds(180),
                                                dead_letter_queue=sqs.DeadLetterQueue(queue=sqs.Queue(stack, "D"),
                                                                                      max_receive_count=3)),
                 "none": lambda: None}[own]()
        with pytest.raises(InvalidPropError) as raised:
            QueueWorker(stack, "Jobs", function=function, queue=queue,
                        dead_letter_queue=sqs.Queue.from_queue_arn(stack, "Other", QUEUE_ARN))
        assert raised.value.prop == "dead_letter_queue"

    @pytest.mark.parametrize(("props", "prop"), [({"visibility_timeout": Duration.seconds(200)}, "visibility_timeout"),
                                                 ({"max_receive_count": 3}, "max_receive_count"),
                                                 ({"fifo": True}, "fifo")])
    def test_queue_props_with_an_imported_queue(self, props, prop) -> None:  # type: ignore[no-untyped-def]
        stack = new_stack()
        function = ServerlessFunction(stack, "Worker", code=INLINE, handler="index.handler")
        with pytest.raises(InvalidPropError) as raised:
            QueueWorker(stack, "Jobs", function=function, queue=sqs.Queue.from_queue_arn(stack, "Orders", QUEUE_ARN), **props)
        assert raised.value.prop == prop
