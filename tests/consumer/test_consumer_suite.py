"""An outside team's app, built against a wheel of the library, in three layouts, with the CDK CLI.

The wheel is installed into a directory of its own and the app runs from a fresh directory with a
minimal ``cdk.json``, so nothing of this repository's source tree is importable: what passes here is
what a team gets from ``pip install``. Each layout passes cdk-nag through the public
``constructs_lib.compliance.add_checks`` and cfn-lint (with the cfn-lint-serverless rules).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cdk_helpers import PROJECT
from tests.consumer.runtime import install_from_checkout
from tests.stacks.scanners import cfn_lint_findings, load_skips

CDK = PROJECT / "node_modules" / ".bin" / "cdk"
HERE = Path(__file__).resolve().parent
ZONES = {"availability-zones:account=111122223333:region=eu-west-1": ["eu-west-1a", "eu-west-1b", "eu-west-1c"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The library as a team installs it: a wheel built from the project, installed on its own."""
    wheels, target = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(PROJECT), "--no-deps", "--quiet", "-w", str(wheels)],
                   check=True, capture_output=True)
    wheel, = wheels.glob("cdk_serverless_postgres-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    return target


def synth(directory: Path, site: Path, *context: str) -> subprocess.CompletedProcess[str]:
    """``cdk synth`` in ``directory`` with the wheel's install on PYTHONPATH (and not the project)."""
    (directory / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
    (directory / "cdk.context.json").write_text(json.dumps(ZONES))
    (directory / "node_modules").symlink_to(PROJECT / "node_modules")  # the team's npm install (CLI, CA bundle)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PYTEST_"))}
    env.update(PYTHONPATH=str(site), HOME=str(directory), CDK_DISABLE_VERSION_CHECK="1",
               CDK_DISABLE_CLI_TELEMETRY="true", AWS_EC2_METADATA_DISABLED="true",
               CDK_VALIDATION="false")
    args = [str(CDK), "synth", "--quiet", "--no-notices", "--output", "cdk.out"]
    for item in context:
        args += ["-c", item]
    return subprocess.run(args, cwd=directory, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(("layout", "stacks"), [("single", {"Orders"}), ("split", {"OrdersData", "OrdersService"}),
                                                ("api", {"OrdersApi"})])
def test_each_layout_synthesizes_from_the_wheel_and_passes_cdk_nag_and_cfn_lint(
        layout: str, stacks: set[str], site: Path, tmp_path: Path) -> None:
    # GIVEN the team's project (its own handler package, its app) in an empty directory
    shutil.copytree(HERE / "project", tmp_path, dirs_exist_ok=True)
    # WHEN it runs cdk synth (cdk-nag runs inside, through constructs_lib.compliance.add_checks)
    result = synth(tmp_path, site, f"layout={layout}")
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    # THEN the library came from the wheel's install, not from this repository
    assert Path((tmp_path / "constructs_lib_from.txt").read_text()).is_relative_to(site)
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text())
    assert {name for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"} == stacks
    # AND cfn-lint (with the serverless rules) finds nothing beyond what the library accepts everywhere
    accepted = {skip.rule for skip in load_skips() if skip.scanner == "cfn-lint"}
    found = cfn_lint_findings(sorted((tmp_path / "cdk.out").glob("*.template.json")))
    assert [str(f) for f in found if f.rule not in accepted] == []


def test_the_readme_consumer_section_works_in_an_empty_directory(site: Path, tmp_path: Path) -> None:
    # GIVEN the README's consumer example, copied as a reader would into an empty directory: its
    # handler package (the files it shows) and its app
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("## Use the constructs in your own CDK app", 1)[1].split("\n## ", 1)[0]
    for path, body in re.findall(r"<!-- file: (\S+) -->\s*```\w*\n(.*?)```", section, re.S):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    install_from_checkout(tmp_path / "orders" / "requirements.txt", tmp_path / "runtime")
    app, = re.findall(r"<!-- example: minimal -->\s*```python\n(.*?)```", section, re.S)
    (tmp_path / "app.py").write_text(app)
    # WHEN it runs cdk synth THEN it synthesizes
    result = synth(tmp_path, site)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    assert list((tmp_path / "cdk.out").glob("*.template.json"))
    # AND the function's asset holds the handler runtime, installed from the package's requirements.txt
    [asset] = (tmp_path / ".bundle-cache" / "bundles").iterdir()
    assert (asset / "lambda_src" / "web" / "router.py").is_file() and (asset / "orders" / "http.py").is_file()
