"""WebSocket handling against a real PostgreSQL: bookkeeping, broadcast with pruning, bad frames,
request signing, and the whole flow through the local gateway with a real WebSocket client."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest

from lambda_src import config, realtime
from lambda_src.example import websocket
from lambda_src.example.announce import announce_user_created
from lambda_src.aws import Credentials, sign_headers
from tests.lambda_src.conftest import CREDENTIALS, FakeContext


class FakeManagementApi:
    """A Management API endpoint over real HTTP: records posts; some connections are gone (410),
    one fails twice before succeeding (retried)."""

    def __init__(self, gone: set[str] = frozenset(), flaky: set[str] = frozenset(),
                 failing: set[str] = frozenset()) -> None:
        self.posts: list[tuple[str, Any]] = []
        self.attempts: dict[str, int] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                connection_id = self.path.rsplit("/", 1)[1].replace("%3D", "=")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.attempts[connection_id] = fake.attempts.get(connection_id, 0) + 1
                assert self.headers["Authorization"].startswith(
                    f"AWS4-HMAC-SHA256 Credential={CREDENTIALS['AWS_ACCESS_KEY_ID']}/")
                status = 410 if connection_id in gone else 500 if connection_id in failing else (
                    500 if connection_id in flaky and fake.attempts[connection_id] < 3 else 200)
                if status == 200:
                    fake.posts.append((connection_id, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/live"


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's credentials: the same that sign its IAM tokens to the database."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)


#: requestContext.identity of a $connect that IAM authorization let in (SigV4-signed handshake).
IAM_IDENTITY = {"accessKey": "ASIAEXAMPLEKEY123456", "accountId": "123456789012", "caller": "AROAEXAMPLE:client",
                "user": "AROAEXAMPLE:client", "userArn": "arn:aws:sts::123456789012:assumed-role/UsersClient/client",
                "sourceIp": "203.0.113.10", "userAgent": "Python/3.13 websockets/15.0"}


def ws_event(connection_id: str, event_type: str, body: Any = None, *, signed: bool = True) -> dict[str, Any]:
    """A WebSocket API event; a CONNECT is from an IAM caller unless ``signed`` is False."""
    route = {"CONNECT": "$connect", "DISCONNECT": "$disconnect"}.get(event_type, "$default")
    identity = IAM_IDENTITY if signed and event_type == "CONNECT" else {"sourceIp": "203.0.113.10"}
    event = {"requestContext": {"routeKey": route, "eventType": event_type, "connectionId": connection_id,
                                "domainName": "abc.execute-api.eu-west-1.amazonaws.com", "stage": "live",
                                "apiId": "abc", "connectedAt": 1795348800000, "requestId": "r",
                                "identity": dict(identity)},
             "isBase64Encoded": False}
    if body is not None:
        event["body"] = body
    return event


def set_callback_url(monkeypatch: pytest.MonkeyPatch, url: str | None) -> None:
    """``WEBSOCKET_CALLBACK_URL`` as the WebSocket construct sets it (None: no WebSocket API), read afresh."""
    if url is None:
        monkeypatch.delenv("WEBSOCKET_CALLBACK_URL", raising=False)
    else:
        monkeypatch.setenv("WEBSOCKET_CALLBACK_URL", url)
    config.reload()


def rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


class TestBookkeeping:
    def test_connect_subscribe_disconnect(self, db: str, credentials, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        api = FakeManagementApi()
        set_callback_url(monkeypatch, api.url)
        assert websocket.handler(ws_event("c1=", "CONNECT"), FakeContext()) == {"statusCode": 200}
        websocket.handler(ws_event("c1=", "MESSAGE", json.dumps({"action": "subscribe", "channel": "users"})), FakeContext())
        assert rows(db, "SELECT connection_id, channel FROM ws_subscriptions") == [("c1=", "users")]
        assert api.posts == [("c1=", {"subscribed": "users"})]
        websocket.handler(ws_event("c1=", "DISCONNECT"), FakeContext())
        assert rows(db, "SELECT count(*) FROM ws_connections") == [(0,)]
        assert rows(db, "SELECT count(*) FROM ws_subscriptions") == [(0,)]  # removed with the connection

    def test_a_message_of_several_frames_up_to_128_kb_is_served(self, db: str, credentials, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        # GIVEN a connected client (API Gateway joins frames of 32 KB into messages of up to 128 KB)
        api = FakeManagementApi()
        set_callback_url(monkeypatch, api.url)
        websocket.handler(ws_event("big", "CONNECT"), FakeContext())
        # WHEN it sends a 100 KB message THEN it is served like any other (it was refused at 32 KB)
        frame = json.dumps({"action": "ping", "pad": "x" * 100_000})
        assert websocket.handler(ws_event("big", "MESSAGE", frame), FakeContext()) == {"statusCode": 200}
        assert api.posts == [("big", {"pong": True})]

    def test_an_unavailable_database_is_a_503_handshake_and_an_error_message(self, db: str, credentials,  # type: ignore[no-untyped-def]
                                                                              monkeypatch, package_log) -> None:
        # GIVEN a connected client, then a database nobody answers for (a closed port)
        from lambda_src.db import connection

        api = FakeManagementApi()
        set_callback_url(monkeypatch, api.url)
        websocket.handler(ws_event("early", "CONNECT"), FakeContext())
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        monkeypatch.setenv("DB_HOST", "127.0.0.1")
        monkeypatch.setenv("DB_PORT", str(closed_port))
        config.reload()
        connection.reset()
        # WHEN a client connects THEN the handshake is refused with 503 (the client retries later)
        assert websocket.handler(ws_event("late", "CONNECT"), FakeContext()) == {"statusCode": 503}
        # WHEN the connected client subscribes THEN it gets the WebSocket app's service_unavailable error
        frame = json.dumps({"action": "subscribe", "channel": "users"})
        assert websocket.handler(ws_event("early", "MESSAGE", frame), FakeContext()) == {"statusCode": 200}
        [(target, reply)] = api.posts
        assert target == "early" and reply["error"]["code"] == "service_unavailable"
        assert reply["error"]["retryAfter"] == 5
        # WHEN the client goes away THEN the disconnect ends normally (API Gateway does not retry it; an
        # exception only failed the invocation), and says what it left behind
        package_log.clear()
        assert websocket.handler(ws_event("early", "DISCONNECT"), FakeContext()) == {"statusCode": 200}
        assert [r.getMessage() for r in package_log.records][-1] == "disconnect not recorded: database unavailable"

    @pytest.mark.parametrize(("frame", "code"), [
        ("{bad", "bad_request"), ('"just a string"', "bad_request"), ('{"no_action": 1}', "bad_request"),
        ('{"action": "fly"}', "not_found"), ('{"action": "subscribe", "channel": "BAD CHANNEL"}', "bad_request"),
        (json.dumps({"action": "ping", "pad": "x" * 140_000}), "payload_too_large"),
    ])
    def test_bad_frames_get_an_error_to_that_client_only(self, db: str, credentials, monkeypatch, frame, code) -> None:  # type: ignore[no-untyped-def]
        api = FakeManagementApi()
        set_callback_url(monkeypatch, api.url)
        for connection_id in ("sender", "bystander"):
            websocket.handler(ws_event(connection_id, "CONNECT"), FakeContext())
        assert websocket.handler(ws_event("sender", "MESSAGE", frame), FakeContext()) == {"statusCode": 200}
        assert [(cid, body["error"]["code"]) for cid, body in api.posts] == [("sender", code)]
        assert rows(db, "SELECT count(*) FROM ws_connections") == [(2,)]

    def test_a_connect_without_an_authenticated_caller_is_refused(self, db: str) -> None:
        # GIVEN a $connect with no caller (an API made public, or a handshake no authorizer checked)
        # WHEN the handler runs  THEN it answers 401, so API Gateway refuses the handshake, and records nothing
        assert websocket.handler(ws_event("anon=", "CONNECT", signed=False), FakeContext()) == {"statusCode": 401}
        assert rows(db, "SELECT count(*) FROM ws_connections") == [(0,)]
        # AND a subscribe on that refused connection subscribes nothing
        websocket.handler(ws_event("anon=", "MESSAGE", json.dumps({"action": "subscribe", "channel": "users"})),
                          FakeContext())
        assert rows(db, "SELECT count(*) FROM ws_subscriptions") == [(0,)]
        # AND a Lambda authorizer's principal is let in like an IAM one
        lambda_connect = ws_event("lam=", "CONNECT", signed=False)
        lambda_connect["requestContext"]["authorizer"] = {"principalId": "user-42"}
        assert websocket.handler(lambda_connect, FakeContext()) == {"statusCode": 200}

    def test_non_websocket_event_fails_the_invocation(self) -> None:
        with pytest.raises(ValueError, match="not a WebSocket event"):
            websocket.handler({"Records": []}, FakeContext())


class TestBroadcast:
    def test_broadcast_reaches_every_subscriber_and_prunes_the_gone_one(self, db: str, credentials) -> None:  # type: ignore[no-untyped-def]
        with psycopg.connect(db, autocommit=True) as conn:
            for index in range(25):
                conn.execute("INSERT INTO ws_connections VALUES (%s)", (f"c{index}",))
                conn.execute("INSERT INTO ws_subscriptions (connection_id, channel) VALUES (%s, 'users')", (f"c{index}",))
            conn.execute("INSERT INTO ws_connections VALUES ('other')")
            conn.execute("INSERT INTO ws_subscriptions (connection_id, channel) VALUES ('other', 'news')")
        api = FakeManagementApi(gone={"c3"}, flaky={"c7"})
        report = realtime.broadcast("users", {"hello": 1}, realtime.ManagementApi(api.url, "eu-west-1"))
        assert (report["sent"], report["gone"], report["failed"]) == (24, 1, [])
        assert report["queryMs"] >= 0 and report["postMs"] >= 0
        assert {cid for cid, _ in api.posts} == {f"c{i}" for i in range(25)} - {"c3"}
        assert api.attempts["c7"] == 3  # retried with backoff, then delivered
        assert rows(db, "SELECT count(*) FROM ws_connections WHERE connection_id = 'c3'") == [(0,)]
        assert rows(db, "SELECT count(*) FROM ws_connections") == [(25,)]

    def test_send_that_keeps_failing_is_reported(self, db: str, credentials, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setattr(realtime, "RETRY_DELAYS_SECONDS", (0.0, 0.0))
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("INSERT INTO ws_connections VALUES ('broken')")
            conn.execute("INSERT INTO ws_subscriptions (connection_id, channel) VALUES ('broken', 'users')")
        api = FakeManagementApi(failing={"broken"})
        report = realtime.broadcast("users", {}, realtime.ManagementApi(api.url, "eu-west-1"))
        assert report["failed"] == ["broken"] and api.attempts["broken"] == 3  # first try + 2 retries
        assert rows(db, "SELECT count(*) FROM ws_connections") == [(1,)]  # kept: it may recover

    def test_the_users_announcement_carries_the_id_and_the_kind_of_change_only(self, db: str, credentials,  # type: ignore[no-untyped-def]
                                                                             monkeypatch) -> None:
        # GIVEN a subscriber of the users channel
        from lambda_src.example import worker

        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("INSERT INTO ws_connections VALUES ('sub=')")
            conn.execute("INSERT INTO ws_subscriptions (connection_id, channel) VALUES ('sub=', 'users')")
        api = FakeManagementApi()
        set_callback_url(monkeypatch, api.url)
        user = {"id": 7, "email": "ada@example.com", "name": "Ada", "bio": "Analyst", "createdAt": "x", "updatedAt": "x"}
        # WHEN a created user is announced, directly and by the worker from the outbox's event (the full record)
        announce_user_created(user)
        record = {"messageId": "m-1", "body": json.dumps({"type": "user.created", "user": user}),
                  "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:UserEvents"}
        assert worker.handler({"Records": [record]}, FakeContext()) == {"batchItemFailures": []}
        # THEN each message says what happened and to which id, and nothing personal
        assert [body for _, body in api.posts] == [{"channel": "users", "data": {"type": "user.created", "user": {"id": 7}}}] * 2
        assert not any(secret in json.dumps(api.posts) for secret in ("ada@example.com", "Ada", "Analyst"))

    def test_no_websocket_api_configured_is_a_no_op(self, db: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        set_callback_url(monkeypatch, None)
        assert realtime.broadcast("users", {})["skipped"]


def test_request_signature_matches_botocore() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials
    from unittest import mock

    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
    body = b'{"hello":1}'
    host, path = "abc.execute-api.eu-west-1.amazonaws.com", "/live/%40connections/L0SM9cOFvHcCIhw%3D"
    ours = sign_headers(method="POST", host=host, path=path.replace("%", "%25"), body=body,
                        headers={"content-type": "application/json"}, service="execute-api", region="eu-west-1",
                        credentials=Credentials("AKIDEXAMPLE", "secret", "token"), now=now)
    request = AWSRequest(method="POST", url=f"https://{host}{path}", data=body, headers={"content-type": "application/json"})
    with mock.patch("botocore.auth.get_current_datetime", return_value=now.replace(tzinfo=None)):
        SigV4Auth(BotoCredentials("AKIDEXAMPLE", "secret", "token"), "execute-api", "eu-west-1").add_auth(request)
    assert ours["authorization"] == request.headers["Authorization"]


@pytest.fixture
def local_gateway(db: str) -> Iterator[tuple[Any, dict[str, str]]]:
    """The local WebSocket API, its function logging in through the local RDS Proxy stand-in; and that
    function environment."""
    from devtools.runtime_api import RicWorker
    from devtools.server import WEBSOCKET_HANDLER, local_function_env, local_rds_proxy
    from devtools.websocket_gateway import LocalWebSocketGateway

    proxy = local_rds_proxy(db)
    env = local_function_env(db, proxy)
    gateway = LocalWebSocketGateway(lambda callback: RicWorker(WEBSOCKET_HANDLER, {**env, "WEBSOCKET_CALLBACK_URL": callback}),
                                    port=0, timeout=10)
    yield gateway, env
    gateway.close()
    gateway.worker.close()
    proxy.close()


@pytest.fixture
def local_stack(local_gateway: tuple[Any, dict[str, str]]) -> Iterator[tuple[int, int]]:
    """``make dev --iam`` put together: the functions log in through the local RDS Proxy stand-in."""
    from devtools.runtime_api import RicWorker
    from devtools.server import HANDLER, make_server

    gateway, env = local_gateway
    http_worker = RicWorker(HANDLER, {**env, "WEBSOCKET_CALLBACK_URL": gateway.callback_url})
    server = make_server(http_worker, port=0, timeout=10)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], gateway.port
    server.shutdown()
    http_worker.close()


def test_websocket_client_receives_a_broadcast_that_an_http_request_triggered(local_stack, db: str) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    from websockets.asyncio.client import connect

    from devtools.api_auth import LocalIamAuthorizer

    http_port, ws_port = local_stack
    sign, address = LocalIamAuthorizer().sign, f"ws://127.0.0.1:{ws_port}/"

    async def scenario() -> tuple[Any, Any, Any]:
        async with connect(address, additional_headers=sign("GET", address)) as listener, \
                connect(address, additional_headers=sign("GET", address)) as other:
            await listener.send(json.dumps({"action": "subscribe", "channel": "users"}))
            subscribed = json.loads(await asyncio.wait_for(listener.recv(), 10))
            await other.send("{not json")
            error = json.loads(await asyncio.wait_for(other.recv(), 10))
            url, body = f"http://127.0.0.1:{http_port}/users", json.dumps({"email": "live@example.com", "name": "Live"}).encode()
            request = urllib.request.Request(url, method="POST", data=body, headers=sign(
                "POST", url, body=body, headers={"content-type": "application/json"}))
            await asyncio.get_running_loop().run_in_executor(None, lambda: urllib.request.urlopen(request).read())
            announced = json.loads(await asyncio.wait_for(listener.recv(), 10))
            return subscribed, error, announced

    subscribed, error, announced = asyncio.run(scenario())
    assert subscribed == {"subscribed": "users"}
    assert error["error"]["code"] == "bad_request"
    # the announcement names the new user's id and the kind of change, nothing of the record (no email, name, bio)
    assert announced == {"channel": "users", "data": {"type": "user.created", "user": {"id": 1}}}
    # both disconnects were recorded
    for _ in range(50):
        if rows(db, "SELECT count(*) FROM ws_connections") == [(0,)]:
            break
        import time

        time.sleep(0.1)
    assert rows(db, "SELECT count(*) FROM ws_connections") == [(0,)]


def test_an_unsigned_websocket_handshake_is_refused_before_the_function_runs(local_stack, db: str) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    from devtools.api_auth import LOCAL_CALLER, LocalIamAuthorizer

    # GIVEN the local WebSocket API, IAM-authorized on $connect as deployed
    _, ws_port = local_stack
    address = f"ws://127.0.0.1:{ws_port}/"

    async def handshake(headers: dict[str, str]) -> int:
        try:
            async with connect(address, additional_headers=headers):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    # WHEN a client connects without signing, or signed with another secret  THEN 403, and no connection is recorded
    assert asyncio.run(handshake({})) == 403
    assert asyncio.run(handshake(LocalIamAuthorizer(replace(LOCAL_CALLER, secret_key="guess")).sign("GET", address))) == 403
    assert rows(db, "SELECT count(*) FROM ws_connections") == [(0,)]
    # AND a signed handshake opens a connection
    assert asyncio.run(handshake(LocalIamAuthorizer().sign("GET", address))) == 101


def padded_ping(size: int) -> str:
    """A ``ping`` message of exactly ``size`` bytes."""
    frame = json.dumps({"action": "ping", "pad": ""})
    return frame[:-2] + "x" * (size - len(frame)) + frame[-2:]


def test_the_local_gateway_and_the_handler_take_what_api_gateway_takes(local_gateway) -> None:  # type: ignore[no-untyped-def]
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedError

    from devtools.api_auth import LocalIamAuthorizer
    from lambda_src.websocket import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES

    address = f"ws://127.0.0.1:{local_gateway[0].port}/"
    sign = LocalIamAuthorizer().sign

    async def send(message: str | list[str]) -> Any:
        """The handler's answer to ``message`` (a list: one message in those frames), or the close code."""
        # compression off: each frame carries the bytes it is counted by
        async with connect(address, additional_headers=sign("GET", address), max_size=None, compression=None) as client:
            await client.send(message)
            try:
                return json.loads(await asyncio.wait_for(client.recv(), 10))
            except ConnectionClosedError as closed:
                return closed.rcvd.code if closed.rcvd else None

    def frames(message: str) -> list[str]:
        return [message[i:i + MAX_FRAME_BYTES] for i in range(0, len(message), MAX_FRAME_BYTES)]

    # GIVEN API Gateway's quotas: 32 KB frames, 128 KB messages, 1009 beyond either
    assert (MAX_FRAME_BYTES, MAX_MESSAGE_BYTES) == (32 * 1024, 128 * 1024)
    # WHEN a client sends a message of exactly 128 KB in 32 KB frames THEN the handler serves it
    assert asyncio.run(send(frames(padded_ping(MAX_MESSAGE_BYTES)))) == {"pong": True}
    # WHEN one byte more, still in 32 KB frames THEN the gateway closes with 1009 (the handler never sees it)
    assert asyncio.run(send(frames(padded_ping(MAX_MESSAGE_BYTES + 1)))) == 1009
    # WHEN a single frame is one byte over 32 KB, in a message well under 128 KB THEN 1009 too
    assert asyncio.run(send(padded_ping(MAX_FRAME_BYTES + 1))) == 1009
    assert asyncio.run(send(padded_ping(MAX_FRAME_BYTES))) == {"pong": True}


def test_the_local_management_api_refuses_a_post_over_128_kb(local_gateway) -> None:  # type: ignore[no-untyped-def]
    import urllib.error
    import urllib.request

    from websockets.asyncio.client import connect

    from devtools.api_auth import LocalIamAuthorizer
    from lambda_src.websocket import MAX_MESSAGE_BYTES

    gateway = local_gateway[0]
    address = f"ws://127.0.0.1:{gateway.port}/"

    async def post_sizes() -> list[int]:
        async with connect(address, additional_headers=LocalIamAuthorizer().sign("GET", address), max_size=None):
            connection_id = next(iter(gateway.connections))  # registered before the handshake answered
            url = f"{gateway.callback_url}/@connections/{connection_id}"

            def post(size: int) -> int:
                request = urllib.request.Request(url, method="POST", data=b"x" * size)
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        return answer.status
                except urllib.error.HTTPError as refused:
                    return refused.code

            loop = asyncio.get_running_loop()
            return [await loop.run_in_executor(None, post, size) for size in (MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES + 1)]

    # GIVEN a connected client WHEN the function posts 128 KB, then one byte more
    # THEN API Gateway's answers: 200, then 413 (PayloadTooLargeException)
    assert asyncio.run(post_sizes()) == [200, 413]
