"""constructs_lib.compliance: the public cdk-nag helper, and acknowledgements that hold for any code."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from constructs_lib import PythonBundle, ServerlessFunction
from constructs_lib.compliance import INSTALL, acknowledge, add_checks
from tests.cdk_helpers import cdk_context

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def synth_checked(tmp_path: Path, **function_props) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """One function alone with cdk-nag on; the acknowledged (rule, reason) pairs (synth raises on a finding)."""
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Consumer", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    function = ServerlessFunction(stack, "Fn", handler="orders.http.handler", **function_props)
    acknowledge(function.function, "Serverless-LambdaDLQ", "This test's function is invoked synchronously, as an API's "
                "would be; only the runtime finding is under test.")
    add_checks(app)
    app.synth()
    return [pair for metadata in (tmp_path / "out").glob("*.metadata.json")
            for entries in json.loads(metadata.read_text()).values() for entry in entries
            if entry.get("type") == "aws:cdk:acknowledged-rules" for pair in entry["data"].items()]


def test_a_consumers_own_code_keeps_the_runtime_finding(tmp_path: Path) -> None:
    # GIVEN a consumer's function whose code the library knows nothing about
    # WHEN cdk-nag runs THEN the runtime finding is theirs to fix or acknowledge: synth fails naming it
    with pytest.raises(Exception, match="AwsSolutions-L1"):
        synth_checked(tmp_path, code=INLINE)


def test_code_from_a_python_bundle_is_acknowledged_with_the_bundles_version(tmp_path: Path) -> None:
    package = tmp_path / "orders"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "http.py").write_text("def handler(event, context):\n    return {}\n")
    bundle = PythonBundle(source_dir=package, cache_dir=tmp_path / "cache")
    found = dict(synth_checked(tmp_path, code=bundle))
    assert "Python 3.13" in found["AwsSolutions::AwsSolutions-L1"]
    assert "python_version" in found["AwsSolutions::AwsSolutions-L1"]


def test_without_cdk_nag_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cdk_nag", None)  # what an environment without the extra looks like
    with pytest.raises(ImportError, match=r"cdk-serverless-postgres\[nag\]"):
        add_checks(cdk.App())
    assert INSTALL == 'pip install "cdk-serverless-postgres[nag]"'
