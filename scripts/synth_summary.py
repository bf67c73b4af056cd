"""Print a short summary of a cloud assembly: stacks, resource counts per type, asset sizes."""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def summarize(assembly: Path) -> str:
    manifest = json.loads((assembly / "manifest.json").read_text())
    lines = []
    for name, artifact in sorted(manifest["artifacts"].items()):
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        counts = Counter(resource["Type"] for resource in template.get("Resources", {}).values())
        env = artifact.get("environment", "")
        lines.append(f"{name} ({env.removeprefix('aws://')}): {sum(counts.values())} resources")
        lines += [f"  {count:3d}  {kind}" for kind, count in sorted(counts.items())]
    assets = [path for path in assembly.iterdir() if path.name.startswith("asset.")]
    total = sum(file.stat().st_size for asset in assets for file in ([asset] if asset.is_file() else asset.rglob("*")) if file.is_file())
    lines.append(f"assets: {len(assets)}, {total / 1_048_576:.1f} MiB")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
