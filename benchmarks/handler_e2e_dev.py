"""End to end through the local dev server (``make dev``): GET /users/{id} over 5,000 requests.

The real path: HTTP (SigV4-signed, checked as the API's IAM authorization) → payload 2.0 event →
Lambda Runtime API → awslambdaric worker process → handler → embedded PostgreSQL. Reports p50/p99 latency and requests per second. For reference it
also runs the same requests against the in-process worker (no Runtime API hop).
"""
from __future__ import annotations

import http.client
import json
import os
import statistics
import tempfile
import threading
import time

from _common import PROJECT  # noqa: F401 - puts the project on sys.path

REQUESTS = int(os.environ.get("BENCH_E2E_REQUESTS", "5000"))


def run(worker_kind: str, url: str) -> tuple[float, float, float]:
    from devtools.api_auth import LocalIamAuthorizer
    from devtools.runtime_api import InProcessWorker, RicWorker
    from devtools.server import HANDLER, make_server

    worker = RicWorker(HANDLER, {"DATABASE_URL": url}) if worker_kind == "ric" else InProcessWorker(HANDLER, {"DATABASE_URL": url})
    server = make_server(worker, port=0, timeout=10)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
    base, sign = f"http://127.0.0.1:{server.server_address[1]}", LocalIamAuthorizer().sign
    try:
        body = json.dumps({"email": f"e2e-{worker_kind}@example.com", "name": "E"}).encode()
        connection.request("POST", "/users", body, sign("POST", f"{base}/users", body=body,
                                                        headers={"content-type": "application/json"}))
        user = json.loads(connection.getresponse().read())
        path = f"/users/{user['id']}"
        signed = sign("GET", base + path)  # valid for five minutes: signed once, as the clock of the run allows
        for _ in range(50):  # warm up
            connection.request("GET", path, headers=signed)
            connection.getresponse().read()
        latencies = []
        started = time.perf_counter()
        for _ in range(REQUESTS):
            begin = time.perf_counter()
            connection.request("GET", path, headers=signed)
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - begin) * 1000)
            assert response.status == 200
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
        server.shutdown()
        worker.close()
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1], REQUESTS / elapsed


def main() -> None:
    from pathlib import Path

    from devtools.database import embedded_server
    from lambda_src.example.migrate import migrate

    url = embedded_server(Path(tempfile.mkdtemp(prefix="bench-e2e-"))).get_uri()
    migrate(url)
    print(f"{'GET /users/{id} through the local server, ' + str(REQUESTS) + ' requests':<58}{'p50 ms':>8}{'p99 ms':>8}{'req/s':>8}")
    for kind, label in (("ric", "awslambdaric worker (make dev)"), ("inproc", "in-process worker (reference)")):
        p50, p99, rps = run(kind, url)
        print(f"{label:<58}{p50:>8.2f}{p99:>8.2f}{rps:>8.0f}")


if __name__ == "__main__":
    main()
