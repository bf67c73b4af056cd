"""Print a short summary of a cloud assembly: stacks, resource counts per type, asset sizes, and the
deploy contract (every runtime flow of the example decided from the templates; ``flows.md`` beside them);
write the HTTP API's OpenAPI document beside the templates (``openapi.json``), so a review sees the API
contract next to the infrastructure.

Exits non-zero when a flow of the contract fails, so ``make synth`` fails as a lint would.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))


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


def deploy_contract(assembly: Path) -> tuple[str, bool]:
    """``(report line, every flow holds)``; writes ``<assembly>/flows.md``."""
    from constructs_lib.contract import Templates, check_all, markdown, summary
    from stacks.flows import express_cluster_id, is_canary, is_realtime, service_flows, stages_of, topology_of

    sections, outcomes = {}, []
    for stage, templates in stages_of(Templates.from_assembly(assembly)).items():
        realtime, canary, topology = is_realtime(templates), is_canary(templates), topology_of(templates)
        found = check_all(service_flows(realtime, canary, topology, express_cluster_id(templates)), templates)
        sections[f"{stage}{' (realtime)' if realtime else ''}{' (canary)' if canary else ''}"
                 f"{'' if topology == 'proxy' else f' ({topology})'}"] = found
        outcomes += found
    if not sections:
        return "deploy contract: no stage of the example service in this assembly", True
    (assembly / "flows.md").write_text(markdown(sections))
    return summary(outcomes) + f"\n(chart and table: {assembly / 'flows.md'})", all(o.ok for o in outcomes)


def write_openapi(assembly: Path) -> str:
    """Write ``<assembly>/openapi.json``, the document of the handler's routes; the report line."""
    from lambda_src.example.http import openapi

    document = openapi()
    (assembly / "openapi.json").write_text(json.dumps(document, indent=2) + "\n")
    operations = sum(len(methods) for methods in document["paths"].values())
    return f"openapi: {operations} operations on {len(document['paths'])} paths ({assembly / 'openapi.json'})"


README_BEGIN, README_END = "<!-- deploy-contract:begin -->", "<!-- deploy-contract:end -->"


def readme_chart(assembly: Path) -> str:
    """The README's chart: the first stage of the example in ``assembly``, as Mermaid."""
    from constructs_lib.contract import Templates, check_all, mermaid
    from stacks.flows import express_cluster_id, is_canary, is_realtime, service_flows, stages_of, topology_of

    stage, templates = next(iter(stages_of(Templates.from_assembly(assembly)).items()))
    flows = service_flows(is_realtime(templates), is_canary(templates), topology_of(templates),
                          express_cluster_id(templates))
    return "```mermaid\n" + mermaid(check_all(flows, templates), stage) + "\n```"


def update_readme(assembly: Path, readme: Path = PROJECT / "README.md") -> None:
    text = readme.read_text()
    head, rest = text.split(README_BEGIN, 1)
    readme.write_text(head + README_BEGIN + "\n" + readme_chart(assembly) + "\n" + README_END + rest.split(README_END, 1)[1])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--update-readme"]:
        update_readme(Path(sys.argv[2] if len(sys.argv) > 2 else "cdk.out"))
        sys.exit(0)
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    print(summarize(directory))
    print(write_openapi(directory))
    line, ok = deploy_contract(directory)
    print(line)
    sys.exit(0 if ok else 1)
