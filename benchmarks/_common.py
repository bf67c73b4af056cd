"""Shared helpers for the benchmarks: timing loops, events and a stubbed database."""
from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

#: A users row as the database returns it (timestamps formatted by the query, see lambda_src.example.users).
ROW = (1, "ada@example.com", "Ada", "", "2026-11-22T00:00:00.000000Z", "2026-11-22T00:00:00.000000Z")


def per_call_us(function: Callable[[], Any], *, repeat: int = 7, number: int = 2000) -> float:
    """Median over ``repeat`` runs of the mean microseconds per call."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            function()
        samples.append((time.perf_counter() - started) / number * 1e6)
    return statistics.median(samples)


def interleaved_us(functions: dict[str, Callable[[], Any]], *, repeat: int = 9, number: int = 2000) -> dict[str, float]:
    """Like :func:`per_call_us` for several functions, their runs interleaved.

    Each round times every function once, in turn, so a burst of load from elsewhere on a shared
    machine hits all of them alike instead of whichever happened to be measured at that moment.
    """
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            started = time.perf_counter()
            for _ in range(number):
                function()
            samples[name].append((time.perf_counter() - started) / number * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def v2_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    event = json.loads((PROJECT / "tests" / "events" / "http_api_v2_post.json").read_text())
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    if body is None:
        event.pop("body", None)
        event["headers"].pop("content-type", None)
    else:
        event["body"] = json.dumps(body)
    return event


class FakeTx:
    """Stands in for a database transaction: every statement returns the canned row."""

    statements = 0

    def execute(self, query: Any, params: Any = None) -> Any:
        return self

    def one(self, query: Any, params: Any = None) -> Any:
        return ROW

    def all(self, query: Any, params: Any = None) -> list[Any]:
        return [ROW]

    def fetchone(self) -> Any:
        return ROW


def stub_transaction(work: Callable[[Any], Any], *, remaining_ms: int | None = None) -> Any:
    return work(FakeTx())


def copy_without_caches(source: Path, target: Path) -> None:
    """Copy a file, or a directory without ``__pycache__`` and ``.pyc`` files (as a fresh checkout holds it)."""
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        shutil.copy2(source, target)


def row(label: str, ours: float, anchor: float, unit: str, target: str) -> str:
    ratio = ours / anchor if anchor else float("nan")
    return f"{label:<46}{ours:>10.2f}{anchor:>12.2f} {unit:<4}{ratio:>7.2f}x   target {target}"


HEADER = f"{'measure':<46}{'ours':>10}{'anchor':>12} {'':<4}{'ratio':>7}"
