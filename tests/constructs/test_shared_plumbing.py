"""Plumbing the constructs share lives in one place: the range check (two private copies before) and the
dead-letter-queue recipe (three copies: the work queue's, the schedule's two, the alarm email's)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from constructs_lib import InvalidPropError, ScheduledTask, ServerlessFunction, ServiceMonitoring, WorkQueue
from tests.cdk_helpers import PROJECT, new_stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

LIBRARY = PROJECT / "constructs_lib"
INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def calls_in(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]


def test_only_the_recipe_and_the_work_queue_create_queues() -> None:
    # GIVEN every module of the library WHEN its sqs.Queue(...) calls are listed
    creators = sorted({path.relative_to(LIBRARY).as_posix() for path in LIBRARY.rglob("*.py") for call in calls_in(path)
                       if isinstance(call.func, ast.Attribute) and call.func.attr == "Queue"
                       and isinstance(call.func.value, ast.Name) and call.func.value.id == "sqs"})
    # THEN dead-letter queues come from the one recipe; the work queue itself is the only other queue
    assert creators == ["dead_letters.py", "queue_worker/construct.py"]


def test_only_the_shared_check_takes_a_range() -> None:
    # GIVEN every function of the library WHEN those taking ``bounds`` (a (low, high) range) are listed
    checkers = sorted(f"{path.relative_to(LIBRARY).as_posix()}:{node.name}" for path in LIBRARY.rglob("*.py")
                      for node in ast.walk(ast.parse(path.read_text()))
                      if isinstance(node, ast.FunctionDef) and "bounds" in {a.arg for a in node.args.args})
    # THEN it is the one range check, which every construct calls
    assert checkers == ["errors.py:check_range"]


def test_every_dead_letter_queue_is_tls_only_encrypted_and_kept_a_stated_time() -> None:
    # GIVEN the three constructs that keep dead letters
    stack = new_stack()
    function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler")
    WorkQueue(stack, "Work")
    ScheduledTask(stack, "Task", function=function, schedule="rate(1 day)")
    ServiceMonitoring(stack, "Monitoring", service_name="svc", alarm_email="ops@example.com")
    template = Template.from_stack(stack).to_json()["Resources"]
    queues = {logical_id: resource for logical_id, resource in template.items() if resource["Type"] == "AWS::SQS::Queue"}
    dead_letters = {logical_id: resource for logical_id, resource in queues.items()
                    if "RedrivePolicy" not in resource["Properties"]}
    assert len(dead_letters) == 4  # the work queue's, the schedule's two, the alarm email's
    for logical_id, resource in dead_letters.items():
        # THEN each is encrypted, kept a stated time, and TLS-only
        assert resource["Properties"].get("SqsManagedSseEnabled") or resource["Properties"].get("KmsMasterKeyId"), logical_id
        assert resource["Properties"]["MessageRetentionPeriod"] > 0, logical_id
        policies = [r for r in template.values() if r["Type"] == "AWS::SQS::QueuePolicy"
                    and {"Ref": logical_id} in r["Properties"]["Queues"]]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]), logical_id


@pytest.mark.parametrize(("build", "prop", "value", "allowed"), [
    (lambda: ServerlessFunction(new_stack(), "Fn", code=INLINE, handler="index.handler", memory_size=64),
     "memory_size", "64 MB", "128–10240 MB"),
    (lambda: (lambda stack: ScheduledTask(stack, "Task", function=ServerlessFunction(stack, "Fn", code=INLINE,
                                                                                   handler="index.handler"),
                                          schedule="rate(1 day)", retry_attempts=500))(new_stack()),
     "retry_attempts", "500", "0–185"),
])
def test_a_value_out_of_range_reads_the_same_whichever_construct(build, prop: str, value: str, allowed: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidPropError) as raised:
        build()
    assert (raised.value.prop, raised.value.value, raised.value.allowed) == (prop, value, allowed)
