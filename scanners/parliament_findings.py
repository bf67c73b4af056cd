"""Run parliament over policy documents; runs in the scanners' venv (.venv-scan), not the project's.

Reads a JSON list of ``{"name": ..., "document": {...}}`` on stdin and prints a JSON list of
``{"name", "issue", "severity", "detail"}``, one per finding (community auditors included).
tests/stacks/test_scanners.py resolves the templates' intrinsic functions before calling it.
"""
from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)  # parliament imports pkg_resources

import parliament  # noqa: E402


def main() -> None:
    findings = []
    for policy in json.load(sys.stdin):
        analysed = parliament.analyze_policy_string(json.dumps(policy["document"]), include_community_auditors=True)
        for finding in analysed.findings:
            findings.append({"name": policy["name"], "issue": finding.issue, "severity": finding.severity,
                             "detail": f"{finding.detail} {finding.location}".strip()})
    json.dump(findings, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
