"""CPython 3.13 in the test session, the Lambda runtime's version, while the host runs another.

The npm package ``pyodide`` pinned in package.json is CPython 3.13 built for WebAssembly; a Node
process (``python313.mjs``) loads it once (about 2 s) and runs the code each test sends, with host
directories mounted where the test says.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any

from constructs_lib.npm import find_node, find_package
from tests.cdk_helpers import PROJECT

SCRIPT = Path(__file__).with_name("python313.mjs")


class Python313:
    """A running Pyodide. ``run(code)`` returns the JSON value that ``code``'s last expression encodes."""

    def __init__(self) -> None:
        pyodide = find_package(PROJECT, "pyodide")
        node = find_node(PROJECT)
        if pyodide is None or node is None:
            raise RuntimeError("Python 3.13 tests need the npm packages node and pyodide (make test runs npm ci)")
        self._stderr: IO[str] = tempfile.TemporaryFile("w+")
        self._process = subprocess.Popen([node, str(SCRIPT), str(pyodide)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self._answer()  # ready

    def mount(self, host: Path, at: str) -> None:
        """Make ``host`` (read and write) appear at ``at`` in Pyodide's file system."""
        self._request({"mount": str(host), "at": at})

    def run(self, code: str) -> Any:
        """Run ``code``; its last expression must be a ``str`` of JSON, whose value is returned."""
        return json.loads(self._request({"run": code})["result"])

    def close(self) -> None:
        self._process.stdin.close()  # type: ignore[union-attr]
        self._process.wait(timeout=30)
        self._stderr.close()

    def _request(self, request: dict[str, str]) -> dict[str, Any]:
        self._process.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
        self._process.stdin.flush()  # type: ignore[union-attr]
        return self._answer()

    def _answer(self) -> dict[str, Any]:
        line = self._process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            self._stderr.seek(0)
            raise RuntimeError(f"Pyodide exited ({self._process.wait()}): {self._stderr.read()[-4000:]}")
        reply: dict[str, Any] = json.loads(line)
        if not reply["ok"]:
            raise AssertionError(f"in Python 3.13: {reply['error']}")
        return reply
