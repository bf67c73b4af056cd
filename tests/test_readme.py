"""The README's minimal example synthesizes as written."""
from __future__ import annotations

import re

from aws_cdk import App
from aws_cdk.assertions import Template

from tests.cdk_helpers import PROJECT

MARKER = "<!-- example: minimal -->"


def readme_example() -> str:
    text = (PROJECT / "README.md").read_text()
    match = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.S)
    assert match, "README has the minimal example"
    return match.group(1)


def test_minimal_example_synthesizes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # GIVEN the README's example, run from a project directory holding the handler package
    monkeypatch.chdir(PROJECT)
    namespace: dict = {}
    # WHEN it runs as a user's app.py would
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    # THEN it synthesized a function behind an HTTP API
    app: App = namespace["app"]
    template = Template.from_stack(app.node.find_child("MyApi"))
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.resource_count_is("AWS::ApiGatewayV2::Api", 1)
    assert [stack.stack_name for stack in app.synth().stacks] == ["MyApi"]


def test_readme_holds_exactly_two_setup_commands() -> None:
    text = (PROJECT / "README.md").read_text()
    setup = text.split("## Set up on a fresh machine", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make \w+", re.search(r"```sh\n(.*?)```", setup, re.S).group(1), re.M)
    assert commands == ["make synth", "make test"]
