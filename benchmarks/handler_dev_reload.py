"""``make dev``'s hot reload: seconds from saving an edited route to the first answer of the new code.

The real command line serves a temporary copy of the handler package (``--code-root``) on an
embedded PostgreSQL, with its default workers and the WebSocket gateway on (both functions are
replaced at each reload). One keep-alive client requests ``GET /health`` all along; each of
EDITS edits changes the route's answer, and the time to the first answer showing it is taken.
Anchor: the same edit without hot reload, picked up by restarting the server (``--no-reload``,
SIGINT, start again), the client retrying until it is back. Reports the median and worst time,
the requests answered and those that failed. Target (issue 15): ≤ 1 s, no failed request.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import PROJECT, copy_without_caches

EDITS = int(os.environ.get("BENCH_RELOAD_EDITS", "10"))
ANSWER = '        return {"status": "ok", "database": "ok"}\n'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(code: Path, database_url: str, port: int, log: Path, *extra: str) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DB_", "AWS_")) and key not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env.update(DATABASE_URL=database_url, PYTHONPATH=str(PROJECT))
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "devtools.server", "--port", str(port), "--ws-port",
                                    str(free_port()), "--code-root", str(code), *extra], cwd=PROJECT, env=env, text=True,
                                   stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "serving http://" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"make dev did not start:\n{log.read_text()}")
        time.sleep(0.02)
    return process


class Client:
    """GET /health one after another on a keep-alive connection (reconnecting after a failure)."""

    def __init__(self, port: int) -> None:
        from devtools.api_auth import LocalIamAuthorizer

        self.port, self.sign = port, LocalIamAuthorizer().sign
        self.answered, self.failed, self.edition = 0, 0, -1
        self.changed = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        url = f"http://127.0.0.1:{self.port}/health"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        while self.running:
            try:
                connection.request("GET", "/health", headers=self.sign("GET", url))
                response = connection.getresponse()
                body = json.loads(response.read())
                if response.status != 200:
                    raise RuntimeError(response.status)
                with self.changed:
                    self.answered += 1
                    self.edition = body.get("edition", -1)
                    self.changed.notify_all()
            except Exception:  # noqa: BLE001 - counted: a reload must cause none
                self.failed += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                time.sleep(0.01)
        connection.close()

    def wait_for(self, edition: int, within: float = 60) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.edition == edition, within):
                raise RuntimeError(f"edition {edition} not served within {within} s")

    def stop(self) -> None:
        self.running = False
        self.thread.join(30)


def edit(users: Path, edition: int) -> float:
    text = re.sub(r'"edition": \d+', f'"edition": {edition}', users.read_text())
    users.write_text(text)
    return time.monotonic()


def measure(code: Path, database_url: str, work: Path, *, restart: bool) -> tuple[list[float], Client]:
    users = code / "lambda_src/example/users.py"
    edit(users, 0)
    port = free_port()
    extra = ("--no-reload",) if restart else ()
    process = start(code, database_url, port, work / "dev.log", *extra)
    client = Client(port)
    took: list[float] = []
    try:
        client.wait_for(0)
        time.sleep(0.5)
        for edition in range(1, EDITS + 1):
            edited = edit(users, edition)
            if restart:  # what a developer does without hot reload: stop the server and start it again
                process.send_signal(signal.SIGINT)
                process.wait(30)
                process = start(code, database_url, port, work / "dev.log", *extra)
            client.wait_for(edition)
            took.append(time.monotonic() - edited)
            time.sleep(0.3)
    finally:
        client.stop()
        process.send_signal(signal.SIGINT)
        process.wait(30)
    if not restart:  # the server's own figure: from seeing the change to the new workers serving
        seen = [float(value) for value in re.findall(r"serving, ([\d.]+) s after the change was seen", (work / "dev.log").read_text())]
        print(f"hot reload, from the change seen to the new workers serving: median {statistics.median(seen):.2f} s, "
              f"worst {max(seen):.2f} s ({len(seen)} reloads)")
    return took, client


def main() -> None:
    from devtools.database import embedded_server, stop_embedded
    from devtools.runtime_api import default_workers
    from lambda_src.example.migrate import migrate

    work = Path(tempfile.mkdtemp(prefix="bench-dev-reload-"))
    code = work / "code"
    copy_without_caches(PROJECT / "lambda_src", code / "lambda_src")
    users = code / "lambda_src/example/users.py"
    users.write_text(users.read_text().replace(ANSWER, ANSWER.replace('"ok"}', '"ok", "edition": 0}')))
    database = embedded_server(work / "pgdata")
    url = database.get_uri()
    migrate(url)
    try:
        ours, ours_client = measure(code, url, work, restart=False)
        anchor, anchor_client = measure(code, url, work, restart=True)
    finally:
        if stop_embedded(database):
            shutil.rmtree(work, ignore_errors=True)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{EDITS} edits of GET /health's answer, one client requesting all along, {default_workers()} HTTP workers "
          f"+ the WebSocket function ({cores} cores)")
    print(f"{'':<40}{'median s':>10}{'worst s':>10}{'answered':>10}{'failed':>8}")
    for label, took, client in (("hot reload (make dev)", ours, ours_client),
                                ("anchor: restart (--no-reload)", anchor, anchor_client)):
        print(f"{label:<40}{statistics.median(took):>10.2f}{max(took):>10.2f}{client.answered:>10}{client.failed:>8}")
    print(f"{'ratio ours/anchor (median)':<40}{statistics.median(ours) / statistics.median(anchor):>9.2f}x")


if __name__ == "__main__":
    main()
