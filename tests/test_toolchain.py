"""Node 22+ from the npm package ``node`` pinned in package.json: the Makefile runs jsii, the CDK CLI and every
node a recipe starts on it (and silences no end-of-life warning); synth's bytecode compiler finds it too."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from constructs_lib.bytecode import find_compiler
from constructs_lib.npm import JSII_NODE, find_node
from tests.cdk_helpers import PROJECT

NODE_BIN = PROJECT / "node_modules" / ".bin"
PINNED_NODE = PROJECT / "node_modules" / "node" / "bin" / "node"

#: A target added to the project's Makefile for the test: where node resolves in a recipe, what jsii runs on
#: (the executable of the Python process's jsii kernel) and what it printed on stderr.
PROBE = r"""
probe:
	@echo "node on PATH: $$(command -v node)"
	@echo "JSII_NODE: $$JSII_NODE"
	@env | grep '^JSII_SILENCE' || true
	@$(PY) -c "$$JSII_PROBE"
"""
JSII_PROBE = """
import os, pathlib, subprocess, sys
import aws_cdk
aws_cdk.App().synth()
tasks = pathlib.Path('/proc/self/task').iterdir()
children = [pid for task in tasks for pid in (task / 'children').read_text().split()]
kernels = {os.readlink(f'/proc/{pid}/exe') for pid in children
           if b'jsii-runtime' in pathlib.Path(f'/proc/{pid}/cmdline').read_bytes()}
for kernel in kernels:
    print('jsii runs on:', subprocess.run([kernel, '--version'], capture_output=True, text=True).stdout.strip())
"""


def major(version: str) -> int:
    """22 for ``v22.23.3``."""
    return int(version.lstrip("v").split(".")[0])


def version_of(node: str | Path) -> str:
    return subprocess.run([str(node), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def without_pinned_node() -> dict[str, str]:
    """This process's environment without what points at the pinned Node (conftest gives it to plain pytest
    runs), so that only the Makefile can put it back."""
    env = {key: value for key, value in os.environ.items() if key != JSII_NODE and not key.startswith("MAKE")}
    env["PATH"] = os.pathsep.join(part for part in env["PATH"].split(os.pathsep) if Path(part) != NODE_BIN)
    return env


def test_npm_ci_installs_the_node_package_json_pins_a_node_22_or_later() -> None:
    # GIVEN the Node package.json pins (exactly) and the lock file records
    pinned = json.loads((PROJECT / "package.json").read_text())["devDependencies"]["node"]
    locked = json.loads((PROJECT / "package-lock.json").read_text())["packages"]["node_modules/node"]["version"]
    # THEN it is one exact release of Node 22 or later, and that is the binary in node_modules
    assert pinned == locked and major(pinned) >= 22, pinned
    assert version_of(NODE_BIN / "node") == f"v{pinned}"


def test_make_runs_jsii_and_every_node_on_the_pinned_node_and_silences_no_warning() -> None:
    # GIVEN an environment whose own node is whatever the machine has (Node 20 here)
    env = without_pinned_node()
    # WHEN a recipe of the project's Makefile reports its node and imports aws_cdk (jsii starts its kernel)
    result = subprocess.run(["make", "--no-print-directory", "-s", "-f", "Makefile", "-f", "-", "probe"],
                            cwd=PROJECT, input=PROBE, env={**env, "JSII_PROBE": JSII_PROBE},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # THEN node on PATH (the CDK CLI's `#!/usr/bin/env node`, the bytecode compiler) is the pinned one
    assert f"node on PATH: {NODE_BIN / 'node'}" in lines
    assert f"JSII_NODE: {NODE_BIN / 'node'}" in lines
    # AND jsii's kernel runs on Node 22 or later: no end-of-life banner, and none silenced
    kernels = [line.removeprefix("jsii runs on: ") for line in lines if line.startswith("jsii runs on: ")]
    assert len(kernels) == 1 and major(kernels[0]) >= 22, result.stdout
    assert not [line for line in lines if line.startswith("JSII_SILENCE")], result.stdout
    assert "end-of-life" not in result.stderr and "!!" not in result.stderr, result.stderr


class TestFindNode:
    """How synth's npm tools find Node outside the Makefile: JSII_NODE, the app's pinned node, node on PATH."""

    @pytest.fixture
    def app(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """A CDK app that pinned Node with npm (the project's package, linked), in an environment with neither
        JSII_NODE nor the pinned Node on PATH."""
        (tmp_path / "node_modules").mkdir()
        (tmp_path / "node_modules" / "node").symlink_to(PROJECT / "node_modules" / "node")
        (tmp_path / "node_modules" / "pyodide").symlink_to(PROJECT / "node_modules" / "pyodide")
        monkeypatch.delenv(JSII_NODE, raising=False)
        monkeypatch.setenv("PATH", without_pinned_node()["PATH"])
        return tmp_path

    def test_the_apps_pinned_node_comes_before_node_on_path(self, app: Path) -> None:
        # WHEN synth looks for Node from a directory of the app
        (app / "infra").mkdir()
        node = find_node(app / "infra")
        # THEN it is the npm package's binary, Node 22+, whatever node PATH has
        assert node == str(app / "node_modules" / "node" / "bin" / "node")
        assert major(version_of(node)) >= 22

    def test_jsii_node_comes_first(self, app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        # GIVEN JSII_NODE names a Node (here, by name on PATH, as jsii also takes it)
        chosen = app / "bin"
        chosen.mkdir()
        (chosen / "node").symlink_to(PINNED_NODE)
        monkeypatch.setenv("PATH", os.pathsep.join([str(chosen), os.environ["PATH"]]))
        monkeypatch.setenv(JSII_NODE, "node")
        # THEN synth runs the Node jsii runs on
        assert find_node(app) == str(chosen / "node")

    def test_node_on_path_without_a_pinned_one(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        # GIVEN no JSII_NODE and no node package, and a node on PATH
        on_path = tmp_path / "bin"
        on_path.mkdir()
        (on_path / "node").symlink_to(PINNED_NODE)
        monkeypatch.delenv(JSII_NODE, raising=False)
        monkeypatch.setenv("PATH", str(on_path))
        # THEN that one
        assert find_node(tmp_path) == str(on_path / "node")

    def test_the_bytecode_compiler_runs_on_the_apps_pinned_node(self, app: Path) -> None:
        # WHEN synth looks for the Python 3.13 bytecode compiler of the app
        compiler, reason = find_compiler("3.13", app)
        # THEN Pyodide runs on the pinned Node, not on the machine's
        assert compiler is not None, reason
        assert compiler.node == str(app / "node_modules" / "node" / "bin" / "node")

    def test_no_node_anywhere_names_what_to_install(self, app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        # GIVEN an app with pyodide but no Node at all
        (app / "node_modules" / "node").unlink()
        monkeypatch.setenv("PATH", str(app / "nowhere"))
        # THEN no compiler, and the reason says where Node was looked for and how to pin one
        compiler, reason = find_compiler("3.13", app)
        assert compiler is None
        assert "JSII_NODE" in reason and "npm install --save-dev --save-exact node@22" in reason, reason


def test_readme_installs_the_node_package_json_pins() -> None:
    # GIVEN the Node release package.json pins
    pinned = json.loads((PROJECT / "package.json").read_text())["devDependencies"]["node"]
    # THEN every `node@…` the README names (setup notes, consumer install line) is that release
    versions = set(re.findall(r"node@([\w.]+)", (PROJECT / "README.md").read_text()))
    assert versions == {pinned}
