"""Every Duration prop of every construct refuses anything but a Duration, naming the prop.

An outside team passed ``timeout=30`` and got ``TypeError: cannot create weak reference to 'int'
object`` from deep inside the library. The props are found by reading the public constructs'
signatures, so a Duration prop added later is covered (or this file fails until it is).
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_

import constructs_lib
from constructs_lib import (InvalidPropError, LambdaHttpApi, QueueWorker, ScheduledTask, ServerlessDatabase,
                            ServerlessFunction, ServiceMonitoring, ServiceNetwork, WorkQueue)
from constructs_lib.node_values import DURATION_EXPECTED
from tests.cdk_helpers import new_stack

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def duration_props() -> set[tuple[str, str, str]]:
    """(class, method, parameter) of every public construct's parameter annotated as a Duration."""
    found = set()
    for name in constructs_lib.__all__:
        owner = getattr(constructs_lib, name)
        if not inspect.isclass(owner):
            continue
        for method_name, method in inspect.getmembers(owner, inspect.isfunction):
            if method_name.startswith("_") and method_name != "__init__":
                continue
            for parameter in inspect.signature(method).parameters.values():
                if "Duration" in str(parameter.annotation):
                    found.add((name, method_name, parameter.name))
    return found


def _function(stack: Any, name: str = "Fn", **props: Any) -> ServerlessFunction:
    return ServerlessFunction(stack, name, code=INLINE, handler="index.handler", **props)


def _monitoring(method: str) -> Callable[[dict[str, Any]], Any]:
    def call(props: dict[str, Any]) -> Any:
        stack = new_stack()
        monitoring = ServiceMonitoring(stack, "Monitoring", service_name="svc")
        function = _function(stack, timeout=Duration.seconds(10))
        target = {"monitor_function": lambda: function,
                  "monitor_http_api": lambda: LambdaHttpApi(stack, "Http", function=function),
                  "monitor_queue": lambda: WorkQueue(stack, "Queue"),
                  "monitor_queue_worker": lambda: QueueWorker(stack, "Worker", function=function)}[method]()
        return getattr(monitoring, method)(target, **props)
    return call


def _database(props: dict[str, Any]) -> Any:
    stack = new_stack()
    network = ServiceNetwork(stack, "Net")
    return ServerlessDatabase(stack, "Db", vpc=network.vpc, **props)


#: How to pass one prop to each owner, and the construct name its error carries.
CALLS: dict[tuple[str, str], tuple[str, Callable[[dict[str, Any]], Any]]] = {
    ("ServerlessFunction", "__init__"): ("ServerlessFunction", lambda props: _function(new_stack(), **props)),
    ("ServerlessDatabase", "__init__"): ("ServerlessDatabase", _database),
    ("WorkQueue", "__init__"): ("WorkQueue", lambda props: WorkQueue(new_stack(), "Queue", **props)),
    ("QueueWorker", "__init__"): ("QueueWorker", lambda props: (lambda stack: QueueWorker(
        stack, "Worker", function=_function(stack), **props))(new_stack())),
    ("ScheduledTask", "__init__"): ("ScheduledTask", lambda props: (lambda stack: ScheduledTask(
        stack, "Task", function=_function(stack), schedule="rate(1 day)", **props))(new_stack())),
    ("ServiceMonitoring", "monitor_function"): ("ServiceMonitoring.monitor_function", _monitoring("monitor_function")),
    ("ServiceMonitoring", "monitor_http_api"): ("ServiceMonitoring.monitor_http_api", _monitoring("monitor_http_api")),
    ("ServiceMonitoring", "monitor_queue"): ("ServiceMonitoring.monitor_queue", _monitoring("monitor_queue")),
    ("ServiceMonitoring", "monitor_queue_worker"): ("ServiceMonitoring.monitor_queue_worker",
                                                    _monitoring("monitor_queue_worker")),
}
PROPS = sorted(duration_props())


def test_every_duration_prop_is_found_and_has_a_way_to_call_it() -> None:
    # a new construct or method with a Duration prop needs its entry in CALLS
    assert PROPS, "the signatures name Duration"
    assert {(owner, method) for owner, method, _ in PROPS} <= set(CALLS)
    assert len(PROPS) >= 17  # the props of this writing: a lost annotation would shrink the list


@pytest.mark.parametrize(("owner", "method", "prop"), PROPS, ids=[f"{o}.{m}.{p}" for o, m, p in PROPS])
@pytest.mark.parametrize("value", [30, 0.5, "30s"], ids=["int", "float", "str"])
def test_a_plain_value_fails_naming_the_prop_and_a_duration(owner: str, method: str, prop: str, value: object) -> None:
    # GIVEN a Duration prop  WHEN given a number or a string instead of a Duration
    construct, call = CALLS[(owner, method)]
    with pytest.raises(InvalidPropError) as raised:
        call({prop: value})
    # THEN the error names the construct, the prop, the value and what to pass
    assert (raised.value.construct, raised.value.prop, raised.value.value) == (construct, prop, value)
    assert raised.value.allowed == DURATION_EXPECTED == "a Duration (e.g. Duration.seconds(30))"
    assert f"invalid {prop}={value!r}" in str(raised.value)
