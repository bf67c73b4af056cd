"""Synth and bundling speed: our constructs beside the same app in raw aws-cdk-lib L2 constructs.

Prints, measured side by side in this run:
- in-process synth of the example app, the first in the process and repeated;
- bundling cold (empty cache) and with the cache warm;
- the raw-L2 version of the app, repeated, with the overhead ratio (target: at most 1.10×): the
  median over rounds of ours/raw, each round timing both back to back;
- what a warm bundle adds to a synth (target: under 0.5 s).
"""
from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

import aws_cdk as cdk  # noqa: E402

from benchmarks.raw_l2_app import build_raw  # noqa: E402
from constructs_lib import PythonBundle  # noqa: E402
from constructs_lib.database.ca_bundle import find_npm_package, layer_directory, rds_ca_bundle  # noqa: E402
from stacks import build_service  # noqa: E402
from stacks.stateless_stack import BUNDLE_CACHE_DIR, HANDLER_PACKAGE  # noqa: E402
from tests.cdk_helpers import cdk_context  # noqa: E402

REPEATS = int(os.environ.get("BENCH_REPEATS", "21"))
ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its children (jsii's Node processes), from /proc."""
    total = time.process_time()
    pending = [str(os.getpid())]
    ticks = os.sysconf("SC_CLK_TCK")
    while pending:
        pid = pending.pop()
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            for child in children.read_text().split():
                try:
                    fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += (int(fields[11]) + int(fields[12])) / ticks
                pending.append(child)
    return total


def timed(action) -> float:  # type: ignore[no-untyped-def]
    """Wall seconds for ``action``."""
    return timed_with_cpu(action)[0]


def timed_with_cpu(action) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Wall and CPU seconds (Python and Node) for ``action``, timed the way ``timeit`` does: Python's
    garbage collector off.

    Whatever earlier runs left is collected first, outside the timing; otherwise the collector
    (and the jsii object releases it sends to Node) would run inside whichever app happened to
    be timed next, charging one app for the other's cleanup.
    """
    gc.collect()
    gc.disable()
    try:
        cpu_started, started = cpu_seconds(), time.perf_counter()
        action()
        return time.perf_counter() - started, cpu_seconds() - cpu_started
    finally:
        gc.enable()


def synth_ours(cache: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as outdir:
        app = cdk.App(outdir=outdir, context=cdk_context())
        build_service(app, stage="dev", env=ENV, bundle_cache_dir=cache)
        app.synth()


def synth_raw(code_dir: str, ca_bundle_dir: str) -> None:
    with tempfile.TemporaryDirectory() as outdir:
        app = cdk.App(outdir=outdir, context=cdk_context())
        build_raw(app, code_dir, ENV, ca_bundle_dir)
        app.synth()


def main() -> None:
    quiet = lambda _line: None  # noqa: E731
    bundle = PythonBundle(source_dir=HANDLER_PACKAGE, cache_dir=BUNDLE_CACHE_DIR, log=quiet)
    code_dir = str(bundle.build().path)  # both apps ship the same prebuilt code and CA bundle layer
    ca_bundle_dir = str(layer_directory(rds_ca_bundle(find_npm_package(PROJECT)), bundle.cache_dir).path)

    first = timed(synth_ours)
    synth_raw(code_dir, ca_bundle_dir)  # the raw app's first run warms its own code paths in Node, as ours's just did
    ours: list[tuple[float, float]] = []  # (wall, cpu) per round
    raw: list[tuple[float, float]] = []
    for round_number in range(REPEATS):  # interleaved, so machine noise hits both alike
        if round_number % 2:  # which app goes first alternates, so neither always runs after the other
            raw.append(timed_with_cpu(lambda: synth_raw(code_dir, ca_bundle_dir)))
            ours.append(timed_with_cpu(synth_ours))
        else:
            ours.append(timed_with_cpu(synth_ours))
            raw.append(timed_with_cpu(lambda: synth_raw(code_dir, ca_bundle_dir)))

    with tempfile.TemporaryDirectory() as cache:
        cold = timed(lambda: PythonBundle(source_dir=HANDLER_PACKAGE, cache_dir=Path(cache), log=quiet).build())
        warm = statistics.median(timed(lambda: PythonBundle(source_dir=HANDLER_PACKAGE, cache_dir=Path(cache),
                                                            log=quiet).build()) for _ in range(REPEATS))

    median = statistics.median
    print(f"{'measure':<44}{'ours':>10}{'raw L2':>10}")
    print(f"{'synth, first app in process (s)':<44}{first:>10.2f}{'':>10}")
    print(f"{'synth, repeated, median of %d (s)' % REPEATS:<44}{median(w for w, _ in ours):>10.2f}"
          f"{median(w for w, _ in raw):>10.2f}")
    print(f"{'  CPU time, Python + Node (s)':<44}{median(c for _, c in ours):>10.2f}{median(c for _, c in raw):>10.2f}")
    print(f"{'bundling cold: pip + copy (s)':<44}{cold:>10.2f}{'n/a':>10}")
    print(f"{'bundling warm: cache hit (s)':<44}{warm:>10.3f}{'n/a':>10}")
    # the median of the rounds' ratios: each round's pair ran back to back, under the same load
    wall_ratios = [o[0] / r[0] for o, r in zip(ours, raw)]
    cpu_ratios = [o[1] / r[1] for o, r in zip(ours, raw)]
    ratio = median(wall_ratios)
    low, _, high = statistics.quantiles(wall_ratios, n=4)
    print(f"\nconstruct overhead: {ratio:.2f}x raw L2, median of {REPEATS} rounds (quartiles {low:.2f}-{high:.2f}; "
          f"CPU time {median(cpu_ratios):.2f}x) (target <= 1.10x): {'OK' if ratio <= 1.10 else 'OVER TARGET'}")
    print(f"cached bundle adds {warm:.3f} s to a synth (target < 0.5 s): {'OK' if warm < 0.5 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
