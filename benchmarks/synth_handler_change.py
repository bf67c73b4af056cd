"""What shipping bytecode costs: synth after a handler change beside a cached synth, and the asset's size.

1. **Synth time.** The example app (``app.py``, as ``cdk synth`` runs it: a fresh process with the
   CLI's context) in a copy of the project, with its own bundle cache. Rounds alternate a synth with
   nothing changed (the anchor: bundle found, nothing compiled) and one after a change to one handler
   file (``lambda_src/example/users.py``): new bundle, that one file compiled to 3.13 bytecode, the new asset
   staged. Target: the change costs at most 1 s more than the cached synth. Each changed synth must
   report compiling exactly one file.
2. **Asset size.** The handler bundle without and with bytecode, unpacked and zipped (Lambda's
   limits and download are on the zip).
"""
from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from _common import PROJECT, copy_without_caches

ROUNDS = int(os.environ.get("BENCH_SYNTH_ROUNDS", "7"))
TARGET_SECONDS = 1.0
#: What the example app needs to synthesize, copied (node_modules is linked).
PROJECT_FILES = ("app.py", "cdk.json", "cdk.context.json", "constructs_lib", "stacks", "lambda_src")


def synth(project: Path, outdir: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (the app and the processes it waited for: jsii's Node, the compiler) of one
    ``python app.py`` as the CDK CLI starts it, and what it wrote to stderr."""
    cpu_before, started = _children_cpu(), time.perf_counter()
    completed = subprocess.run([sys.executable, "app.py"], cwd=project, env={**env, "CDK_OUTDIR": str(outdir)},
                               capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-3000:])
    return seconds, cpu, completed.stderr


#: Run in the project copy: the example app (as app.py builds it) synthesized again and again in one
#: process, timed the way ``timeit`` does (garbage collected before, collector off during), after a
#: one-file handler change or with nothing changed, the two alternating. Prints the seconds as JSON.
IN_PROCESS = """
import gc, json, os, sys, time
sys.path.insert(0, '.')
import aws_cdk as cdk
from stacks import add_compliance_checks, build_service
from stacks.stages import parse_stages

context = json.loads(os.environ['CDK_CONTEXT_JSON'])
handler = 'lambda_src/example/users.py'

def synth():
    app = cdk.App(outdir=os.environ['CDK_OUTDIR'], context=context)
    for stage in parse_stages(app.node.get_context('stages')):
        build_service(app, stage=stage.name, env=cdk.Environment(account=str(app.node.get_context('account')),
                                                                 region=stage.region))
    add_compliance_checks(app)
    app.synth()

def timed(change):
    if change:
        with open(handler, 'a') as file:
            file.write(f'# in-process edit {time.time_ns()}\\n')
    gc.collect()
    gc.disable()
    started = time.perf_counter()
    synth()
    seconds = time.perf_counter() - started
    gc.enable()
    return seconds

synth(); synth()  # the first synth in a process loads every construct class in Node: warm it, untimed
timed(True)
cached, changed = [], []
for number in range(int(sys.argv[1])):
    for change in ((True, False) if number % 2 else (False, True)):
        (changed if change else cached).append(timed(change))
print(json.dumps({'cached': cached, 'changed': changed}))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sizes(directory: Path) -> tuple[float, float]:
    """MiB unpacked and zipped (deflate, as CDK packages a directory asset)."""
    unpacked = sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
    with tempfile.TemporaryFile() as archive:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(directory.rglob("*")):
                if path.is_file():
                    zipped.write(path, path.relative_to(directory))
        zipped_size = archive.tell()
    return unpacked / 1_048_576, zipped_size / 1_048_576


def main() -> None:
    sys.path.insert(0, str(PROJECT))
    from constructs_lib import PythonBundle
    from tests.cdk_helpers import cdk_context

    with tempfile.TemporaryDirectory(prefix="bench-synth-change-") as scratch:
        project = Path(scratch) / "project"
        project.mkdir()
        for name in PROJECT_FILES:
            copy_without_caches(PROJECT / name, project / name)
        (project / "node_modules").symlink_to(PROJECT / "node_modules")
        env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(cdk_context())}
        outdir = Path(scratch) / "cdk.out"

        cold, cold_cpu, log = synth(project, outdir, env)  # empty cache: pip, every file compiled, snapshot made
        cold_compiled = re.findall(r"compiling (\d+) files", log)
        synth(project, outdir, env)  # warm both paths once more, untimed
        handler = project / "lambda_src" / "example" / "users.py"
        edits = iter(range(10_000))
        cached: list[tuple[float, float]] = []
        changed: list[tuple[float, float]] = []

        def change() -> None:
            handler.write_text(handler.read_text() + f"\n# edit {next(edits)}\n")
            seconds, cpu, log = synth(project, outdir, env)
            compiled = re.findall(r"compiling (\d+) files", log)
            assert compiled == ["1"], f"a one-file change compiled {compiled} files:\n{log}"
            changed.append((seconds, cpu))

        def unchanged() -> None:
            seconds, cpu, log = synth(project, outdir, env)
            assert "compiling" not in log and "copying" not in log, log
            cached.append((seconds, cpu))

        for round_number in range(ROUNDS):  # paired rounds, the order alternating
            for step in ((change, unchanged) if round_number % 2 else (unchanged, change)):
                step()

        # the same in one process, synth after synth: far less of the machine's noise than fresh processes
        completed = subprocess.run([sys.executable, "-c", IN_PROCESS, str(ROUNDS)], cwd=project,
                                   env={**env, "CDK_OUTDIR": str(outdir)}, capture_output=True, text=True)
        if completed.returncode != 0:
            raise RuntimeError(completed.stderr[-3000:])
        repeated = json.loads(completed.stdout.strip().splitlines()[-1])

        # the bundle alone, in process: what a change adds before CDK stages the new asset
        def build() -> tuple[float, int]:
            started = time.perf_counter()
            result = PythonBundle(source_dir=project / "lambda_src" / "example", cache_dir=project / ".bundle-cache",
                                  npm_root=project, log=lambda _line: None).build()
            return time.perf_counter() - started, len(result.bytecode.compiled)

        bundle_hit: list[float] = []
        bundle_change: list[float] = []
        for _ in range(ROUNDS):
            handler.write_text(handler.read_text() + f"\n# edit {next(edits)}\n")
            seconds, compiled = build()
            assert compiled == 1
            bundle_change.append(seconds)
            bundle_hit.append(build()[0])

        without, with_bytecode = (PythonBundle(source_dir=project / "lambda_src" / "example", cache_dir=project / ".bundle-cache",
                                               npm_root=project, bytecode=flag, log=lambda _line: None).build().path
                                  for flag in (False, True))

        median = statistics.median
        extra = [c[0] - u[0] for c, u in zip(changed, cached)]
        extra_cpu = [c[1] - u[1] for c, u in zip(changed, cached)]
        print(f"synth: python app.py as the CDK CLI runs it, fresh process; medians of {ROUNDS} paired rounds")
        print(f"{'measure':<52}{'wall s':>9}{'CPU s':>9}")
        print(f"{'empty cache (pip; ' + ' + '.join(cold_compiled) + ' files compiled; snapshot made)':<52}"
              f"{cold:>9.2f}{cold_cpu:>9.2f}")
        print(f"{'nothing changed (anchor)':<52}{median(w for w, _ in cached):>9.2f}{median(c for _, c in cached):>9.2f}")
        print(f"{'one handler file changed (1 file compiled)':<52}{median(w for w, _ in changed):>9.2f}"
              f"{median(c for _, c in changed):>9.2f}")
        print(f"{'  difference, median of the rounds':<52}{median(extra):>9.2f}{median(extra_cpu):>9.2f}"
              f"   target <= {TARGET_SECONDS:.1f} s: {'OK' if median(extra) <= TARGET_SECONDS else 'OVER'}")
        print(f"{'  fastest of each (load only ever adds)':<52}{min(w for w, _ in changed) - min(w for w, _ in cached):>9.2f}"
              f"{min(c for _, c in changed) - min(c for _, c in cached):>9.2f}")
        repeated_extra = [c - u for c, u in zip(repeated["changed"], repeated["cached"])]
        print(f"\nsynth repeated in one process, medians of {ROUNDS} paired rounds (wall s): nothing changed (anchor) "
              f"{median(repeated['cached']):.2f}, one handler file changed {median(repeated['changed']):.2f}, "
              f"difference {median(repeated_extra):.2f}   target <= {TARGET_SECONDS:.1f} s: "
              f"{'OK' if median(repeated_extra) <= TARGET_SECONDS else 'OVER'}")
        print(f"bundle build alone, in process (wall s): cache hit {median(bundle_hit):.3f}, "
              f"one file changed {median(bundle_change):.3f}")
        print(f"\n{'handler asset':<30}{'unpacked MiB':>14}{'zipped MiB':>12}")
        for label, directory in (("without bytecode", without), ("with 3.13 bytecode", with_bytecode)):
            unpacked, zipped = sizes(directory)
            print(f"{label:<30}{unpacked:>14.1f}{zipped:>12.1f}")


if __name__ == "__main__":
    main()
