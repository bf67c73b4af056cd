"""Running the independent scanners (checkov, cfn-lint with the serverless rules, parliament) over
synthesized templates, and matching their findings against the skips in scanners/skips.yaml.

The scanners live in their own venv (``.venv-scan``, created by ``make test`` from
requirements-scan.txt) because checkov pins an older boto3 than the project does.

A finding is named ``<stack>/<logical id>``, the stack being the last part of the template's name
(``Users-dev-Stateless.template.json`` → ``Stateless``), so one skip covers every stage and variant.
"""
from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.cdk_helpers import PROJECT
from tests.policy_eval import CfnValues

SCAN_VENV = PROJECT / ".venv-scan"
SKIPS_FILE = PROJECT / "scanners" / "skips.yaml"
PARLIAMENT_RUNNER = PROJECT / "scanners" / "parliament_findings.py"
#: The scanners, each under the name its section in skips.yaml has.
SCANNERS = ("checkov", "cfn-lint", "parliament")
#: A skip whose resources are this applies to every resource (only for rules about CDK's own output).
EVERY_RESOURCE = "*"


@dataclass(frozen=True)
class Finding:
    """One failed check of one scanner on one resource."""

    scanner: str
    rule: str
    resource: str
    detail: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.scanner} {self.rule} on {self.resource}: {self.detail}"


@dataclass(frozen=True)
class Skip:
    """A finding explained in skips.yaml: a rule, the resources it is accepted on, and why."""

    scanner: str
    rule: str
    resources: tuple[str, ...]
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (finding.scanner == self.scanner and finding.rule == self.rule
                and (self.resources == (EVERY_RESOURCE,) or finding.resource in self.resources))


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    """The skips of every scanner, in file order."""
    data = yaml.safe_load(path.read_text()) or {}
    unknown = set(data) - set(SCANNERS)
    if unknown:
        raise ValueError(f"{path.name}: unknown sections {sorted(unknown)}; expected {SCANNERS}")
    skips = []
    for scanner in SCANNERS:
        for entry in data.get(scanner) or []:
            if set(entry) != {"id", "resources", "reason"}:
                raise ValueError(f"{path.name}: {scanner} entry {entry!r} must have exactly id, resources and reason")
            resources = entry["resources"]
            resources = (resources,) if isinstance(resources, str) else tuple(resources)
            skips.append(Skip(scanner, str(entry["id"]), resources, str(entry["reason"]).strip()))
    return skips


def unexplained(findings: Iterable[Finding], skips: Sequence[Skip]) -> list[Finding]:
    """The findings no skip covers."""
    return [finding for finding in findings if not any(skip.covers(finding) for skip in skips)]


def stale(findings: Iterable[Finding], skips: Sequence[Skip]) -> list[str]:
    """Each skipped (rule, resource) pair that no finding needs any more, as text."""
    found = {(finding.scanner, finding.rule, finding.resource) for finding in findings}
    rules = {(scanner, rule) for scanner, rule, _ in found}
    gone = []
    for skip in skips:
        if skip.resources == (EVERY_RESOURCE,):
            if (skip.scanner, skip.rule) not in rules:
                gone.append(f"{skip.scanner} {skip.rule} on every resource")
            continue
        gone += [f"{skip.scanner} {skip.rule} on {resource}" for resource in skip.resources
                 if (skip.scanner, skip.rule, resource) not in found]
    return gone


def stack_label(template: str | Path) -> str:
    """``…/Users-dev-Stateless.template.json`` → ``Stateless``."""
    return Path(template).name.removesuffix(".template.json").rsplit("-", 1)[-1]


def scanner_path(name: str) -> Path:
    path = SCAN_VENV / "bin" / name
    assert path.exists(), f"{path} is missing: `make test` creates the scanners' venv from requirements-scan.txt"
    return path


# ---- checkov ----------------------------------------------------------------------------------
def checkov_findings(templates: Sequence[Path]) -> list[Finding]:
    """checkov's CloudFormation checks, failed ones only (offline: nothing downloaded)."""
    args = [str(scanner_path("checkov")), "--framework", "cloudformation", "--skip-download", "--quiet",
            "--compact", "--output", "json"]
    for template in templates:
        args += ["--file", str(template)]
    completed = subprocess.run(args, capture_output=True, text=True, cwd=PROJECT, timeout=600)
    assert completed.returncode in (0, 1), completed.stderr[-4000:]
    reports = json.loads(completed.stdout)
    findings = []
    for report in reports if isinstance(reports, list) else [reports]:
        assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] > 0, report["summary"]
        for check in report["results"]["failed_checks"]:
            logical_id = check["resource"].split(".", 1)[1]
            findings.append(Finding("checkov", check["check_id"], f"{stack_label(check['file_path'])}/{logical_id}",
                                    check["check_name"]))
    return findings


# ---- cfn-lint ---------------------------------------------------------------------------------
def cfn_lint_findings(templates: Sequence[Path]) -> list[Finding]:
    """cfn-lint's own rules plus cfn-lint-serverless's, every finding (errors, warnings, informational)."""
    args = [str(scanner_path("cfn-lint")), "--format", "json", "--append-rules", "cfn_lint_serverless.rules",
            "--", *map(str, templates)]
    completed = subprocess.run(args, capture_output=True, text=True, cwd=PROJECT, timeout=600)
    assert completed.returncode in range(0, 16, 2), completed.stderr[-4000:]  # odd: cfn-lint itself failed
    findings = []
    for match in json.loads(completed.stdout or "[]"):
        path = match["Location"]["Path"]
        where = path[1] if len(path) > 1 and path[0] == "Resources" else "/".join(map(str, path))
        findings.append(Finding("cfn-lint", match["Rule"]["Id"], f"{stack_label(match['Filename'])}/{where}",
                                match["Message"]))
    return findings


# ---- parliament -------------------------------------------------------------------------------
def parliament_findings(templates: Sequence[Path]) -> list[Finding]:
    """parliament over every identity policy and every resource policy it can read (those with a
    Resource element: key, queue, topic and secret policies). Role trust policies have none, and
    parliament reports any statement without one as malformed, so they are left out."""
    documents = policy_documents(templates)
    completed = subprocess.run([str(scanner_path("python")), str(PARLIAMENT_RUNNER)], input=json.dumps(
        [{"name": name, "document": document} for name, document in documents]),
        capture_output=True, text=True, cwd=PROJECT, timeout=600)
    assert completed.returncode == 0, completed.stderr[-4000:]
    return [Finding("parliament", finding["issue"], finding["name"], finding["detail"])
            for finding in json.loads(completed.stdout)]


#: Where policy documents sit in a template, by resource type.
_POLICY_PROPERTIES = {
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy",),
}


def policy_documents(templates: Sequence[Path]) -> list[tuple[str, dict[str, Any]]]:
    """``(<stack>/<logical id>, document)`` for every policy, intrinsic functions resolved to
    realistic values (ARNs shaped as AWS shapes them) so parliament can match resources to actions."""
    loaded = {Path(template): json.loads(Path(template).read_text()) for template in templates}
    documents = []
    for path, template in loaded.items():
        resolver = CfnValues(template, [other for where, other in loaded.items() if where.parent == path.parent])
        for logical_id, resource in template.get("Resources", {}).items():
            properties = resource.get("Properties", {})
            name = f"{stack_label(path)}/{logical_id}"
            for key in _POLICY_PROPERTIES.get(resource["Type"], ()):
                documents.append((name, resolver.resolve(properties[key])))
            if resource["Type"] == "AWS::IAM::Role":  # inline policies; the trust policy is left out (see above)
                documents += [(name, resolver.resolve(policy["PolicyDocument"])) for policy in properties.get("Policies", [])]
    return documents
