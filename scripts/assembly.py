"""The stacks of a cloud assembly (``cdk.out``), as its manifest lists them.

A synth writes only the stacks of the app it ran; templates of earlier synths (another set of stages,
another topology) stay in the directory. So tools that read an assembly take its stacks from
``manifest.json``, never from ``*.template.json`` on disk.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def stacks(assembly: Path) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``(stack name, manifest artifact, template)`` of every stack the assembly's manifest lists, by name."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    return [(name, artifact, json.loads((assembly / artifact["properties"]["templateFile"]).read_text()))
            for name, artifact in sorted(manifest["artifacts"].items())
            if artifact["type"] == "aws:cloudformation:stack"]
