"""cdk-nag (AwsSolutions + Serverless packs) passes with only reasoned acknowledgements."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cdk_helpers import SynthesizedService, synthesize_service


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedService:
    return synthesize_service(tmp_path_factory.mktemp("nag"), with_checks=True)


def test_no_unacknowledged_findings(checked: SynthesizedService) -> None:
    # synth raises on any unacknowledged finding; if it got here, check the report agrees
    report = checked.outdir / "policy-validation-report.json"
    if report.exists():
        data = json.loads(report.read_text())
        assert all(plugin.get("summary", {}).get("status") != "failure" for plugin in data.get("pluginReports", [])), \
            json.dumps(data, indent=1)[:4000]


def test_every_acknowledgement_has_a_specific_reason(checked: SynthesizedService) -> None:
    acknowledgements = _acknowledgements(checked.outdir)
    nag = [(rule, reason) for rule, reason in acknowledgements if rule.startswith(("AwsSolutions::", "Serverless::"))]
    assert nag, "cdk-nag findings were acknowledged (and so the checks ran)"
    for rule, reason in nag:
        assert "[" in rule or "IAM5" not in rule, f"{rule}: IAM5 must name the finding"
        assert len(reason) >= 40, f"{rule}: reason too short to be specific: {reason!r}"


def _acknowledgements(outdir: Path) -> list[tuple[str, str]]:
    """Every acknowledged rule recorded in the assembly's stack metadata, with its reason."""
    found = []
    for metadata in outdir.glob("*.metadata.json"):
        for entries in json.loads(metadata.read_text()).values():
            for entry in entries:
                if entry.get("type") == "aws:cdk:acknowledged-rules":
                    found += list(entry["data"].items())
    return found


def test_a_release_stage_with_its_canary_and_hook_has_no_unacknowledged_findings(release_service: SynthesizedService
                                                                                ) -> None:
    # the fixture synthesized with cdk-nag on: any unacknowledged finding would have failed it
    assert release_service.stacks.stateless.api_function.deployment_group is not None
    nag = dict(_acknowledgements(release_service.outdir))
    assert any("AWSCodeDeployRoleForLambdaLimited" in rule for rule in nag)
