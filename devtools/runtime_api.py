"""A local Lambda Runtime API and the workers that run a handler behind it.

:class:`RuntimeApi` implements the endpoints the Lambda runtime interface client polls
(``/2018-06-01/runtime/invocation/next``, ``…/{id}/response``, ``…/{id}/error``,
``/runtime/init/error``). :class:`RicWorker` runs the handler in a separate process through
``awslambdaric`` (AWS's runtime interface client), so module state survives between invocations
as in a warm container; an invocation that exceeds its timeout kills the process, like Lambda
does, and a new one starts. :class:`InProcessWorker` is the fallback where awslambdaric cannot be
installed: same interface, handler in this process, timeout enforced on the caller's side.
:class:`WorkerPool` runs several :class:`RicWorker` side by side, as Lambda scales out.
"""
from __future__ import annotations

import importlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    """One invocation travelling through the Runtime API."""

    event: Any
    timeout: float
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: dict[str, Any] | None = None


@dataclass
class Outcome:
    """What a worker returns: the handler's result, or an error (``kind``: function, timeout, crash)."""

    result: Any = None
    error: dict[str, Any] | None = None
    kind: str | None = None


class RuntimeApi:
    """The Runtime API on 127.0.0.1 (ephemeral port), one invocation at a time per worker."""

    def __init__(self) -> None:
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.inflight: dict[str, Invocation] = {}
        self.init_error: dict[str, Any] | None = None
        #: Set when the runtime first asks for an invocation (its handler imported) or reports an init error.
        self.initialized = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024  # status, headers and body leave in one send (the server flushes after each request)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404)
                api.initialized.set()
                invocation = api.pending.get()
                api.inflight[invocation.request_id] = invocation
                deadline = int((time.time() + invocation.timeout) * 1000)
                self._reply(200, json.dumps(invocation.event).encode(), {
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:local:123456789012:function:local",
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
                })

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if parts[:2] == ["init", "error"]:
                    api.init_error = _json_or_text(body) or {"errorMessage": "init failed"}
                    api.initialized.set()
                    return self._reply(202)
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    invocation = api.inflight.pop(parts[1], None)
                    if invocation is None:
                        return self._reply(404)
                    if parts[2] == "response":
                        invocation.result = _json_or_text(body)
                    else:
                        invocation.error = _json_or_text(body) or {"errorMessage": "unknown error"}
                    invocation.done.set()
                    return self._reply(202)
                return self._reply(404)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietServer(ThreadingHTTPServer):
    """A worker killed (timed out, replaced by a reload) drops its connection: not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return {"errorMessage": body.decode("utf-8", "replace")}


class RicWorker:
    """The handler in a separate process, driven by awslambdaric through :class:`RuntimeApi`."""

    description = "awslambdaric worker process (Lambda Runtime API)"

    def __init__(self, handler: str, env: dict[str, str] | None = None, *, root: Path = PROJECT,
                 task_root: Path | None = None, output: Path | None = None) -> None:
        """:param root: the directory the handler's package is imported from, before this project (a
            copy of the package, served by ``make dev --code-root``). Default: this project.
        :param task_root: the directory the handler is imported from, as Lambda's ``/var/task`` (the
            process's working directory and its only import path; ``LAMBDA_TASK_ROOT``): ``root`` and
            this project are then not importable. Default: none.
        :param output: a file the process's standard output and error are appended to (the runtime's
            log lines). Default: this process's own."""
        self.handler = handler
        self.env = env or {}
        self.root = root
        self.task_root = Path(task_root) if task_root is not None else None
        self.output = output
        self.api = RuntimeApi()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._lock = threading.Lock()

    def _ensure_process(self) -> None:
        if self.process is None or self.process.poll() is not None:
            env = {**os.environ, **self.env, "AWS_LAMBDA_RUNTIME_API": self.api.address,
                   "AWS_LAMBDA_FUNCTION_NAME": "local", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                   "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(self.root), str(PROJECT), os.environ.get("PYTHONPATH", "")]))}
            cwd = self.root
            if self.task_root is not None:  # only the task root: nothing of this project is importable
                cwd = self.task_root
                env.update(PYTHONPATH=str(self.task_root), LAMBDA_TASK_ROOT=str(self.task_root))
            self.api.initialized.clear()
            log = open(self.output, "ab") if self.output is not None else None  # noqa: SIM115 - the child holds it
            try:
                self.process = subprocess.Popen([sys.executable, "-m", "awslambdaric", self.handler], cwd=cwd, env=env,
                                                stdout=log, stderr=subprocess.STDOUT if log else None)
            finally:
                if log is not None:
                    log.close()
            self.starts += 1

    def start(self, timeout: float) -> str | None:
        """Start the process now and wait until its handler is imported and it asks for an invocation:
        None then, else why not (the runtime's init error, its exit, or no sign of life in ``timeout`` s)."""
        with self._lock:
            self._ensure_process()
            process = self.process  # close() may kill it meanwhile
            assert process is not None
            deadline = time.monotonic() + timeout
            while not self.api.initialized.wait(0.02):
                if process.poll() is not None:
                    return f"the worker process exited with status {process.returncode} before asking for an invocation"
                if time.monotonic() > deadline:
                    return f"the worker process did not start within {timeout:g} s"
            if self.api.init_error is not None:
                error = self.api.init_error
                return f"{error.get('errorType') or 'init error'}: {error.get('errorMessage', '')}".strip()
            return None

    def invoke(self, event: Any, timeout: float) -> Outcome:
        with self._lock:  # one invocation at a time, like one Lambda execution environment
            self._ensure_process()
            invocation = Invocation(event, timeout)
            self.api.pending.put(invocation)
            if not invocation.done.wait(timeout):
                self._kill()
                return Outcome(error={"errorMessage": f"Task timed out after {timeout:.2f} seconds"}, kind="timeout")
            if invocation.error is not None:
                return Outcome(error=invocation.error, kind="function")
            return Outcome(result=invocation.result)

    def _kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        self.api.inflight.clear()
        while not self.api.pending.empty():
            self.api.pending.get_nowait()

    def close(self) -> None:
        self._kill()
        self.api.close()


class _Context:
    def __init__(self, request_id: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self.function_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class InProcessWorker:
    """Fallback: the handler in this process (module state survives), timeout enforced by waiting."""

    description = "in-process worker (awslambdaric unavailable): same semantics, but a timed-out handler keeps running"

    def __init__(self, handler: str, env: dict[str, str] | None = None) -> None:
        os.environ.update(env or {})
        from lambda_src import config
        from lambda_src.db import connection

        config.reload()  # the environment just changed: start like a fresh container
        connection.reset()
        module, _, function = handler.rpartition(".")
        self.function = getattr(importlib.import_module(module), function)
        self.starts = 1
        self._lock = threading.Lock()

    def invoke(self, event: Any, timeout: float) -> Outcome:
        with self._lock:
            outcome = Outcome()
            context = _Context(str(uuid.uuid4()), time.time() + timeout)

            def run() -> None:
                try:
                    outcome.result = json.loads(json.dumps(self.function(event, context), default=str))
                except Exception as error:  # noqa: BLE001 - reported like Lambda reports it
                    outcome.error, outcome.kind = {"errorMessage": str(error), "errorType": type(error).__name__}, "function"

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            thread.join(timeout)
            if thread.is_alive():
                return Outcome(error={"errorMessage": f"Task timed out after {timeout:.2f} seconds"}, kind="timeout")
            return outcome

    def close(self) -> None:
        pass


def default_workers() -> int:
    """``make dev``'s default pool size: the cores this process may use, at most 4."""
    return min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class WorkerPool:
    """Up to ``size`` workers side by side, as Lambda scales a function out to concurrent execution
    environments. Each worker runs one invocation at a time; an invocation goes to the most recently
    used idle worker (the warmest), a new worker starts only when every started one is busy (a cold
    start), and past ``size`` busy workers an invocation waits for one to be free."""

    def __init__(self, factory: Callable[[], RicWorker], size: int) -> None:
        if size < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {size}")
        self.factory, self.size = factory, size
        self.workers: list[RicWorker] = []
        self._idle: list[RicWorker] = []
        self._changed = threading.Condition()
        self._closed = False

    @property
    def description(self) -> str:
        return f"up to {self.size} awslambdaric worker processes (Lambda Runtime API), one invocation each at a time"

    @property
    def starts(self) -> int:
        """Worker processes started so far (cold starts, and restarts after a timeout)."""
        return sum(worker.starts for worker in list(self.workers))

    @property
    def started(self) -> int:
        """Workers created so far (each has started its process or will on its first invocation)."""
        return len(self.workers)

    def start(self, count: int, timeout: float) -> str | None:
        """Start workers now, side by side, until the pool has ``count`` (at most its size), and wait
        until each new one's handler is imported: None then, else the first reason one failed (see
        :meth:`RicWorker.start`)."""
        with self._changed:  # counted at once, so invocations meanwhile do not start more than the size
            if self._closed:
                return "the worker pool is closed"
            fresh = [self.factory() for _ in range(max(0, min(count, self.size) - len(self.workers)))]
            self.workers += fresh
        errors: list[str | None] = [None] * len(fresh)

        def run(index: int) -> None:
            errors[index] = fresh[index].start(timeout)

        threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(len(fresh))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with self._changed:
            self._idle += fresh
            self._changed.notify_all()
        return next((error for error in errors if error is not None), None)

    def invoke(self, event: Any, timeout: float) -> Outcome:
        worker = self._acquire()
        try:
            return worker.invoke(event, timeout)
        finally:
            with self._changed:
                self._idle.append(worker)
                self._changed.notify()

    def _acquire(self) -> RicWorker:
        with self._changed:
            while True:
                if self._closed:
                    raise RuntimeError("the worker pool is closed")
                if self._idle:
                    return self._idle.pop()
                if len(self.workers) < self.size:
                    self.workers.append(self.factory())  # its process starts on its first invocation
                    return self.workers[-1]
                self._changed.wait()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            workers = list(self.workers)
            self._changed.notify_all()
        for worker in workers:
            worker.close()


def make_worker(handler: str, env: dict[str, str] | None = None, *, prefer_ric: bool = True,
                workers: int = 1, root: Path = PROJECT) -> WorkerPool | InProcessWorker:
    """A pool of up to ``workers`` awslambdaric workers, importing the handler from ``root`` (default:
    this project), when awslambdaric is installed; else the in-process fallback (one handler in this
    process: ``workers`` and ``root`` do not apply)."""
    if prefer_ric:
        try:
            importlib.import_module("awslambdaric")
            return WorkerPool(lambda: RicWorker(handler, env, root=root), workers)
        except ImportError:
            pass
    return InProcessWorker(handler, env)
