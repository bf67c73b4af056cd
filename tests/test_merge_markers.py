"""No merge-conflict marker survives in a tracked file: a stray ``=======`` line once sat inside a docstring,
where Python parses it as text and no other test looks."""
from __future__ import annotations

import re
import subprocess

from tests.cdk_helpers import PROJECT

MARKER = re.compile(r"^(<{7} |={7}$|>{7} )", re.M)


def test_no_tracked_file_holds_a_conflict_marker() -> None:
    # GIVEN every file git tracks (snapshots and binaries aside)
    names = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in names:
        path = PROJECT / name
        if name.startswith("tests/__snapshots__/") or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        # THEN none has a line that is a conflict marker
        found += [f"{name}:{text.count(chr(10), 0, match.start()) + 1}" for match in MARKER.finditer(text)]
    assert not found, found
