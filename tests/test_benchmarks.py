"""The synth benchmark's anchor must stay the same app as ours, or its ratio means nothing."""
from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from benchmarks.raw_l2_app import build_raw
from constructs_lib import PythonBundle
from constructs_lib.database.ca_bundle import find_npm_package, layer_directory, rds_ca_bundle
from stacks.stateless_stack import BUNDLE_CACHE_DIR, HANDLER_PACKAGE
from tests.cdk_helpers import PROJECT, SynthesizedService, cdk_context


def _shape(templates: list[dict[str, Any]]) -> collections.Counter[tuple[str, tuple[str, ...]]]:
    """Each resource as (type, its property names): what decides the synth work, not the values."""
    return collections.Counter((resource["Type"], tuple(sorted(resource.get("Properties", {}))))
                               for template in templates for resource in template["Resources"].values())


def _acknowledged(outdir: Path) -> collections.Counter[str]:
    found: collections.Counter[str] = collections.Counter()
    for metadata_file in outdir.glob("*.metadata.json"):
        for entries in json.loads(metadata_file.read_text()).values():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    found.update(rule.split("[", 1)[0] for rule in entry["data"])
    return found


def test_raw_l2_anchor_synthesizes_the_same_resources_and_acknowledgements(
        service: SynthesizedService, tmp_path: Path) -> None:
    # GIVEN the example service and the raw-L2 anchor of benchmarks/synth.py
    bundle = PythonBundle(source_dir=HANDLER_PACKAGE, cache_dir=BUNDLE_CACHE_DIR, log=lambda _line: None)
    code_dir = str(bundle.build().path)
    ca_bundle_dir = str(layer_directory(rds_ca_bundle(find_npm_package(PROJECT)), bundle.cache_dir).path)
    app = cdk.App(outdir=str(tmp_path), context=cdk_context())
    build_raw(app, code_dir, cdk.Environment(account="123456789012", region="eu-west-1"), ca_bundle_dir)
    # WHEN both are synthesized
    raw = app.synth()
    ours = [service.template_json(stack) for stack in (service.stacks.stateful, service.stacks.stateless)]
    # THEN they hold the same resources with the same properties set, and acknowledge the same findings
    assert _shape([stack.template for stack in raw.stacks]) == _shape(ours)
    assert _acknowledged(tmp_path) == _acknowledged(service.outdir)
