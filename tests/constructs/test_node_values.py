"""node_values: what is read from Node once must equal what Node would say."""
from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from constructs_lib.node_values import own_path, path_of, seconds
from tests.cdk_helpers import new_stack


class TestPaths:
    def test_worked_out_path_equals_node_path(self) -> None:
        # GIVEN constructs nested under a stack, one with a '/' in its id
        stack = new_stack()
        outer = Construct(stack, "Outer/Part")
        inner = Construct(outer, "Inner")
        # WHEN their paths are worked out in Python THEN they equal what Node says
        assert own_path(outer, stack, "Outer/Part") == outer.node.path == "TestStack/Outer--Part"
        assert own_path(inner, outer, "Inner") == inner.node.path
        assert path_of(stack) == "TestStack"

    def test_the_app_has_the_empty_path(self) -> None:
        stack = new_stack()
        assert path_of(stack.node.root) == ""
        assert own_path(stack, stack.node.root, "TestStack") == "TestStack"


class TestSeconds:
    def test_keeps_fractions_and_remembers(self) -> None:
        half = Duration.millis(500)
        assert seconds(half) == 0.5
        assert seconds(half) == 0.5  # second read from the cache
        assert seconds(Duration.minutes(2)) == 120
