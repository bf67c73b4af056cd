"""``make dev`` under concurrent load: 16 keep-alive clients against 1 worker (the anchor) and 4 workers.

Both servers are the real command line (``python -m devtools.server``) on one embedded
PostgreSQL, each started once. Each client sends 5 ``GET /users/{id}`` per ``POST /users``, as the
load test in tests/lambda_src/test_local_dev.py does. The two servers take the same load in
interleaved rounds (the order alternating), so a burst from elsewhere on a shared machine hits both
alike. Reports p50/p99 latency over all rounds, the median throughput of a round, and the CPU time
per request of each server's gateway process and of its worker processes (less sensitive than
latency to load from elsewhere on a shared machine).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import PROJECT

CLIENTS = 16
ROUNDS = int(os.environ.get("BENCH_DEV_ROUNDS", "5"))
#: Requests per client per round: 5 GETs after each POST.
PER_CLIENT = int(os.environ.get("BENCH_DEV_PER_CLIENT", "96"))
WORKERS = {"anchor": 1, "ours": 4}


def start(workers: int, database_url: str, log: Path) -> tuple[subprocess.Popen[str], str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DB_", "AWS_")) and key not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env.update(DATABASE_URL=database_url, PYTHONPATH=str(PROJECT))
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "devtools.server", "--port", "0", "--ws-port", "0",
                                    "--workers", str(workers)], cwd=PROJECT, env=env, text=True, stdout=out,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not (serving := re.search(r"serving http://([\d.]+:\d+)", log.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"make dev did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return process, serving.group(1)


def load(address: str, tag: str) -> tuple[list[float], float]:
    """One round: every client sends PER_CLIENT requests on its own connection. Latencies (ms), wall (s)."""
    from devtools.api_auth import LocalIamAuthorizer

    sign = LocalIamAuthorizer().sign
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    errors: list[str] = []

    def client(number: int) -> None:
        connection = http.client.HTTPConnection(address, timeout=30)
        mine: list[int] = []
        try:
            for sequence in range(PER_CLIENT):
                if sequence % 6 == 0:
                    body = json.dumps({"email": f"{tag}-{number}-{sequence}@example.com", "name": "Bench"})
                    method, path, headers = "POST", "/users", {"content-type": "application/json"}
                else:
                    body, method, path, headers = None, "GET", f"/users/{mine[sequence % len(mine)]}", {}
                # SigV4-signed as the local caller (the API's IAM authorization); signing is outside the timing
                headers = sign(method, f"http://{address}{path}", body=(body or "").encode(), headers=headers)
                begin = time.perf_counter()
                connection.request(method, path, body, headers)
                response = connection.getresponse()
                data = response.read()
                latencies[number].append((time.perf_counter() - begin) * 1000)
                if response.status not in (200, 201):
                    errors.append(f"{method} {path}: {response.status}")
                elif method == "POST":
                    mine.append(json.loads(data)["id"])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(f"client {number} request {len(latencies[number])}: {error!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} errors, e.g. {errors[:3]}")
    return [latency for per_client in latencies for latency in per_client], wall


def cpu_seconds(process: subprocess.Popen[str]) -> tuple[float, float]:
    """CPU time so far of the gateway process, and of its worker processes."""
    import psutil

    def used(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return times.user + times.system

    gateway = psutil.Process(process.pid)
    return used(gateway), sum(used(child) for child in gateway.children(recursive=True))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    from devtools.database import embedded_server, stop_embedded
    from lambda_src.example.migrate import migrate

    work = Path(tempfile.mkdtemp(prefix="bench-dev-workers-"))
    database = embedded_server(work / "pgdata")
    url = database.get_uri()
    migrate(url)
    servers: dict[str, tuple[subprocess.Popen[str], str]] = {}
    try:
        for name, workers in WORKERS.items():
            servers[name] = start(workers, url, work / f"{name}.log")
        for name, (_, address) in servers.items():  # warm: every worker started, connections opened
            load(address, f"warm-{name}")
        latencies: dict[str, list[float]] = {name: [] for name in servers}
        throughput: dict[str, list[float]] = {name: [] for name in servers}
        cpu_us: dict[str, list[float]] = {name: [0.0, 0.0] for name in servers}
        for round_number in range(ROUNDS):
            order = list(servers) if round_number % 2 == 0 else list(reversed(servers))
            for name in order:
                before = cpu_seconds(servers[name][0])
                values, wall = load(servers[name][1], f"r{round_number}-{name}")
                after = cpu_seconds(servers[name][0])
                latencies[name] += values
                throughput[name].append(len(values) / wall)
                for index in (0, 1):
                    cpu_us[name][index] += (after[index] - before[index]) * 1e6
    finally:
        for process, _ in servers.values():
            process.send_signal(signal.SIGINT)
            process.wait(30)
        if stop_embedded(database):
            shutil.rmtree(work, ignore_errors=True)
    total = ROUNDS * CLIENTS * PER_CLIENT
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{CLIENTS} keep-alive clients, 5 GET /users/{{id}} per POST /users, {total} requests per server "
          f"in {ROUNDS} interleaved rounds ({cores} cores)")
    print(f"{'':<44}{'p50 ms':>8}{'p99 ms':>8}{'req/s':>8}   CPU us/request: gateway, workers")
    rows: dict[str, tuple[float, float, float]] = {}
    for name, workers in WORKERS.items():
        rows[name] = (percentile(latencies[name], 0.5), percentile(latencies[name], 0.99), statistics.median(throughput[name]))
        label = f"make dev --workers {workers}" + (" (anchor: one worker)" if name == "anchor" else "")
        print(f"{label:<44}{rows[name][0]:>8.2f}{rows[name][1]:>8.2f}{rows[name][2]:>8.0f}"
              f"{cpu_us[name][0] / total:>11.0f}{cpu_us[name][1] / total:>9.0f}")
    ours, anchor = rows["ours"], rows["anchor"]
    print(f"{'ratio ours/anchor':<44}{ours[0] / anchor[0]:>7.2f}x{ours[1] / anchor[1]:>7.2f}x{ours[2] / anchor[2]:>7.2f}x")


if __name__ == "__main__":
    main()
