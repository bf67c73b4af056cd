"""One normalised snapshot per stack: any real infrastructure change shows up as a diff."""
from __future__ import annotations

from tests.cdk_helpers import SynthesizedService


def test_stateful_stack(service: SynthesizedService, snapshot_json) -> None:  # type: ignore[no-untyped-def]
    assert service.template_json(service.stacks.stateful) == snapshot_json


def test_stateless_stack(service: SynthesizedService, snapshot_json) -> None:  # type: ignore[no-untyped-def]
    assert service.template_json(service.stacks.stateless) == snapshot_json


def test_stateless_stack_with_realtime(realtime_service: SynthesizedService, snapshot_json) -> None:  # type: ignore[no-untyped-def]
    assert realtime_service.template_json(realtime_service.stacks.stateless) == snapshot_json


def test_stateless_stack_of_a_release_stage(release_service: SynthesizedService, snapshot_json) -> None:  # type: ignore[no-untyped-def]
    assert release_service.template_json(release_service.stacks.stateless) == snapshot_json
