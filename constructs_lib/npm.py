"""npm packages synth reads from the CDK app's ``node_modules`` (CA certificates, the bytecode compiler)."""
from __future__ import annotations

from pathlib import Path


def find_package(start: Path, name: str) -> Path | None:
    """``node_modules/<name>`` in ``start`` or the nearest parent holding it, as Node resolves; None if absent."""
    for directory in (start, *start.parents):
        package = directory / "node_modules" / name
        if (package / "package.json").is_file():
            return package
    return None
