"""``make dev``: the API on http://127.0.0.1:3000, each request run as the HTTP API would run it.

Each request becomes a payload 2.0 event exactly as the ``$default`` route builds it, goes to one of
up to ``--workers`` worker processes (each one invocation at a time, as Lambda scales out) through
the Lambda Runtime API (awslambdaric; an in-process fallback says so on start), and the handler's
response comes back. As API Gateway does, the gateway answers malformed framing itself (an unknown
transfer coding is a 501) and cuts off clients too slow to send their request (408). The database
is an embedded PostgreSQL from a PyPI wheel, migrated on start, unless ``DATABASE_URL`` is set.
The functions get its DSN, or with ``--iam`` what a deployed function gets: ``DB_HOST``/``DB_PORT``
of a local stand-in for RDS Proxy (:mod:`devtools.rds_proxy`) that requires TLS and checks
each connection's IAM token, the stand-in's CA, and placeholder credentials to sign tokens with.
With ``--function-name`` each event goes to that deployed function through boto3 instead.
``GET /_local/stats`` reports per route. A change under the handler package replaces the workers
within about a second once the new code compiles and imports (:mod:`devtools.reload`; ``--no-reload``
turns it off); requests already running finish on the old workers. SIGTERM or SIGINT stops the
server and all it started, the embedded PostgreSQL last.
Requests must be SigV4-signed as the deployed API's IAM authorization requires
(:mod:`devtools.api_auth`); the event carries the caller as ``requestContext.authorizer.iam``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import signal
import sys
import threading
import time
import os
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import events
from .api_auth import LocalIamAuthorizer, Refused
from .request_reader import DeadlineReader
from .reload import INTERVAL, Reloader, ReloadingWorker, handler_package
from .runtime_api import PROJECT, InProcessWorker, Outcome, WorkerPool, default_workers, make_worker

if TYPE_CHECKING:
    from .rds_proxy import LocalRdsProxy

HANDLER = "lambda_src.example.http.handler"
WEBSOCKET_HANDLER = "lambda_src.example.websocket.handler"
#: How the gateway answers when there is no handler response, by Outcome.kind. A local handler
#: that raises gets API Gateway's own 500; a forwarded invoke that fails is a 502 with the reason.
GATEWAY_ERRORS = {
    "function": (500, "Internal Server Error"),
    "timeout": (504, "Gateway Timeout: the function timed out"),
    "remote": (502, "Bad Gateway: the deployed function failed"),
    "sdk": (502, "Bad Gateway: the function could not be invoked"),
}


#: Seconds a client has to send a whole request (line, headers, body) once its first byte arrived, and
#: seconds a keep-alive connection may stay silent between requests. API Gateway documents neither;
#: these are local choices, low enough that slow or stalled clients cannot pile up.
READ_TIMEOUT, IDLE_TIMEOUT = 10.0, 60.0
#: Connections the kernel queues until the gateway accepts them (capped by net.core.somaxconn).
ACCEPT_BACKLOG = 1024
#: Answers up to this size leave in one send (larger ones in pieces of it).
WRITE_BUFFER_BYTES = 64 * 1024
#: HTTP APIs refuse request payloads above 10 MB.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
#: Longest chunk-size or trailer line, and most trailer lines, read from a chunked body.
MAX_LINE_BYTES, MAX_TRAILER_LINES = 1024, 64
_DIGITS = re.compile("[0-9]+")
#: chunk-size (hex digits only: no sign, ``0x`` or ``_`` as ``int(…, 16)`` takes), optional extensions, line end.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")


class _BadFraming(Exception):
    """The HTTP request itself is malformed (length, chunking) or too large: answered by the gateway."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Forwarder:
    """Sends events to a deployed function with boto3 Invoke; errors become 502s."""

    description = "forwarding to a deployed function"

    def __init__(self, function_name: str, retries: int, client: Any = None) -> None:
        import boto3
        from botocore.config import Config

        self.function_name = function_name
        self.client = client or boto3.client("lambda", config=Config(retries={"max_attempts": retries + 1, "mode": "standard"}))
        self.starts = 0

    def invoke(self, event: Any, timeout: float) -> Outcome:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.invoke(FunctionName=self.function_name, Payload=json.dumps(event).encode())
            payload = json.loads(response["Payload"].read() or b"null")
        except (BotoCoreError, ClientError, OSError, ValueError) as error:
            return Outcome(error={"errorMessage": f"invoke failed: {error}"}, kind="sdk")
        if response.get("FunctionError"):
            return Outcome(error=payload if isinstance(payload, dict) else {"errorMessage": str(payload)}, kind="remote")
        return Outcome(result=payload)

    def close(self) -> None:
        pass


class Stats:
    """Requests, errors and invocations per route (``METHOD /template``)."""

    def __init__(self, route_of: Any) -> None:
        self.route_of = route_of
        self.lock = threading.Lock()
        self.routes: dict[str, dict[str, Any]] = defaultdict(lambda: {"requests": 0, "errors": 0, "invocations": 0,
                                                                      "totalMs": 0.0})

    def record(self, method: str, path: str, status: int, invoked: bool, elapsed_ms: float) -> None:
        key = f"{method} {self.route_of(method, path)}"
        with self.lock:
            entry = self.routes[key]
            entry["requests"] += 1
            entry["errors"] += status >= 500
            entry["invocations"] += invoked
            entry["totalMs"] += elapsed_ms

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {"routes": {key: {"requests": e["requests"], "errors": e["errors"], "invocations": e["invocations"],
                                     "meanMs": round(e["totalMs"] / e["requests"], 2)}
                               for key, e in sorted(self.routes.items())}}


#: The stats key of a request no route matches: one entry for all such paths, however many.
NO_ROUTE = "(no route)"


def _route_template(method: str, path: str) -> str:
    """The router's template for ``path`` (e.g. ``/users/{id}``), or :data:`NO_ROUTE`: never the raw
    path, so the stats hold at most one entry per method and route however many paths clients send."""
    from lambda_src.example.http import app

    return app.router.template(path) or NO_ROUTE


class _Gateway(ThreadingHTTPServer):
    """A thread per connection; connections arriving while the accept loop waits its turn are queued
    (the standard library's backlog of 5 drops a burst of 16 clients' connections)."""

    daemon_threads = True
    request_queue_size = ACCEPT_BACKLOG


def make_server(worker: Any, *, host: str = "127.0.0.1", port: int = 3000, timeout: float = 10.0,
                read_timeout: float = READ_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT,
                authorizer: LocalIamAuthorizer | None = None) -> ThreadingHTTPServer:
    """The gateway on ``host:port``: each request read within ``read_timeout`` of its first byte (else
    408), a keep-alive connection closed after ``idle_timeout`` without one, ``timeout`` per invocation.
    ``authorizer``: the IAM check every request passes first. Default: the local caller's."""
    stats = Stats(_route_template)
    authorizer = authorizer or LocalIamAuthorizer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        wbufsize = WRITE_BUFFER_BYTES  # status, headers and body leave in one send, flushed after each request

        def log_message(self, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            self.rfile.close()  # the socket's own reader gives way to one with a deadline per request
            self.reader = DeadlineReader(self.connection, read_timeout=read_timeout, idle_timeout=idle_timeout)
            self.rfile = io.BufferedReader(self.reader)

        def handle_one_request(self) -> None:
            self.requestline, self.request_version = "", "HTTP/1.1"  # for a 408 before the request line is in
            super().handle_one_request()  # a read that times out ends it and marks the connection to close
            if self.reader.started():  # part of a request came, and every answer marks the request read: 408
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self._send(408, [("content-type", "application/json")], b'{"message": "Request Timeout"}')
                    self.wfile.flush()

        def send_response(self, code: int, message: str | None = None) -> None:
            self.reader.request_read()  # answering: the request is read, and the next one gets its own deadline
            self.connection.settimeout(idle_timeout)  # the time a client may take to receive the answer
            super().send_response(code, message)

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def _read_body(self) -> bytes:
            """The request body, framed by Content-Length or by chunked transfer coding (RFC 9112 §6)."""
            codings = [coding.strip().lower() for value in self.headers.get_all("Transfer-Encoding", [])
                       for coding in value.split(",")]
            lengths = [length.strip() for value in self.headers.get_all("Content-Length", []) for length in value.split(",")]
            if codings:
                if any(coding and coding != "chunked" for coding in codings):
                    raise _BadFraming(501, "Not Implemented")  # the only transfer coding this gateway knows
                if codings != ["chunked"] or lengths or self.request_version == "HTTP/1.0":
                    raise _BadFraming(400, "Bad Request")  # chunked twice, empty, beside a length, or in HTTP/1.0
                return self._read_chunked()
            if not lengths:
                return b""
            if len(set(lengths)) != 1 or not _DIGITS.fullmatch(lengths[0]):
                raise _BadFraming(400, "Bad Request")
            length = int(lengths[0])
            if length > MAX_PAYLOAD_BYTES:
                raise _BadFraming(413, "Request Entity Too Large")
            return self._read_exactly(length)

        def _read_exactly(self, size: int) -> bytes:
            data = self.rfile.read(size) if size else b""
            if len(data) != size:  # the client closed before sending what it declared
                raise _BadFraming(400, "Bad Request")
            return data

        def _read_chunked(self) -> bytes:
            chunks, total = [], 0
            while True:
                size_line = _CHUNK_SIZE.fullmatch(self.rfile.readline(MAX_LINE_BYTES))
                if size_line is None:
                    raise _BadFraming(400, "Bad Request")
                size = int(size_line.group(1), 16)
                if size == 0:
                    break
                total += size
                if total > MAX_PAYLOAD_BYTES:
                    raise _BadFraming(413, "Request Entity Too Large")
                chunks.append(self._read_exactly(size))
                if self.rfile.readline(3) not in (b"\r\n", b"\n"):  # each chunk's data ends with CRLF
                    raise _BadFraming(400, "Bad Request")
            for _ in range(MAX_TRAILER_LINES):  # trailer fields, up to the empty line
                line = self.rfile.readline(MAX_LINE_BYTES)
                if line in (b"\r\n", b"\n"):
                    return b"".join(chunks)
                if not line.endswith(b"\n"):
                    break
            raise _BadFraming(400, "Bad Request")

        def _handle(self) -> None:
            started = time.perf_counter()
            raw_path, _, raw_query = self.path.partition("?")
            try:
                body = self._read_body()
            except _BadFraming as error:  # as API Gateway does: an HTTP-level error, not an invocation
                self.close_connection = True
                return self._send(error.status, [("content-type", "application/json")],
                                  json.dumps({"message": error.message}).encode())
            if raw_path == "/_local/stats" and self.command == "GET":
                return self._send(200, [("content-type", "application/json")], json.dumps(stats.report()).encode())
            if raw_path == "/_local/openapi.json" and self.command == "GET":  # the routes' OpenAPI document
                from lambda_src.example.http import openapi
                return self._send(200, [("content-type", "application/json")], json.dumps(openapi()).encode())
            try:  # IAM authorization, as the deployed API: a refused request runs no function
                caller = authorizer.verify(method=self.command, target=self.path, headers=self.headers.items(),
                                           body=body, client_ip=self.client_address[0])
            except Refused as refusal:
                self._send(403, [("content-type", "application/json")], json.dumps(refusal.body()).encode())
                return stats.record(self.command, raw_path, 403, False, (time.perf_counter() - started) * 1000)
            event = events.http_api_event(method=self.command, raw_path=raw_path, raw_query=raw_query,
                                          headers=list(self.headers.items()), body=body,
                                          source_ip=self.client_address[0], host=self.headers.get("Host", "localhost"))
            event["requestContext"]["authorizer"] = {"iam": caller}
            outcome = worker.invoke(event, timeout)
            if outcome.error is not None:
                status, message = GATEWAY_ERRORS[outcome.kind or "function"]
                payload = {"message": message, "error": outcome.error.get("errorMessage", "error")}
                self._send(status, [("content-type", "application/json")], json.dumps(payload).encode())
            else:
                status, headers, response_body = events.http_response(outcome.result)
                self._send(status, headers, response_body)
            stats.record(self.command, raw_path, status, True, (time.perf_counter() - started) * 1000)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle  # noqa: N815

    server = _Gateway((host, port), Handler)
    server.stats = stats  # type: ignore[attr-defined]
    return server


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local HTTP API for the handler package")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--timeout", type=float, default=10.0, help="per-invocation timeout in seconds (default 10)")
    parser.add_argument("--read-timeout", type=float, default=READ_TIMEOUT,
                        help=f"seconds a client has to send a whole request, else 408 (default {READ_TIMEOUT:g})")
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT,
                        help=f"seconds an idle keep-alive connection stays open (default {IDLE_TIMEOUT:g})")
    parser.add_argument("--function-name", help="forward to this deployed function (boto3 Invoke) instead")
    parser.add_argument("--retries", type=int, default=2, help="retries of a forwarded invoke (default 2)")
    parser.add_argument("--ws-port", type=int, default=3001, help="local WebSocket API port (default 3001; 0: off)")
    parser.add_argument("--workers", type=_positive_int, default=default_workers(),
                        help="worker processes per function, each one invocation at a time, as Lambda scales out "
                             f"(default: the cores, at most 4; here {default_workers()})")
    parser.add_argument("--in-process", action="store_true", help="use the in-process worker (one, in this process)")
    parser.add_argument("--iam", action="store_true",
                        help="connect as deployed functions do: TLS and an IAM token, checked by a local RDS Proxy stand-in")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the embedded PostgreSQL's data directory (default .pgdata in the project)")
    parser.add_argument("--no-reload", action="store_true",
                        help="keep the workers when the handler package changes (default: a change to its *.py files "
                             "that compiles and imports replaces them; requests already running finish on the old ones)")
    parser.add_argument("--code-root", type=Path, default=PROJECT,
                        help="the directory holding the handler package lambda_src, served and watched "
                             "(default: this project)")
    args = parser.parse_args(argv)
    args.code_root = args.code_root.resolve()
    if args.code_root != PROJECT:  # the server's own imports of the package (routes for the stats, migrations) too
        sys.path.insert(0, str(args.code_root))
    _stop_on_signals()
    with contextlib.ExitStack() as running:  # whatever started is stopped, in reverse order, however main ends
        try:
            _serve(args, running)
        except (_Stopped, KeyboardInterrupt) as stop:
            print(f"stopping ({stop or 'interrupted'})", flush=True)
    return 0


class _Stopped(Exception):
    """SIGTERM or SIGINT: ``make dev`` stops, and stops what it started."""


def _stop_on_signals() -> None:
    """SIGTERM and SIGINT raise :class:`_Stopped` in the main thread; a second one while stopping is
    ignored, so the stop is not cut short (the embedded PostgreSQL would be left running)."""
    def stop(signum: int, _frame: Any) -> None:
        for ignored in (signal.SIGTERM, signal.SIGINT):
            signal.signal(ignored, signal.SIG_IGN)
        raise _Stopped(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


def _serve(args: argparse.Namespace, running: contextlib.ExitStack) -> None:
    """Start the database, stand-in, gateways and workers that ``args`` ask for (each registered in
    ``running`` to be stopped) and serve HTTP until stopped."""
    proxy = None
    authorizer = LocalIamAuthorizer()
    if args.function_name:
        worker: Any = Forwarder(args.function_name, args.retries)
    else:
        from .database import DATA_DIR, local_database, migrate

        url, source, stop_database = local_database(args.data_dir or DATA_DIR)

        def stop_embedded() -> None:  # last: after the workers and the stand-in that use it
            if source != "DATABASE_URL":
                print(f"database: {'stopped' if stop_database() else 'left running for another process'}", flush=True)

        running.callback(stop_embedded)
        applied = migrate(url)
        print(f"database: {source} (migrations applied: {', '.join(applied) or 'none, up to date'})", flush=True)

        package = handler_package(HANDLER, args.code_root)
        # the stats' route templates and /_local/openapi.json follow the reloaded routes
        reloader = None if args.no_reload or args.in_process else Reloader(package, module=HANDLER.rpartition(".")[0])

        def build(handler: str, env: dict[str, str], name: str) -> Any:
            def make() -> Any:
                return make_worker(handler, env, workers=args.workers, root=args.code_root)

            built = InProcessWorker(handler, env) if args.in_process else make()
            if reloader is not None and isinstance(built, WorkerPool):  # the in-process worker cannot be replaced
                built = reloader.add(ReloadingWorker(make, name, first=built))
            running.callback(built.close)
            return built

        if args.iam:
            proxy = running.enter_context(local_rds_proxy(url))
            print(f"database login: IAM tokens over TLS, checked by the RDS Proxy stand-in at {proxy.endpoint} "
                  f"(CA {proxy.ca_file})", flush=True)
        env = local_function_env(url, proxy)
        if args.ws_port:
            from .websocket_gateway import LocalWebSocketGateway

            gateway = LocalWebSocketGateway(lambda callback: build(WEBSOCKET_HANDLER, {**env, "WEBSOCKET_CALLBACK_URL": callback},
                                                                   "websocket"),
                                            host=args.host, port=args.ws_port, timeout=args.timeout, authorizer=authorizer)
            running.callback(gateway.close)
            env["WEBSOCKET_CALLBACK_URL"] = gateway.callback_url
            print(f"websocket: ws://{args.host}:{gateway.port} (management API {gateway.callback_url})", flush=True)
        worker = build(HANDLER, env, "http")
        if reloader is not None and reloader.workers:
            reloader.start()
            running.callback(reloader.close)  # before the workers stop
            print(f"reload: watching {package} (*.py, every {INTERVAL:g} s; --no-reload turns it off)", flush=True)
    print(f"worker: {worker.description}", flush=True)
    server = make_server(worker, host=args.host, port=args.port, timeout=args.timeout, read_timeout=args.read_timeout,
                         idle_timeout=args.idle_timeout, authorizer=authorizer)
    running.callback(server.server_close)
    print(authorizer.describe(f"http://{args.host}:{server.server_address[1]}"), flush=True)
    print(f"serving http://{args.host}:{server.server_address[1]}  (GET /_local/stats for per-route stats)", flush=True)
    server.serve_forever()


#: Placeholder AWS credentials of the local functions. They sign the Management API calls (local,
#: unverified) and, with ``--iam``, the IAM tokens the stand-in checks. Real credentials never go
#: to the local endpoints.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "LOCALDEVELOPMENT", "AWS_SECRET_ACCESS_KEY": "local",
                     "AWS_SESSION_TOKEN": "local-session", "AWS_REGION": "local"}


def local_rds_proxy(database_url: str) -> LocalRdsProxy:
    """The stand-in for RDS Proxy in front of ``database_url``, letting in tokens signed with
    :data:`LOCAL_CREDENTIALS` (new CA and certificate in a temporary directory)."""
    from .iam_login import IamLoginCheck
    from .rds_proxy import LocalRdsProxy

    login = IamLoginCheck(access_key=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                          secret_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                          session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"], region=LOCAL_CREDENTIALS["AWS_REGION"])
    return LocalRdsProxy(database_url, login=login)


def local_function_env(database_url: str, proxy: LocalRdsProxy | None = None) -> dict[str, str]:
    """What the local functions get: :data:`LOCAL_CREDENTIALS`, and the database's DSN; or, with
    the stand-in, the settings a deployed function gets (``DB_*`` naming the stand-in, its CA) and
    ``DATABASE_URL`` emptied, so each connection logs in with TLS and an IAM token."""
    if proxy is None:
        return {**LOCAL_CREDENTIALS, "DATABASE_URL": database_url}
    return {**LOCAL_CREDENTIALS, "DATABASE_URL": "", "DB_HOST": proxy.host, "DB_PORT": str(proxy.port),
            "DB_NAME": urlsplit(database_url).path.lstrip("/") or "postgres",
            "DB_USER": os.environ.get("DB_USER", "app_user"), "DB_SSL_ROOT_CERT": proxy.ca_file}


if __name__ == "__main__":
    sys.exit(main())
