"""What the Lambda asset may import: the dev tooling (``devtools/``) lives outside the package, and boto3 stays off the request path."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lambda_src"
DEPLOYED = sorted(PACKAGE.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    package = ["lambda_src", *path.relative_to(PACKAGE).with_suffix("").parts[:-1]]
    if path.name == "__init__.py":
        package = ["lambda_src", *path.relative_to(PACKAGE).parts[:-1]]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", DEPLOYED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_deployed_modules_never_import_local_tooling(path: Path) -> None:
    assert not {m for m in imported_modules(path) if m.startswith("devtools")}


@pytest.mark.parametrize("path", DEPLOYED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_deploy_time_functions_import_boto3(path: Path) -> None:
    # the migration runner and the pre-traffic hook run at deploy time, off the request path
    uses_sdk = {m for m in imported_modules(path) if m.split(".")[0] in ("boto3", "botocore")}
    assert not uses_sdk or path.name in ("migrate.py", "deploy_hook.py"), uses_sdk


RUNTIME = sorted(p for p in DEPLOYED if "example" not in p.relative_to(PACKAGE).parts)


def test_the_runtime_is_every_module_but_the_example() -> None:
    names = {str(p.relative_to(PACKAGE)) for p in RUNTIME}
    assert {"batch.py", "websocket.py", "migrate.py", "db/connection.py", "web/router.py"} <= names
    assert not any(name.startswith("example") for name in names)


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_runtime_imports_nothing_from_the_example(path: Path) -> None:
    # GIVEN a runtime module WHEN its imports are resolved THEN none reaches into the example service
    assert not {m for m in imported_modules(path) if m.startswith("lambda_src.example")}


def test_the_example_uses_the_runtime_by_its_public_name() -> None:
    # the example imports the runtime as another package would: lambda_src.X, never ..X
    for path in PACKAGE.joinpath("example").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, f"{path.name} reaches out of the example with a relative import"


def test_resolution_of_relative_imports() -> None:
    names = imported_modules(PACKAGE / "db" / "connection.py")
    assert "lambda_src.config" in names and "lambda_src.db.iam_token.TokenCache" in names


def json_calls_outside_the_codec(path: Path) -> list[str]:
    """Where ``path`` encodes or decodes JSON with the standard library itself (``json.dumps``,
    ``json.loads``, their file variants, an encoder or decoder of its own) rather than through
    :mod:`lambda_src.json_codec`."""
    direct = {"dumps", "loads", "dump", "load", "JSONEncoder", "JSONDecoder"}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in direct and isinstance(node.value, ast.Name) \
                and node.value.id == "json":
            found.append(f"json.{node.attr} at line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module == "json":
            found.extend(f"from json import {alias.name} at line {node.lineno}" for alias in node.names
                         if alias.name in direct)
    return found


@pytest.mark.parametrize("path", [p for p in DEPLOYED if p.name != "json_codec.py"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_json_goes_through_the_one_codec(path: Path) -> None:
    # GIVEN a module of the runtime or the example WHEN its syntax is read
    # THEN it encodes and decodes JSON only through lambda_src.json_codec (one encoder, one output format)
    assert not json_calls_outside_the_codec(path)


def test_the_json_scan_finds_direct_use() -> None:
    # the scan above is not vacuous: the codec itself, which wraps the standard library, is caught by it
    assert json_calls_outside_the_codec(PACKAGE / "json_codec.py")


@pytest.mark.parametrize("path", sorted(PACKAGE.joinpath("db").rglob("*.py")), ids=lambda p: p.name)
def test_the_database_layer_knows_nothing_of_http(path: Path) -> None:
    # GIVEN a module of the database layer WHEN its imports are resolved
    # THEN it reaches neither the HTTP errors nor the web app: it raises DatabaseUnavailable, and each
    # caller (the router, the batch processor, the WebSocket app) decides what that means
    assert not {m for m in imported_modules(path) if m.startswith(("lambda_src.errors", "lambda_src.web"))}
