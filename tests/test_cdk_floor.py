"""The lowest aws-cdk-lib pyproject.toml declares is the one the construct tests pass at.

``make test`` builds ``.venv-floor`` from ``requirements-floor.txt`` (aws-cdk-lib, constructs, jsii and cdk-nag at
their floors) and this test runs ``tests/constructs`` there, this checkout's library on the path. Two files are
left out, as they test nothing aws-cdk-lib decides and are the slowest (CI time): ``test_bundling.py`` (pip,
wheels and Pyodide's bytecode; ``PythonBundle`` hands CDK only a directory) and the cfn-lint run over the docs
examples (cfn-lint is not in the floor venv; the main run lints every template).
"""
from __future__ import annotations

import os
import re
import subprocess
import tomllib

from tests.cdk_helpers import PROJECT

FLOOR_VENV = PROJECT / ".venv-floor"
LEFT_OUT = ["--ignore", "tests/constructs/test_bundling.py",
            "--deselect", "tests/constructs/test_docs_examples.py::test_cfn_lint_has_no_errors_or_warnings",
            # the runner on PostgreSQL (psycopg, the embedded server): nothing of it depends on aws-cdk-lib's release
            "--deselect", "tests/constructs/test_database_users.py::"
                          "test_the_synthesized_users_are_created_by_the_runner_in_a_real_postgresql"]


def declared_floor(requirement: str) -> str:
    """The ``>=`` bound of ``requirement`` (e.g. ``aws-cdk-lib``) in pyproject.toml's dependencies."""
    dependencies = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = [re.fullmatch(rf"{re.escape(requirement)}>=([\d.]+),<\d+", line) for line in dependencies]
    bound, = (match.group(1) for match in bounds if match)
    return bound


def pinned(requirement: str) -> str:
    """The ``==`` pin of ``requirement`` in requirements-floor.txt."""
    text = (PROJECT / "requirements-floor.txt").read_text()
    version, = re.findall(rf"^{re.escape(requirement)}==(\S+)$", text, re.MULTILINE)
    return version


def test_the_floor_venv_holds_the_declared_floors() -> None:
    # GIVEN the floor venv make test builds
    python = FLOOR_VENV / "bin" / "python"
    assert python.is_file(), f"{FLOOR_VENV} is missing: make test builds it from requirements-floor.txt"
    # THEN requirements-floor.txt pins what pyproject.toml declares, and the venv holds it
    for requirement in ("aws-cdk-lib", "constructs"):
        assert pinned(requirement) == declared_floor(requirement), requirement
    installed = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('aws-cdk-lib'), m.version('constructs'))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert installed == [declared_floor("aws-cdk-lib"), declared_floor("constructs")]


def test_the_construct_tests_pass_at_the_declared_floor() -> None:
    # GIVEN the floor venv, with this checkout (not an installed copy) first on the path
    python = FLOOR_VENV / "bin" / "python"
    assert python.is_file(), f"{FLOOR_VENV} is missing: make test builds it from requirements-floor.txt"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(PROJECT)
    # WHEN the construct tests run there
    result = subprocess.run([str(python), "-m", "pytest", "tests/constructs", "-q", "-p", "no:cacheprovider",
                             *LEFT_OUT], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)
    # THEN they all pass
    assert result.returncode == 0, (result.stdout + result.stderr)[-8000:]
    assert re.search(r"\d+ passed", result.stdout) and " failed" not in result.stdout, result.stdout[-2000:]
