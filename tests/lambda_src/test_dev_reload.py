"""Hot reload in ``make dev``: a temporary copy of the handler package is served, edited while a client
keeps requesting, and the real awslambdaric workers are replaced without a failed request."""
from __future__ import annotations

import asyncio
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from devtools.api_auth import LocalIamAuthorizer
from devtools.reload import ReloadingWorker, changed, snapshot
from devtools.runtime_api import PROJECT, make_worker
from tests.lambda_src import pg
from tests.lambda_src.test_local_dev import alive, cli_env, dev_cli, request, serving_address

#: Generous bounds for this shared machine; benchmarks/handler_dev_reload.py measures the real figure.
RELOADED_WITHIN = 5.0
HEALTH = '        return {"status": "ok", "database": "ok"}\n'
#: The copy's /health sleeps for ?sleep= seconds and says which edition of the code answered.
SLOW_HEALTH = ('        import time\n'
               '        time.sleep(float(request.raw_query.partition("sleep=")[2] or 0))\n'
               '        return {"status": "ok", "database": "ok", "edition": 1}\n')


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


@pytest.fixture
def code(tmp_path: Path) -> Path:
    """A copy of the handler package (the runtime and the example) whose /health and WebSocket
    ``edition`` action answer ``{"edition": 1}``: the directory holding it."""
    root = tmp_path / "code"
    shutil.copytree(PROJECT / "lambda_src", root / "lambda_src", ignore=shutil.ignore_patterns("__pycache__"))
    replace_in(root / "lambda_src/example/users.py", HEALTH, SLOW_HEALTH)
    with (root / "lambda_src/example/websocket.py").open("a") as module:
        module.write('\n\n@app.action("edition")\ndef edition(connection_id: str, message: dict[str, Any]) -> dict[str, Any]:\n'
                     '    return {"edition": 1}\n')
    return root


@dataclass
class Client:
    """Requests GET /health on one keep-alive connection, one after another, until stopped."""

    address: str
    answers: list[tuple[float, int, int | None]] = field(default_factory=list)  # (when, status, edition)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sign = LocalIamAuthorizer().sign
        connection = http.client.HTTPConnection(self.address, timeout=20)
        while not self._stop.is_set():
            try:
                connection.request("GET", "/health", headers=sign("GET", f"http://{self.address}/health"))
                response = connection.getresponse()
                body = json.loads(response.read())
                self.answers.append((time.monotonic(), response.status, body.get("edition")))
                if response.status != 200:
                    self.failures.append(f"{response.status} {body}")
            except Exception as error:  # noqa: BLE001 - any failure is one the reload must not cause
                self.failures.append(repr(error))
                connection.close()
                connection = http.client.HTTPConnection(self.address, timeout=20)
        connection.close()

    def editions_since(self, moment: float) -> list[int | None]:
        return [edition for when, _, edition in list(self.answers) if when >= moment]

    def wait_for(self, edition: int, since: float, within: float = RELOADED_WITHIN) -> float:
        """Seconds from ``since`` until the first answer of ``edition``."""
        deadline = since + within
        while time.monotonic() < deadline:
            for when, _, seen in list(self.answers):
                if when >= since and seen == edition:
                    return when - since
            time.sleep(0.01)
        raise AssertionError(f"edition {edition} not served within {within} s; last answers {self.answers[-3:]}")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def workers_of(process: subprocess.Popen[str]) -> set[int]:
    return {child.pid for child in psutil.Process(process.pid).children(recursive=True)
            if "awslambdaric" in child.cmdline()}


def wait_for_log(log: Path, pattern: str, within: float = RELOADED_WITHIN) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if re.search(pattern, printed := log.read_text()):
            return printed
        time.sleep(0.02)
    raise AssertionError(f"{pattern!r} not printed within {within} s:\n{log.read_text()}")


@pytest.fixture
def served(code: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    """``make dev`` on the copy, 2 workers: its address, process and log."""
    log = tmp_path / "dev.log"
    with pg.fresh_database("reload") as dsn, dev_cli("--code-root", str(code), "--workers", "2",
                                                      env=cli_env(DATABASE_URL=dsn), log=log) as (process, printed):
        assert f"reload: watching {code / 'lambda_src'}" in printed
        yield serving_address(printed), process, log


class TestHttpReload:
    def test_an_edited_route_is_served_within_seconds_and_no_request_fails(self, code: Path, served) -> None:  # type: ignore[no-untyped-def]
        address, process, log = served
        users = code / "lambda_src/example/users.py"
        # GIVEN a client requesting all along, both workers started, and a slow request in flight
        client = Client(address)
        slow_answers: list[tuple[int, dict, float]] = []

        def slow(sleep: float) -> None:
            started = time.monotonic()
            status, _, body = request(address, "GET", f"/health?sleep={sleep}")
            slow_answers.append((status, body, time.monotonic() - started))

        warm = [threading.Thread(target=slow, args=(0.3,)) for _ in range(2)]
        for thread in warm:
            thread.start()
        for thread in warm:
            thread.join(30)
        old_workers = workers_of(process)
        assert len(old_workers) == 2
        in_flight = threading.Thread(target=slow, args=(2.0,))
        in_flight.start()
        time.sleep(0.5)
        # WHEN a route's answer (and its docstring, which the OpenAPI summary shows) is edited
        edited = time.monotonic()
        text = users.read_text().replace('"edition": 1', '"edition": 2')
        users.write_text(text.replace('"""The database answers:', '"""Edition 2: the database answers:'))
        # THEN the new code answers within the bound, and from then on only the new code
        took = client.wait_for(2, since=edited)
        time.sleep(0.3)
        in_flight.join(30)
        client.stop()
        editions = client.editions_since(edited)
        assert editions[editions.index(2):] == [2] * (len(editions) - editions.index(2))
        # AND no request failed, the one in flight finished on the old workers with the old code
        assert client.failures == [] and len(client.answers) > 10
        status, body, elapsed = slow_answers[-1]
        assert status == 200 and body["edition"] == 1 and elapsed >= 2.0
        # AND the old workers are stopped, replaced by as many new ones
        deadline = time.monotonic() + RELOADED_WITHIN
        while any(alive(pid) for pid in old_workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in old_workers)
        while len(workers_of(process)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers_of(process)) == 2
        printed = wait_for_log(log, r"generation 2 serving")
        assert "lambda_src/example/users.py changed" in printed
        # AND the local OpenAPI document follows the new code
        document = request(address, "GET", "/_local/openapi.json")[2]
        assert document["paths"]["/health"]["get"]["summary"].startswith("Edition 2:")
        print(f"edition 2 served {took:.2f} s after the edit")

    def test_a_syntax_error_keeps_the_old_workers_serving_and_is_printed_until_fixed(self, code: Path, served) -> None:  # type: ignore[no-untyped-def]
        address, process, log = served
        users = code / "lambda_src/example/users.py"
        client = Client(address)
        client.wait_for(1, since=time.monotonic() - 1)
        # WHEN a route is broken by a syntax error
        broken = time.monotonic()
        replace_in(users, '"edition": 1}', '"edition": 2,,}')
        line = next(number for number, text in enumerate(users.read_text().splitlines(), 1) if '"edition": 2,,' in text)
        # THEN the error is printed with its file and line, and the old code keeps answering
        printed = wait_for_log(log, "does not compile")
        assert f"{users}:{line}: SyntaxError:" in printed and "still serving the previous code" in printed
        time.sleep(1.0)
        assert set(client.editions_since(broken)) == {1}
        # WHEN the file compiles but the module fails on import
        replace_in(users, '"edition": 2,,}', '"edition": 2}')
        with users.open("a") as module:
            module.write('\nraise RuntimeError("the users module fails on import")\n')
        # THEN the new workers' init error is printed, and the old code keeps answering
        printed = wait_for_log(log, "does not start")
        assert "the users module fails on import" in printed
        assert set(client.editions_since(broken)) == {1}
        # WHEN it is fixed  THEN the new code is served, and no request failed all along
        users.write_text(users.read_text().replace('\nraise RuntimeError("the users module fails on import")\n', ""))
        client.wait_for(2, since=time.monotonic())
        client.stop()
        assert client.failures == []
        assert "generation 2 serving" in log.read_text()

    def test_no_reload_keeps_the_code_it_started_with(self, code: Path, tmp_path: Path) -> None:
        assert "--no-reload" in subprocess.run([sys.executable, "-m", "devtools.server", "--help"], cwd=PROJECT,
                                               capture_output=True, text=True, check=True).stdout
        log = tmp_path / "dev.log"
        with pg.fresh_database("noreload") as dsn, dev_cli("--code-root", str(code), "--no-reload",
                                                            env=cli_env(DATABASE_URL=dsn), log=log) as (_, printed):
            address = serving_address(printed)
            assert request(address, "GET", "/health")[2]["edition"] == 1
            # WHEN the code changes  THEN nothing is reloaded
            users = code / "lambda_src/example/users.py"
            replace_in(users, '"edition": 1}', '"edition": 2}')
            time.sleep(2.0)
            assert request(address, "GET", "/health")[2]["edition"] == 1
            assert "reload:" not in log.read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestWebSocketReload:
    def test_a_connected_client_gets_the_new_handler_after_an_edit(self, code: Path, tmp_path: Path) -> None:
        from websockets.asyncio.client import connect

        log = tmp_path / "dev.log"
        with pg.fresh_database("wsreload") as dsn, dev_cli("--code-root", str(code), "--ws-port", str(free_port()),
                                                            env=cli_env(DATABASE_URL=dsn), log=log) as (_, printed):
            found = re.search(r"websocket: (ws://[\d.]+:\d+)", printed)
            assert found, printed
            address = found.group(1) + "/"
            module = code / "lambda_src/example/websocket.py"

            async def scenario() -> tuple[int, float]:
                async with connect(address, additional_headers=LocalIamAuthorizer().sign("GET", address)) as websocket:
                    async def edition() -> int:
                        await websocket.send(json.dumps({"action": "edition"}))
                        return json.loads(await asyncio.wait_for(websocket.recv(), 10))["edition"]

                    # GIVEN a connected client answered by the first edition
                    assert await edition() == 1
                    # WHEN the handler is edited
                    edited = time.monotonic()
                    replace_in(module, '{"edition": 1}', '{"edition": 2}')
                    # THEN the same connection's next messages reach the new handler
                    while (seen := await edition()) != 2 and time.monotonic() - edited < RELOADED_WITHIN:
                        await asyncio.sleep(0.02)
                    return seen, time.monotonic() - edited

            seen, took = asyncio.run(scenario())
            assert seen == 2, log.read_text()
            print(f"WebSocket edition 2 served {took:.2f} s after the edit")


class TestGenerations:
    """The switch itself, on real awslambdaric workers without a server."""

    @staticmethod
    def pids(worker: ReloadingWorker) -> set[int]:
        return {w.process.pid for w in worker._current.pool.workers if w.process is not None}

    def test_an_invocation_in_flight_finishes_on_its_generation_which_then_stops(self) -> None:
        # GIVEN a worker running a slow invocation
        worker = ReloadingWorker(lambda: make_worker("tests.lambda_src.sample_handlers.timed", workers=2), "test")
        try:
            assert worker.invoke({"sleep": 0}, 10).result["statusCode"] == 200
            old = self.pids(worker)
            slow: list[dict] = []
            thread = threading.Thread(target=lambda: slow.append(json.loads(worker.invoke({"sleep": 1.5}, 10).result["body"])))
            thread.start()
            time.sleep(0.3)
            # WHEN a new generation is switched in
            pool, error = worker.prepare(30)
            assert error is None
            worker.switch(pool, 30)
            # THEN new invocations run on the new workers at once, while the old one finishes its invocation
            fresh = json.loads(worker.invoke({"sleep": 0}, 10).result["body"])
            assert fresh["pid"] not in old and all(alive(pid) for pid in old)
            thread.join(10)
            assert slow[0]["pid"] in old and worker.generation == 2
            # AND then the old workers stop
            deadline = time.monotonic() + 5
            while any(alive(pid) for pid in old) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not any(alive(pid) for pid in old)
        finally:
            worker.close()

    def test_close_stops_a_generation_still_finishing_an_invocation(self) -> None:
        # GIVEN a retired generation still running an invocation
        worker = ReloadingWorker(lambda: make_worker("tests.lambda_src.sample_handlers.timed"), "test")
        assert worker.invoke({"sleep": 0}, 10).result["statusCode"] == 200
        old = self.pids(worker)
        thread = threading.Thread(target=lambda: worker.invoke({"sleep": 5}, 10))
        thread.start()
        time.sleep(0.3)
        pool, error = worker.prepare(30)
        worker.switch(pool, 30)
        new = self.pids(worker)
        # WHEN make dev stops  THEN the workers of both generations are gone
        worker.close()
        thread.join(10)
        assert old and new and not any(alive(pid) for pid in old | new)

    def test_a_handler_that_fails_on_import_is_reported_before_any_switch(self) -> None:
        worker = ReloadingWorker(lambda: make_worker("tests.lambda_src.sample_handlers.missing"), "test")
        try:
            pool, error = worker.prepare(30)
            pool.close()
            assert error is not None and "Handler 'missing' missing on module" in error
        finally:
            worker.close()

    def test_the_watcher_sees_edits_additions_and_removals_of_python_files_only(self, tmp_path: Path) -> None:
        (tmp_path / "pkg/__pycache__").mkdir(parents=True)
        (tmp_path / "pkg/a.py").write_text("a = 1\n")
        (tmp_path / "pkg/b.py").write_text("b = 1\n")
        before = snapshot(tmp_path / "pkg")
        (tmp_path / "pkg/a.py").write_text("a = 22\n")
        (tmp_path / "pkg/b.py").unlink()
        (tmp_path / "pkg/c.py").write_text("c = 1\n")
        for ignored in ("pkg/.a.py.swp", "pkg/.#a.py", "pkg/__pycache__/a.cpython-311.py", "pkg/data.sql"):
            (tmp_path / ignored).write_text("x")
        assert changed(before, snapshot(tmp_path / "pkg")) == {tmp_path / "pkg" / name for name in ("a.py", "b.py", "c.py")}
