"""Helpers to build and synthesize apps in tests the same way the CDK CLI does."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

PROJECT = Path(__file__).resolve().parent.parent
#: Where Lambda extracts a function's layers.
LAYER_ROOT = PurePosixPath("/opt")


def cdk_context(*, feature_flags: bool = True, **overrides: Any) -> dict[str, Any]:
    """The context the CLI passes: cdk.json's context (feature flags, stage…) plus cdk.context.json.

    :param feature_flags: keep cdk.json's feature flags (every key starting with ``@``); without them
        only the app's own values remain (stages, account…), as in a team's minimal cdk.json.
    """
    context = json.loads((PROJECT / "cdk.json").read_text())["context"]
    if not feature_flags:
        context = {key: value for key, value in context.items() if not key.startswith("@")}
    context["aws:cdk:enable-path-metadata"] = True  # as the CLI sets it: resources name their construct path
    context.update(json.loads((PROJECT / "cdk.context.json").read_text()))
    context.update(overrides)
    return context


#: The metadata type of an error annotation: what `cdk synth` prints as an ERROR and fails on.
ERROR_METADATA = "aws:cdk:error"


def synth_errors(app: cdk.App) -> list[str]:
    """Synthesize ``app`` and return its error annotations: the errors `cdk synth` prints, each with
    its construct's path and no stack trace, before it fails.

    Without ``@aws-cdk/core:annotationsInValidationReport`` the synth itself succeeds and only the CLI
    fails; with it (the project's cdk.json), CDK raises its validation report in-process under
    pytest, which must then hold every error and nothing else.
    """
    try:
        app.synth()
        report = None
    except RuntimeError as error:
        report = str(error)
    errors = [str(entry.data) for construct in app.node.find_all() for entry in construct.node.metadata
              if entry.type == ERROR_METADATA]
    if report is not None:
        assert errors and report.startswith("ValidationFailed"), report
        assert all(error.rsplit(" (", 1)[0] in report for error in errors), report
    return errors


def new_stack(**context: Any) -> cdk.Stack:
    """A fresh stack in a fresh app with the project's feature flags, for construct tests."""
    app = cdk.App(context=cdk_context(**context))
    return cdk.Stack(app, "TestStack", env=cdk.Environment(account="123456789012", region="eu-west-1"))


@dataclass
class SynthesizedService:
    """The synthesized example service: the app, its stacks (first stage), templates and assembly directory."""

    app: cdk.App
    stacks: Any
    assembly: cdk.cx_api.CloudAssembly
    outdir: Path
    all_stages: list[Any]

    def template(self, stack: cdk.Stack) -> Template:
        return Template.from_stack(stack)

    def template_json(self, stack: cdk.Stack) -> dict[str, Any]:
        return json.loads((self.outdir / f"{stack.artifact_id}.template.json").read_text())


def synthesize_service(outdir: Path, *, with_checks: bool = False, feature_flags: bool = True,
                       **context: Any) -> SynthesizedService:
    """Build the service as app.py does into ``outdir`` and synthesize it (optionally with cdk-nag, or
    without cdk.json's feature flags)."""
    from constructs_lib.compliance import add_checks
    from stacks import build_service
    from stacks.stages import parse_domains, parse_hosted_zone, parse_stages

    app = cdk.App(outdir=str(outdir), context=cdk_context(feature_flags=feature_flags, **context))
    account = str(app.node.get_context("account"))
    realtime = str(app.node.try_get_context("realtime")).lower() == "true"
    domains = parse_domains(app.node.try_get_context("domains"))
    hosted_zone = parse_hosted_zone(app.node.try_get_context("hosted_zone"))
    topology = str(app.node.try_get_context("topology") or "proxy")
    stages = [build_service(app, stage=stage.name, env=cdk.Environment(account=account, region=stage.region),
                            realtime=realtime, domain_name=domains.get(stage.name), hosted_zone=hosted_zone,
                            topology=topology, express_endpoint=app.node.try_get_context("express_endpoint"),
                            express_cluster_resource_id=app.node.try_get_context("express_cluster_resource_id"))
              for stage in parse_stages(app.node.get_context("stages"))]
    if with_checks:
        add_checks(app)
    assembly = app.synth()
    return SynthesizedService(app=app, stacks=stages[0], assembly=assembly, outdir=outdir, all_stages=stages)


def layer_file(outdir: Path, template: dict[str, Any], function_id: str, path: str) -> Path:
    """The file that a function sees at ``path`` (under ``/opt``), found in the synthesized assets of its layers.

    :param outdir: the cloud assembly directory (``cdk.out``).
    :param template: the synthesized template holding the function and its layers.
    :param function_id: the function's logical ID.
    """
    resources = template["Resources"]
    relative = PurePosixPath(path).relative_to(LAYER_ROOT)
    for layer in resources[function_id]["Properties"].get("Layers", []):
        key = resources[layer["Ref"]]["Properties"]["Content"]["S3Key"]
        candidate = outdir / f"asset.{key.removesuffix('.zip')}" / relative
        if candidate.is_file():
            return candidate
    raise AssertionError(f"no layer of {function_id} holds {path}")
