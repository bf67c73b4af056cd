"""Independent scanners as gates: checkov, cfn-lint with the serverless rules, and parliament over
every template of each variant (default, ``-c realtime=true``, and a release stage, whose API
function deploys as a canary), with zero unexplained findings.

Every accepted finding is in scanners/skips.yaml with its reason; a skip that matches nothing any
more fails too, so the file never outlives what it explains. The scanners come from their own
pinned venv (requirements-scan.txt, created by ``make test``).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cdk_helpers import SynthesizedService
from tests.stacks import scanners
from tests.stacks.scanners import EVERY_RESOURCE, Finding, Skip


@pytest.fixture(scope="module")
def templates(service: SynthesizedService, realtime_service: SynthesizedService,
              release_service: SynthesizedService) -> list[Path]:
    outdirs = (service.outdir, realtime_service.outdir, release_service.outdir)
    found = sorted(path for outdir in outdirs for path in outdir.glob("*.template.json"))
    assert len(found) == 6, found  # stateful and stateless: default, realtime, and a release stage (canary)
    return found


@pytest.fixture(scope="module")
def findings(templates: list[Path]) -> dict[str, list[Finding]]:
    """Every scanner's findings over every template, each scanner run once."""
    return {"checkov": scanners.checkov_findings(templates),
            "cfn-lint": scanners.cfn_lint_findings(templates),
            "parliament": scanners.parliament_findings(templates)}


@pytest.fixture(scope="module")
def skips() -> list[Skip]:
    return scanners.load_skips()


@pytest.mark.parametrize("scanner", scanners.SCANNERS)
def test_no_unexplained_finding(scanner: str, findings: dict[str, list[Finding]], skips: list[Skip]) -> None:
    # GIVEN every template WHEN the scanner runs THEN each finding is explained by a skip
    unexplained = scanners.unexplained(findings[scanner], skips)
    assert not unexplained, "fix these in the construct, or explain them in scanners/skips.yaml:\n" + "\n".join(
        sorted({str(finding) for finding in unexplained}))


def test_no_stale_skip(findings: dict[str, list[Finding]], skips: list[Skip]) -> None:
    # GIVEN the skips WHEN compared with what the scanners found THEN every skipped pair still fires
    everything = [finding for found in findings.values() for finding in found]
    gone = scanners.stale(everything, skips)
    assert not gone, "these skips match nothing any more; remove them from scanners/skips.yaml:\n" + "\n".join(gone)


def test_every_skip_has_a_one_line_reason_and_names_its_resources(skips: list[Skip]) -> None:
    assert skips, "scanners/skips.yaml was read"
    seen: set[tuple[str, str, str]] = set()
    for skip in skips:
        assert len(skip.reason) >= 40 and "\n" not in skip.reason, f"{skip.scanner} {skip.rule}: {skip.reason!r}"
        assert skip.resources and all(r == EVERY_RESOURCE or r.count("/") == 1 for r in skip.resources), skip
        assert EVERY_RESOURCE not in skip.resources or skip.resources == (EVERY_RESOURCE,), skip
        for resource in skip.resources:
            assert (skip.scanner, skip.rule, resource) not in seen, f"{skip.rule} on {resource} is skipped twice"
            seen.add((skip.scanner, skip.rule, resource))
    # only cfn-lint rules about what CDK writes everywhere may skip every resource
    assert {skip.rule for skip in skips if skip.resources == (EVERY_RESOURCE,)} == {"W3005"}


def test_every_policy_document_is_read(templates: list[Path]) -> None:
    # GIVEN the templates WHEN their policies are collected THEN identity and resource policies are all there
    documents = dict(scanners.policy_documents(templates))
    stateless = json.loads(next(p for p in templates if p.name.endswith("Stateless.template.json")).read_text())
    kinds = {"AWS::IAM::Policy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::KMS::Key"}
    for logical_id, resource in stateless["Resources"].items():
        if resource["Type"] in kinds:
            assert f"Stateless/{logical_id}" in documents
    assert any(name.startswith("Stateful/") and "SecretPolicy" in name for name in documents)
    # and no intrinsic function is left for parliament to misread
    assert "Fn::" not in json.dumps(list(documents.values())) and '"Ref"' not in json.dumps(list(documents.values()))


class TestGateLogic:
    """The gate fails on a new finding and on a stale skip (synthetic findings, no scanner run)."""

    SKIP = Skip("checkov", "CKV_AWS_116", ("Stateless/ApiFunction1", "Stateless/MigrateFunction2"), "synchronous")

    def test_a_new_finding_is_unexplained(self) -> None:
        new = Finding("checkov", "CKV_AWS_116", "Stateless/NewFunction3")
        other_rule = Finding("checkov", "CKV_AWS_117", "Stateless/ApiFunction1")
        assert scanners.unexplained([new, other_rule], [self.SKIP]) == [new, other_rule]

    def test_a_skipped_finding_is_explained(self) -> None:
        assert scanners.unexplained([Finding("checkov", "CKV_AWS_116", "Stateless/ApiFunction1")], [self.SKIP]) == []

    def test_a_skipped_resource_without_its_finding_is_stale(self) -> None:
        only_one = [Finding("checkov", "CKV_AWS_116", "Stateless/ApiFunction1")]
        assert scanners.stale(only_one, [self.SKIP]) == ["checkov CKV_AWS_116 on Stateless/MigrateFunction2"]

    def test_a_skip_for_every_resource_is_stale_when_the_rule_never_fires(self) -> None:
        everywhere = Skip("cfn-lint", "W3005", (EVERY_RESOURCE,), "CDK writes these")
        assert scanners.stale([Finding("cfn-lint", "W3005", "Stateful/X")], [everywhere]) == []
        assert scanners.stale([], [everywhere]) == ["cfn-lint W3005 on every resource"]

    def test_skips_file_is_strict(self, tmp_path: Path) -> None:
        bad = tmp_path / "skips.yaml"
        bad.write_text("checkov:\n  - id: CKV_AWS_1\n    resources: [Stateless/X]\n")
        with pytest.raises(ValueError, match="exactly id, resources and reason"):
            scanners.load_skips(bad)
        bad.write_text("trivy: []\n")
        with pytest.raises(ValueError, match="unknown sections"):
            scanners.load_skips(bad)


def test_parliament_reports_a_policy_that_grants_nothing(tmp_path: Path) -> None:
    # GIVEN a template whose policy pairs an S3 action with a queue WHEN parliament reads it
    template = tmp_path / "Users-dev-Stateless.template.json"
    template.write_text(json.dumps({"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Policy": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p", "Roles": ["r"], "PolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                    "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}]}}}}}))
    # THEN it reports the resource mismatch on that policy
    assert Finding("parliament", "RESOURCE_MISMATCH", "Stateless/Policy") in scanners.parliament_findings([template])
