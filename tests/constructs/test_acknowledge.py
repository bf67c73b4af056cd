"""acknowledge: findings on the same construct go to CDK in one call, each keeping its own reason."""
from __future__ import annotations

from typing import Any

import pytest
from constructs import Construct

import constructs_lib.acknowledge as acknowledge_module
from constructs_lib.acknowledge import acknowledge, acknowledge_each
from tests.cdk_helpers import new_stack


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every Validations.of(scope).acknowledge(...) call made, as (scope id, [(rule id, reason)])."""
    made: list[tuple[str, list[tuple[str, str]]]] = []
    real = acknowledge_module.Validations

    class Recording:
        @staticmethod
        def of(scope: Any) -> Any:
            validations = real.of(scope)

            class Recorder:
                def acknowledge(self, *rules: Any) -> None:
                    made.append((scope.node.id, [(rule.id, rule.reason) for rule in rules]))
                    validations.acknowledge(*rules)
            return Recorder()

    monkeypatch.setattr(acknowledge_module, "Validations", Recording)
    return made


def test_findings_on_one_scope_share_one_call(calls) -> None:  # type: ignore[no-untyped-def]
    # GIVEN two constructs WHEN three findings are acknowledged, two of them on the same construct
    stack = new_stack()
    first, second = Construct(stack, "First"), Construct(stack, "Second")
    acknowledge_each([(first, "Serverless-LambdaDLQ", "why one"), (second, "AwsSolutions-L1", "why two"),
                      (first, "AwsSolutions-IAM5[Resource::*]", "why three")])
    # THEN there is one call per construct, each finding with its pack prefix and its own reason
    assert calls == [("First", [("Serverless::Serverless-LambdaDLQ", "why one"),
                                ("AwsSolutions::AwsSolutions-IAM5[Resource::*]", "why three")]),
                     ("Second", [("AwsSolutions::AwsSolutions-L1", "why two")])]


def test_unknown_pack_is_rejected(calls) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown cdk-nag pack"):
        acknowledge(new_stack(), "Custom-Rule1", "reason")
    assert calls == []
