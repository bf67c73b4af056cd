"""npm packages synth reads from the CDK app's ``node_modules`` (CA certificates, the bytecode compiler), and
the Node that runs them."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

#: The variable jsii reads for the Node it runs the CDK on (default: ``node`` on PATH).
JSII_NODE = "JSII_NODE"
#: The npm package of a pinned Node (``npm install --save-dev --save-exact node@22``): its binary is ``bin/node``.
NODE_PACKAGE = "node"


def find_package(start: Path, name: str) -> Path | None:
    """``node_modules/<name>`` in ``start`` or the nearest parent holding it, as Node resolves; None if absent."""
    for directory in (start, *start.parents):
        package = directory / "node_modules" / name
        if (package / "package.json").is_file():
            return package
    return None


def find_node(start: Path) -> str | None:
    """The Node that runs synth's npm tools, as an executable path; None if there is none.

    ``JSII_NODE`` when set (the Node jsii runs the CDK on, so one Node serves both); else the npm package
    ``node`` in ``start``'s ``node_modules`` or a parent's (a Node pinned by the CDK app); else ``node`` on PATH.
    """
    configured = os.environ.get(JSII_NODE)
    if configured:
        return shutil.which(configured)  # a path or a name on PATH, as jsii takes it
    package = find_package(start, NODE_PACKAGE)
    if package is not None:
        pinned = shutil.which(str(package / "bin" / "node"))
        if pinned is not None:
            return pinned
    return shutil.which("node")
