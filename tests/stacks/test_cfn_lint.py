"""cfn-lint over every synthesized template: zero errors and zero warnings."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cdk_helpers import PROJECT, SynthesizedService


def test_every_template_is_lint_clean(service: SynthesizedService, realtime_service: SynthesizedService) -> None:
    templates = sorted(str(path) for outdir in (service.outdir, realtime_service.outdir)
                       for path in outdir.glob("*.template.json"))
    assert templates, "the assembly has templates"
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--config-file", str(PROJECT / ".cfnlintrc.yaml"), "--", *templates],
        capture_output=True, text=True, cwd=PROJECT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
