"""`pip install git+<repo>` gives an importable, typed constructs_lib; the CLI reads our assembly."""
from __future__ import annotations

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
    assert "MiB" in completed.stdout.splitlines()[-1]
