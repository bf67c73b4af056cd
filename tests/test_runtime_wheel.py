"""The runtime installs on its own: lambda_src/pyproject.toml builds a wheel with the runtime only
(no example, no dev tooling), no CDK or boto3 dependency, the PostgreSQL driver as an extra."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # GIVEN the runtime's source tree, copied so the build leaves nothing behind in the checkout
    import shutil

    source = tmp_path_factory.mktemp("src") / "lambda_src"
    shutil.copytree(PROJECT / "lambda_src", source, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    # WHEN pip builds it as a consumer's `pip install …#subdirectory=lambda_src` would
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "-w", str(out), str(source)], check=True, timeout=300)
    [built] = out.glob("lambda_src-*.whl")
    return built


def test_the_wheel_holds_the_runtime_and_nothing_of_the_example(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    # THEN every runtime module is in it
    for module in ("batch.py", "websocket.py", "realtime.py", "migrate.py", "schedule.py", "db/connection.py",
                   "db/errors.py", "web/router.py", "log_setup.py", "config.py"):
        assert f"lambda_src/{module}" in names
    # AND the runtime's own migrations (its tables), and nothing of the example service, its migrations
    # or the dev tooling
    assert "lambda_src/migrations/0001_runtime_tables.sql" in names
    assert not [n for n in names if n.startswith(("lambda_src/example", "devtools", "lambda_src/local"))]
    assert [n for n in names if n.endswith(".sql")] == ["lambda_src/migrations/0001_runtime_tables.sql"]


def test_the_only_dependency_is_the_optional_postgresql_driver(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and all('extra == "postgres"' in line for line in requires), requires
    assert any("psycopg" in line for line in requires)
    assert not [line for line in requires if "cdk" in line.lower() or "boto" in line.lower()]


def test_the_installed_runtime_imports_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    # GIVEN the wheel installed into an empty directory (no dependencies)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--target", str(tmp_path / "site"), str(wheel)], check=True, timeout=120)
    # WHEN a consumer builds its handlers on it, from a directory without the project's source
    script = ("import lambda_src, lambda_src.batch, lambda_src.web.router, lambda_src.websocket, lambda_src.migrate\n"
              "assert lambda_src.__file__.startswith(%r), lambda_src.__file__\n"
              "import importlib.util\nassert importlib.util.find_spec('lambda_src.example') is None\n"
              "print('ok')" % str(tmp_path / "site"))
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    # THEN it imports from the installed copy
    assert result.stdout.strip() == "ok", result.stderr
