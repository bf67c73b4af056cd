"""``make dev``: the API on http://127.0.0.1:3000, each request run as the HTTP API would run it.

Each request becomes a payload 2.0 event exactly as the ``$default`` route builds it, goes to a
worker process through the Lambda Runtime API (awslambdaric; an in-process fallback says so on
start), and the handler's response comes back. The database is an embedded PostgreSQL from a
PyPI wheel, migrated on start, unless ``DATABASE_URL`` is set. The functions get its DSN, or with
``--iam`` what a deployed function gets: ``DB_HOST``/``DB_PORT`` of a local stand-in for RDS Proxy
(:mod:`lambda_src.local.rds_proxy`) that requires TLS and checks each connection's IAM token, the
stand-in's CA, and placeholder credentials to sign tokens with. With ``--function-name`` each event
goes to that deployed function through boto3 instead. ``GET /_local/stats`` reports per route.
Requests must be SigV4-signed as the deployed API's IAM authorization requires
(:mod:`lambda_src.local.api_auth`); the event carries the caller as ``requestContext.authorizer.iam``.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import os
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import events
from .api_auth import LocalIamAuthorizer, Refused
from .runtime_api import InProcessWorker, Outcome, make_worker

if TYPE_CHECKING:
    from .rds_proxy import LocalRdsProxy

HANDLER = "lambda_src.http.handler"
WEBSOCKET_HANDLER = "lambda_src.websocket.handler"
#: How the gateway answers when there is no handler response, by Outcome.kind. A local handler
#: that raises gets API Gateway's own 500; a forwarded invoke that fails is a 502 with the reason.
GATEWAY_ERRORS = {
    "function": (500, "Internal Server Error"),
    "timeout": (504, "Gateway Timeout: the function timed out"),
    "remote": (502, "Bad Gateway: the deployed function failed"),
    "sdk": (502, "Bad Gateway: the function could not be invoked"),
}


#: HTTP APIs refuse request payloads above 10 MB.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


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


def _route_template(method: str, path: str) -> str:
    """The router's template for ``path`` (e.g. ``/users/{id}``), or the path itself."""
    from ..http import app

    return app.router.template(path) or path


def make_server(worker: Any, *, host: str = "127.0.0.1", port: int = 3000, timeout: float = 10.0,
                authorizer: LocalIamAuthorizer | None = None) -> ThreadingHTTPServer:
    """``authorizer``: the IAM check every request passes first. Default: the local caller's."""
    stats = Stats(_route_template)
    authorizer = authorizer or LocalIamAuthorizer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _read_body(self) -> bytes:
            """The request body, from Content-Length or chunked transfer encoding."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks, total = [], 0
                while True:
                    size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                    try:
                        size = int(size_line, 16)
                    except ValueError:
                        raise _BadFraming(400, "Bad Request") from None
                    if size == 0:
                        while self.rfile.readline(1024).strip():  # trailers
                            pass
                        return b"".join(chunks)
                    total += size
                    if total > MAX_PAYLOAD_BYTES:
                        raise _BadFraming(413, "Request Entity Too Large")
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline(1024)  # the CRLF after each chunk
            raw = self.headers.get("Content-Length") or "0"
            if not raw.strip().isdigit():
                raise _BadFraming(400, "Bad Request")
            length = int(raw)
            if length > MAX_PAYLOAD_BYTES:
                raise _BadFraming(413, "Request Entity Too Large")
            return self.rfile.read(length) if length else b""

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
                from ..http import openapi
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

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.stats = stats  # type: ignore[attr-defined]
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local HTTP API for the handler package")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--timeout", type=float, default=10.0, help="per-invocation timeout in seconds (default 10)")
    parser.add_argument("--function-name", help="forward to this deployed function (boto3 Invoke) instead")
    parser.add_argument("--retries", type=int, default=2, help="retries of a forwarded invoke (default 2)")
    parser.add_argument("--ws-port", type=int, default=3001, help="local WebSocket API port (default 3001; 0: off)")
    parser.add_argument("--in-process", action="store_true", help="use the in-process worker")
    parser.add_argument("--iam", action="store_true",
                        help="connect as deployed functions do: TLS and an IAM token, checked by a local RDS Proxy stand-in")
    args = parser.parse_args(argv)
    gateway = proxy = None
    authorizer = LocalIamAuthorizer()
    if args.function_name:
        worker: Any = Forwarder(args.function_name, args.retries)
    else:
        from .database import local_database_url, migrate

        url, source = local_database_url()
        applied = migrate(url)
        print(f"database: {source} (migrations applied: {', '.join(applied) or 'none, up to date'})", flush=True)

        def build(handler: str, env: dict[str, str]) -> Any:
            return InProcessWorker(handler, env) if args.in_process else make_worker(handler, env)

        if args.iam:
            proxy = local_rds_proxy(url)
            print(f"database login: IAM tokens over TLS, checked by the RDS Proxy stand-in at {proxy.endpoint} "
                  f"(CA {proxy.ca_file})", flush=True)
        env = local_function_env(url, proxy)
        if args.ws_port:
            from .websocket_gateway import LocalWebSocketGateway

            gateway = LocalWebSocketGateway(lambda callback: build(WEBSOCKET_HANDLER, {**env, "WEBSOCKET_CALLBACK_URL": callback}),
                                            host=args.host, port=args.ws_port, timeout=args.timeout, authorizer=authorizer)
            env["WEBSOCKET_CALLBACK_URL"] = gateway.callback_url
            print(f"websocket: ws://{args.host}:{gateway.port} (management API {gateway.callback_url})", flush=True)
        worker = build(HANDLER, env)
    print(f"worker: {worker.description}", flush=True)
    server = make_server(worker, host=args.host, port=args.port, timeout=args.timeout, authorizer=authorizer)
    print(authorizer.describe(f"http://{args.host}:{server.server_address[1]}"), flush=True)
    print(f"serving http://{args.host}:{server.server_address[1]}  (GET /_local/stats for per-route stats)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        worker.close()
        if gateway is not None:
            gateway.close()
            gateway.worker.close()
        if proxy is not None:
            proxy.close()
    return 0


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
