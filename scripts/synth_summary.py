"""Print a short summary of a cloud assembly: stacks, resource counts per type, asset sizes, the
bytecode each Python asset ships (and its size without it), and the deploy contract (every runtime
flow of the example decided from the templates; ``flows.md`` beside them); write the HTTP API's
OpenAPI document beside the templates (``openapi.json``), so a review sees the API contract next to
the infrastructure.

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

from scripts.assembly import stacks  # noqa: E402


def summarize(assembly: Path) -> str:
    lines = []
    for name, artifact, template in stacks(assembly):
        counts = Counter(resource["Type"] for resource in template.get("Resources", {}).values())
        env = artifact.get("environment", "")
        lines.append(f"{name} ({env.removeprefix('aws://')}): {sum(counts.values())} resources")
        lines += [f"  {count:3d}  {kind}" for kind, count in sorted(counts.items())]
    assets = referenced_assets(assembly)
    total = sum(file.stat().st_size for asset in assets for file in ([asset] if asset.is_file() else asset.rglob("*")) if file.is_file())
    lines.append(f"assets: {len(assets)}, {total / 1_048_576:.1f} MiB")
    lines += [bytecode_line(asset) for asset in sorted(assets) if asset.is_dir() and any(asset.rglob("*.py"))]
    lines += [f"  synth warned: {warning}" for warning in bytecode_warnings(assembly)]
    return "\n".join(lines)


def referenced_assets(assembly: Path) -> list[Path]:
    """The assets the stacks of this synth use (cdk.out keeps those of earlier synths too)."""
    paths = {entry["source"]["path"] for manifest in assembly.glob("*.assets.json")
             for entry in json.loads(manifest.read_text()).get("files", {}).values()}
    return sorted(assembly / path for path in paths if path.startswith("asset.") and (assembly / path).exists())


def bytecode_line(asset: Path) -> str:
    """What bytecode a Python asset ships, and its size with and without it."""
    from constructs_lib.bytecode import python_sources, read_header, sources_without_bytecode

    sources = python_sources(asset)
    files = [path for path in asset.rglob("*") if path.is_file()]
    size = sum(path.stat().st_size for path in files) / 1_048_576
    pyc = [path for path in files if path.suffix == ".pyc"]
    without = size - sum(path.stat().st_size for path in pyc) / 1_048_576
    name = f"python asset {asset.name.removeprefix('asset.')[:12]}: {len(sources)} .py"
    versions = Counter(read_header(path).python_version for path in pyc)
    if not versions:
        return f"{name}, NO bytecode shipped (every module compiles at each cold start); {size:.1f} MiB"
    version = versions.most_common(1)[0][0]
    if version is None:
        return f"{name}, bytecode of an unknown Python ({len(pyc)} .pyc); {size:.1f} MiB, {without:.1f} MiB without it"
    covered = len(sources) - len(sources_without_bytecode(asset, version))
    return (f"{name}, Python {version} bytecode (unchecked-hash .pyc) for {covered}/{len(sources)}; "
            f"{size:.1f} MiB, {without:.1f} MiB without it")


def bytecode_warnings(assembly: Path) -> list[str]:
    """Synth's warnings about bundles shipping without bytecode (or with files lacking it), once each."""
    from constructs_lib.bytecode import NO_BYTECODE_WARNING

    manifest = json.loads((assembly / "manifest.json").read_text())
    tables = [artifact.get("metadata", {}) for artifact in manifest["artifacts"].values()]
    tables += [json.loads(path.read_text()) for path in sorted(assembly.glob("*.metadata.json"))]
    found: dict[str, None] = {}
    for table in tables:
        for entries in table.values():
            for entry in entries:
                if entry["type"] == "aws:cdk:warning" and NO_BYTECODE_WARNING in str(entry["data"]):
                    found[str(entry["data"]).split(" [ack:")[0]] = None
    return list(found)


def deploy_contract(assembly: Path) -> tuple[str, bool]:
    """``(report line, every flow holds)``; writes ``<assembly>/flows.md``."""
    from constructs_lib.contract import Templates, check_all, markdown, summary
    from stacks.flows import stage_flows, stages_of

    sections, outcomes = {}, []
    for stage, templates in stages_of(Templates.from_assembly(assembly)).items():
        label, flows = stage_flows(templates)
        found = check_all(flows, templates)
        sections[f"{stage}{label}"] = found
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
    from stacks.flows import stage_flows, stages_of

    stage, templates = next(iter(stages_of(Templates.from_assembly(assembly)).items()))
    _, flows = stage_flows(templates)
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
