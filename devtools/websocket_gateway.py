"""A local API Gateway WebSocket API: client frames become the events API Gateway sends, and the
handler's Management API calls (post, get, delete connection) are answered here.

``make dev`` serves it on ws://127.0.0.1:3001 beside the HTTP API. The handler (``lambda_src.
websocket.handler``) runs in its own worker, like a second function; both functions find this
gateway's Management API through ``WEBSOCKET_CALLBACK_URL``. The handshake must be SigV4-signed, as
IAM authorization on ``$connect`` requires (:mod:`devtools.api_auth`); the ``$connect``
event names the caller in ``requestContext.identity``.
"""
from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

# API Gateway's quotas, as the handler package states them: 32 KB frames, 128 KB messages
from lambda_src.websocket import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES

from .api_auth import LocalIamAuthorizer, Refused

STAGE = "local"


def _context(connection_id: str, event_type: str, route_key: str, *, domain: str, connected_at: int,
             source_ip: str) -> dict[str, Any]:
    now = time.time()
    return {"routeKey": route_key, "eventType": event_type, "messageDirection": "IN", "stage": STAGE,
            "connectedAt": connected_at, "requestTimeEpoch": int(now * 1000),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode(),
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode(),
            "identity": {"sourceIp": source_ip}, "domainName": domain, "connectionId": connection_id, "apiId": "local"}


class Connection:
    def __init__(self, connection_id: str, websocket: Any, source_ip: str) -> None:
        self.connection_id = connection_id
        self.websocket = websocket
        self.source_ip = source_ip
        self.connected_at = int(time.time() * 1000)
        self.last_active_at = self.connected_at


class LocalWebSocketGateway:
    """Runs the WebSocket server on its own event loop thread, and the Management API on another port."""

    def __init__(self, worker_factory: Any, *, host: str = "127.0.0.1", port: int = 3001, timeout: float = 10.0,
                 authorizer: LocalIamAuthorizer | None = None) -> None:
        """``worker_factory(callback_url)`` builds the worker running the WebSocket handler;
        ``authorizer`` checks each handshake (default: the local caller's IAM check)."""
        self.timeout = timeout
        self.authorizer = authorizer or LocalIamAuthorizer()
        self.connections: dict[str, Connection] = {}
        self.loop = asyncio.new_event_loop()
        self.management = self._management_server()
        self.callback_url = f"http://127.0.0.1:{self.management.server_address[1]}/{STAGE}"
        threading.Thread(target=self.management.serve_forever, daemon=True).start()
        self.worker = worker_factory(self.callback_url)
        ready = threading.Event()
        threading.Thread(target=self._run_loop, args=(host, port, ready), daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("the local WebSocket server did not start")

    # ---- WebSocket side ------------------------------------------------------------------
    def _run_loop(self, host: str, port: int, ready: threading.Event) -> None:
        from websockets.asyncio.server import serve

        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.server = await serve(self._session, host, port, process_request=self._connect,
                                      max_size=(MAX_MESSAGE_BYTES, MAX_FRAME_BYTES), ping_interval=None)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            await self.server.serve_forever()

        self.loop.run_until_complete(start())

    async def _invoke(self, event: dict[str, Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.worker.invoke, event, self.timeout)

    async def _connect(self, connection: Any, request: Any) -> Any:
        """$connect: API Gateway refuses the handshake (403) unless the handler answers 200."""
        from http import HTTPStatus

        connection_id = base64.b64encode(uuid.uuid4().bytes[:9]).decode()
        query = urlsplit(request.path).query
        pairs = parse_qsl(query, keep_blank_values=True)
        headers = {k: v for k, v in request.headers.raw_items()}
        source_ip = connection.remote_address[0] if connection.remote_address else "127.0.0.1"
        try:  # IAM authorization on $connect: a refused handshake runs no function
            caller = self.authorizer.verify(method="GET", target=request.path, headers=request.headers.raw_items(),
                                            body=b"", client_ip=source_ip)
        except Refused as refusal:
            return connection.respond(HTTPStatus.FORBIDDEN, json.dumps(refusal.body()) + "\n")
        event = {"headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
                 "queryStringParameters": dict(pairs) or None,
                 "multiValueQueryStringParameters": {k: [v for kk, v in pairs if kk == k] for k, _ in pairs} or None,
                 "requestContext": _context(connection_id, "CONNECT", "$connect", domain=headers.get("Host", "localhost"),
                                            connected_at=int(time.time() * 1000), source_ip=source_ip),
                 "isBase64Encoded": False}
        event["requestContext"]["identity"].update(self.authorizer.websocket_identity(caller))
        outcome = await self._invoke(event)
        status = (outcome.result or {}).get("statusCode", 200) if outcome.error is None and isinstance(outcome.result, dict) else 500
        if status != 200:
            return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
        connection.local_id = connection_id
        # the connection exists once $connect said 200, as on API Gateway: before the handshake's answer reaches
        # the client, so a Management API call right after connecting finds it
        self.connections[connection_id] = Connection(connection_id, connection, source_ip)
        return None

    async def _session(self, websocket: Any) -> None:
        connection_id = websocket.local_id
        state = self.connections[connection_id]  # registered by _connect
        source_ip = state.source_ip
        domain = websocket.request.headers.get("Host", "localhost")
        code, reason = 1000, "Client closed"
        try:
            async for frame in websocket:
                state.last_active_at = int(time.time() * 1000)
                binary = isinstance(frame, bytes)
                body = base64.b64encode(frame).decode() if binary else frame
                route = "$default"
                if not binary:
                    try:
                        action = json.loads(frame).get("action")
                        route = action if isinstance(action, str) and action else "$default"
                    except (ValueError, AttributeError):
                        pass
                event = {"requestContext": {**_context(connection_id, "MESSAGE", route, domain=domain,
                                                       connected_at=state.connected_at, source_ip=source_ip),
                                            "messageId": base64.b64encode(uuid.uuid4().bytes[:9]).decode()},
                         "body": body, "isBase64Encoded": binary}
                await self._invoke(event)
        except Exception as error:  # noqa: BLE001 - a protocol error closes this connection only
            code, reason = 1006, f"{type(error).__name__}"
        finally:
            self.connections.pop(connection_id, None)
            close_code = websocket.close_code if websocket.close_code is not None else code
            event = {"headers": {}, "requestContext": {**_context(connection_id, "DISCONNECT", "$disconnect", domain=domain,
                                                                  connected_at=state.connected_at, source_ip=source_ip),
                                                       "disconnectStatusCode": close_code, "disconnectReason": reason},
                     "isBase64Encoded": False}
            await self._invoke(event)

    # ---- Management API side ---------------------------------------------------------------
    def _management_server(self) -> ThreadingHTTPServer:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _connection(self) -> Connection | None:
                prefix = f"/{STAGE}/@connections/"
                if not self.path.startswith(prefix):
                    self._reply(404, {"message": "Not Found"})
                    return None
                found = gateway.connections.get(unquote(self.path[len(prefix):]))
                if found is None:
                    self._reply(410, {"__type": "GoneException", "message": "Connection is gone"})
                return found

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                found = self._connection()
                if found is None:
                    return
                if len(body) > MAX_MESSAGE_BYTES:
                    return self._reply(413, {"__type": "PayloadTooLargeException",
                                             "message": f"Posts are limited to {MAX_MESSAGE_BYTES} bytes"})
                try:
                    asyncio.run_coroutine_threadsafe(found.websocket.send(body.decode("utf-8", "replace")), gateway.loop).result(5)
                except Exception:  # noqa: BLE001 - the socket closed under us: API Gateway answers 410
                    return self._reply(410, {"__type": "GoneException", "message": "Connection is gone"})
                self._reply(200)

            def do_GET(self) -> None:  # noqa: N802
                found = self._connection()
                if found is not None:
                    iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + "Z"  # noqa: E731
                    self._reply(200, {"connectedAt": iso(found.connected_at), "lastActiveAt": iso(found.last_active_at),
                                      "identity": {"sourceIp": found.source_ip}})

            def do_DELETE(self) -> None:  # noqa: N802
                found = self._connection()
                if found is not None:
                    asyncio.run_coroutine_threadsafe(found.websocket.close(1000, "Deleted"), gateway.loop).result(5)
                    self._reply(204)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        return server

    def close(self) -> None:
        self.management.shutdown()
        if hasattr(self, "server"):
            self.loop.call_soon_threadsafe(self.server.close)
