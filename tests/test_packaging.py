"""`pip install git+<repo>` gives an importable, typed constructs_lib; the CLI reads our assembly."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.cdk_helpers import PROJECT, SynthesizedService


def test_wheel_contains_typed_constructs_lib(tmp_path: Path) -> None:
    # GIVEN the project WHEN pip builds it as a user's `pip install git+...` would
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(PROJECT), "--no-deps", "--quiet", "-w", str(tmp_path)],
                   check=True, capture_output=True)
    wheel, = tmp_path.glob("cdk_serverless_postgres-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # THEN the library and its py.typed marker ship, and nothing of the example or tests
    assert {"constructs_lib/__init__.py", "constructs_lib/py.typed", "constructs_lib/function/construct.py",
            "constructs_lib/database/construct.py"} <= names
    assert not any(name.startswith(("tests/", "stacks/", "lambda_src/")) for name in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: aws-cdk-lib" in metadata and "Requires-Dist: constructs" in metadata


def test_pinned_cli_reads_the_assembly(service: SynthesizedService) -> None:
    # GIVEN the assembly aws-cdk-lib wrote WHEN the pinned CLI lists it THEN it understands every stack
    cli = PROJECT / "node_modules" / ".bin" / "cdk"
    completed = subprocess.run([str(cli), "ls", "--app", str(service.outdir), "--no-notices"],
                               capture_output=True, text=True, cwd=PROJECT, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert set(completed.stdout.split()) == {artifact.stack_name for artifact in service.assembly.stacks}


def test_synth_summary_lists_stacks_resources_and_assets(service: SynthesizedService) -> None:
    completed = subprocess.run([sys.executable, str(PROJECT / "scripts" / "synth_summary.py"), str(service.outdir)],
                               capture_output=True, text=True, check=True)
    assert "Users-dev-Stateful (123456789012/eu-west-1):" in completed.stdout
    assert "AWS::RDS::DBCluster" in completed.stdout and "AWS::Lambda::Function" in completed.stdout
    lines = completed.stdout.splitlines()
    assert any(line.startswith("assets: ") and line.endswith("MiB") for line in lines)
    # the deploy contract follows the summary, and its file is written beside the templates
    assert re.fullmatch(r"deploy contract: \d+ flows allowed, \d+ denials proven", lines[-2])
    assert int(lines[-2].split()[2]) >= 30 and (service.outdir / "flows.md").read_text().count("```mermaid") == 1


def test_synth_summary_fails_when_a_flow_does_not_hold(service: SynthesizedService, tmp_path: Path) -> None:
    # GIVEN the example's assembly with the alarm topic's policy removed (the first round's bug)
    shutil.copytree(service.outdir, tmp_path / "out")
    stateless = tmp_path / "out" / "Users-dev-Stateless.template.json"
    template = json.loads(stateless.read_text())
    template["Resources"] = {k: v for k, v in template["Resources"].items() if v["Type"] != "AWS::SNS::TopicPolicy"}
    stateless.write_text(json.dumps(template))
    # WHEN the synth summary runs  THEN it names the failing flow and exits non-zero
    completed = subprocess.run([sys.executable, str(PROJECT / "scripts" / "synth_summary.py"), str(tmp_path / "out")],
                               capture_output=True, text=True)
    assert completed.returncode == 1
    assert "1 FAILED" in completed.stdout and "CloudWatch alarm → alarm topic" in completed.stdout
