"""The handler runtime as a consumer's requirements.txt names it, pointed at this checkout's source."""
from __future__ import annotations

import shutil
from pathlib import Path

from tests.cdk_helpers import PROJECT

#: The line the README's handler package shows; tests point it at a local copy instead of the repository.
README_REQUIREMENT = "lambda_src[postgres] @ git+https://<this repository>#subdirectory=lambda_src"


def copy_runtime(directory: Path) -> Path:
    """A copy of the runtime's source tree under ``directory`` (pip builds a local project in place,
    leaving ``build/`` and ``*.egg-info`` behind: never in the checkout)."""
    source = directory / "lambda_src"
    shutil.copytree(PROJECT / "lambda_src", source,
                    ignore=shutil.ignore_patterns("__pycache__", "example", "build", "*.egg-info"))
    return source


def requirement(source: Path) -> str:
    """The requirements.txt line installing the runtime from ``source``, with the PostgreSQL driver."""
    return f"lambda_src[postgres] @ {source.resolve().as_uri()}"


def install_from_checkout(requirements: Path, scratch: Path) -> None:
    """Point the README's requirements line at a copy of this checkout's runtime (under ``scratch``):
    the only change to what a reader copies, since tests do not fetch the repository."""
    text = requirements.read_text()
    assert README_REQUIREMENT in text, text
    requirements.write_text(text.replace(README_REQUIREMENT, requirement(copy_runtime(scratch))))
