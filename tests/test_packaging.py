"""`pip install git+<repo>` gives an importable, typed constructs_lib; the CLI reads our assembly."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest

from constructs_lib import PythonBundle, ServerlessFunction
from tests.cdk_helpers import PROJECT, SynthesizedService, cdk_context

SUMMARY = PROJECT / "scripts" / "synth_summary.py"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a user's `pip install git+...` would."""
    directory = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(PROJECT), "--no-deps", "--quiet", "-w", str(directory)],
                   check=True, capture_output=True)
    built, = directory.glob("cdk_serverless_postgres-*.whl")
    return built


def summary_of(assembly: Path) -> subprocess.CompletedProcess[str]:
    """`make synth`'s summary of ``assembly``, as it prints it."""
    return subprocess.run([sys.executable, str(SUMMARY), str(assembly)], capture_output=True, text=True)


def summary_lines(assembly: Path) -> list[str]:
    """The summary's stacks, resources and assets part (without the deploy contract), in process."""
    spec = importlib.util.spec_from_file_location("synth_summary", SUMMARY)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    lines: list[str] = module.summarize(assembly).splitlines()
    return lines


def test_wheel_contains_typed_constructs_lib(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    # THEN the library, its py.typed marker and the bytecode compiler's script ship, and nothing of the example or tests
    assert {"constructs_lib/__init__.py", "constructs_lib/py.typed", "constructs_lib/function/construct.py",
            "constructs_lib/database/construct.py", "constructs_lib/pyodide_compile.mjs"} <= names
    assert not any(name.startswith(("tests/", "stacks/", "lambda_src/")) for name in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: aws-cdk-lib" in metadata and "Requires-Dist: constructs" in metadata


def test_the_wheel_carries_the_runtimes_environment_contract_byte_for_byte(wheel: Path) -> None:
    # GIVEN constructs_lib/runtime_environment.py, a symlink to the runtime's lambda_src/environment.py
    # WHEN the wheel is built THEN it holds that file's content as a regular file, identical to the runtime's
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo("constructs_lib/runtime_environment.py")
        shipped = archive.read(info)
    assert (info.external_attr >> 16) & 0o170000 != 0o120000  # not a symlink entry
    assert shipped == (PROJECT / "lambda_src" / "environment.py").read_bytes()


def test_pinned_cli_reads_the_assembly(service: SynthesizedService) -> None:
    # GIVEN the assembly aws-cdk-lib wrote WHEN the pinned CLI lists it THEN it understands every stack
    cli = PROJECT / "node_modules" / ".bin" / "cdk"
    completed = subprocess.run([str(cli), "ls", "--app", str(service.outdir), "--no-notices"],
                               capture_output=True, text=True, cwd=PROJECT, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert set(completed.stdout.split()) == {artifact.stack_name for artifact in service.assembly.stacks}


def test_synth_summary_lists_stacks_resources_and_assets(service: SynthesizedService) -> None:
    completed = summary_of(service.outdir)
    assert completed.returncode == 0, completed.stderr
    assert "Users-dev-Stateful (123456789012/eu-west-1):" in completed.stdout
    assert "AWS::RDS::DBCluster" in completed.stdout and "AWS::Lambda::Function" in completed.stdout
    lines = completed.stdout.splitlines()
    assert any(line.startswith("assets: ") and line.endswith("MiB") for line in lines)
    # the handler asset's bytecode: Python 3.13 for every .py, and the asset's size with and without it
    bytecode, = (line for line in lines if line.startswith("python asset "))
    match = re.fullmatch(r"python asset [0-9a-f]{12}: (\d+) \.py, Python 3\.13 bytecode \(unchecked-hash \.pyc\) "
                         r"for (\d+)/(\d+); ([\d.]+) MiB, ([\d.]+) MiB without it", bytecode)
    assert match and int(match[1]) > 100 and match[1] == match[2] == match[3]
    assert float(match[4]) > float(match[5]) > 0
    assert not any("synth warned" in line for line in lines)
    # the deploy contract follows the summary, and its file is written beside the templates
    assert re.fullmatch(r"deploy contract: \d+ flows allowed, \d+ denials proven", lines[-2])
    assert int(lines[-2].split()[2]) >= 30 and (service.outdir / "flows.md").read_text().count("```mermaid") == 1


def test_synth_summary_counts_only_the_assets_this_synth_uses(service: SynthesizedService, tmp_path: Path) -> None:
    # GIVEN an assembly directory still holding a large asset of an earlier synth (cdk synth leaves them)
    shutil.copytree(service.outdir, tmp_path / "out")
    stale = tmp_path / "out" / f"asset.{'0' * 64}"
    (stale / "lambda_src").mkdir(parents=True)
    (stale / "lambda_src" / "big.py").write_text("#" * 3_000_000)
    # WHEN summarised THEN it counts the same assets as the untouched assembly, and shows no line for that one
    before, after = summary_lines(service.outdir), summary_lines(tmp_path / "out")
    assets = [line for line in before if line.startswith(("assets: ", "python asset "))]
    assert assets == [line for line in after if line.startswith(("assets: ", "python asset "))] and len(assets) == 2


def test_synth_summary_says_when_no_bytecode_shipped_and_why(tmp_path: Path) -> None:
    # GIVEN an app whose bundle targets Python 3.12, for which no compiler is pinned
    package = tmp_path / "handlers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text("def handler(event, context):\n    return 1\n")
    app = cdk.App(outdir=str(tmp_path / "cdk.out"), context=cdk_context())
    stack = cdk.Stack(app, "Svc", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    ServerlessFunction(stack, "Fn", handler="handlers.app.handler", runtime=cdk.aws_lambda.Runtime.PYTHON_3_12,
                       code=PythonBundle(source_dir=package, python_version="3.12", cache_dir=tmp_path / "cache",
                                         npm_root=PROJECT, log=lambda _line: None))
    app.synth()
    # WHEN summarised THEN a line says no bytecode shipped, and the next why
    lines = summary_lines(tmp_path / "cdk.out")
    index = next(i for i, line in enumerate(lines) if line.startswith("python asset "))
    assert re.fullmatch(r"python asset [0-9a-f]{12}: 2 \.py, NO bytecode shipped \(every module compiles at each "
                        r"cold start\); [\d.]+ MiB", lines[index])
    assert lines[index + 1].startswith("  synth warned: no bytecode shipped in the handlers bundle: no pinned compiler "
                                       "for Python 3.12: ")


def test_wheel_consumer_without_pyodide_synthesizes_and_is_told_no_bytecode_shipped(wheel: Path, tmp_path: Path) -> None:
    # GIVEN the library installed from the wheel in a CDK app whose node_modules has no pyodide
    site, app_dir = tmp_path / "site", tmp_path / "app"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    (app_dir / "handlers").mkdir(parents=True)
    (app_dir / "handlers" / "__init__.py").write_text("")
    (app_dir / "handlers" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (app_dir / "app.py").write_text(textwrap.dedent("""
        from pathlib import Path
        import aws_cdk as cdk
        import constructs_lib
        from constructs_lib import PythonBundle, ServerlessFunction

        app = cdk.App(outdir="cdk.out")
        stack = cdk.Stack(app, "Consumer")
        ServerlessFunction(stack, "Fn", code=PythonBundle(source_dir=Path("handlers")), handler="handlers.app.handler")
        app.synth()
        print(constructs_lib.__file__)
    """))
    # WHEN the app synthesizes
    env = {**os.environ, "PYTHONPATH": str(site)}
    completed = subprocess.run([sys.executable, "app.py"], cwd=app_dir, env=env, capture_output=True, text=True,
                               timeout=300)
    # THEN synth works, with the installed library, and the summary says no bytecode shipped and how to get it
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().startswith(str(site))
    lines = summary_lines(app_dir / "cdk.out")
    assert any(line.startswith("python asset ") and "NO bytecode shipped" in line for line in lines)
    warning, = (line for line in lines if line.startswith("  synth warned: "))
    assert "no bytecode compiler: npm package pyodide is not in node_modules" in warning
    assert "npm install --save-dev --save-exact pyodide@0.28.3" in warning


def test_synth_summary_fails_when_a_flow_does_not_hold(service: SynthesizedService, tmp_path: Path) -> None:
    # GIVEN the example's assembly with the alarm topic's policy removed (the first round's bug)
    shutil.copytree(service.outdir, tmp_path / "out")
    stateless = tmp_path / "out" / "Users-dev-Stateless.template.json"
    template = json.loads(stateless.read_text())
    template["Resources"] = {k: v for k, v in template["Resources"].items() if v["Type"] != "AWS::SNS::TopicPolicy"}
    stateless.write_text(json.dumps(template))
    # WHEN the synth summary runs  THEN it names the failing flow and exits non-zero
    completed = summary_of(tmp_path / "out")
    assert completed.returncode == 1
    assert "1 FAILED" in completed.stdout and "CloudWatch alarm → alarm topic" in completed.stdout
