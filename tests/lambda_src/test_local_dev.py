"""The local development server and runtime: IAM authorization as deployed, payload 2.0 events, a real
Runtime API worker, stats."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from lambda_src.db import iam_token
from lambda_src.db.sigv4 import Credentials
from lambda_src.local import events as local_events
from lambda_src.local.api_auth import LOCAL_CALLER, LocalIamAuthorizer, Refused
from lambda_src.local.runtime_api import PROJECT, InProcessWorker, RicWorker, make_worker
from lambda_src.local.server import LOCAL_CREDENTIALS, Forwarder, make_server
from tests.lambda_src import pg
from tests.lambda_src.conftest import load_event


@pytest.fixture
def served(db: str, function_env: dict[str, str]) -> Iterator[tuple[str, Any]]:
    worker = RicWorker("lambda_src.http.handler", function_env)
    server = make_server(worker, port=0, timeout=10)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    worker.close()


def request(address: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, *,
            signed: bool = True) -> tuple[int, dict[str, str], Any]:
    """One request to the local API, SigV4-signed as the local caller unless ``signed`` is False."""
    connection = http.client.HTTPConnection(address, timeout=20)
    payload = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    headers = {"content-type": "application/json", **(headers or {})}
    if signed:
        headers = LocalIamAuthorizer().sign(method, f"http://{address}{path}", body=payload or b"", headers=headers)
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    raw = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw) if raw else None


class TestServer:
    def test_users_api_through_the_local_server(self, served) -> None:  # type: ignore[no-untyped-def]
        address, server = served
        status, headers, user = request(address, "POST", "/users", {"email": "dev@example.com", "name": "Dev"})
        assert status == 201 and headers["location"] == "/users/1"
        assert request(address, "GET", "/users/1")[2]["email"] == "dev@example.com"
        assert request(address, "GET", "/users?limit=1")[2]["items"][0]["id"] == 1
        status, headers, body = request(address, "GET", "/nope")
        assert status == 404 and body["error"]["code"] == "not_found"
        status, headers, body = request(address, "PUT", "/users")
        assert status == 405 and headers["allow"] == "GET, POST"
        assert request(address, "POST", "/users", b"{bad")[0] == 400
        # THEN the stats count requests, errors and invocations per route
        stats = request(address, "GET", "/_local/stats")[2]["routes"]
        assert stats["POST /users"]["requests"] == 2 and stats["GET /users/{id}"]["invocations"] == 1
        assert stats["GET /nope"]["errors"] == 0

    def test_cookies_and_repeated_query_keys_reach_the_handler_as_http_api_sends_them(self) -> None:
        event = local_events.http_api_event(method="GET", raw_path="/users", raw_query="tag=a&tag=b",
                                            headers=[("Cookie", "a=1; b=2"), ("X-Multi", "1"), ("X-Multi", "2")],
                                            body=b"", source_ip="127.0.0.1", host="localhost:3000")
        assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
        assert event["queryStringParameters"] == {"tag": "a,b"} and event["rawQueryString"] == "tag=a&tag=b"
        assert event["headers"]["x-multi"] == "1,2"
        assert event["requestContext"]["stage"] == "$default" and event["routeKey"] == "$default"

    def test_binary_bodies_are_base64_encoded(self) -> None:
        event = local_events.http_api_event(method="POST", raw_path="/x", raw_query="", headers=[("Content-Type", "image/png")],
                                            body=b"\x89PNG\x00", source_ip="127.0.0.1", host="localhost")
        assert event["isBase64Encoded"] is True

    def test_response_cookies_become_set_cookie_headers(self) -> None:
        status, headers, body = local_events.http_response({"statusCode": 201, "cookies": ["a=1", "b=2"], "body": "x"})
        assert status == 201 and headers == [("set-cookie", "a=1"), ("set-cookie", "b=2")] and body == b"x"


class TestLocalIamAuthorization:
    """``make dev`` authorizes as the deployed API does (IAM): unsigned or wrongly signed requests get
    API Gateway's 403 and run no function; a signed one reaches the handler with its caller."""

    @pytest.fixture
    def echo(self) -> Iterator[str]:
        worker = InProcessWorker("tests.lambda_src.sample_handlers.caller")
        server = make_server(worker, port=0, timeout=10)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"127.0.0.1:{server.server_address[1]}"
        server.shutdown()

    def test_unsigned_is_403_and_signed_is_200_through_the_users_api(self, served) -> None:  # type: ignore[no-untyped-def]
        address, server = served
        # WHEN a client calls without signing  THEN 403 with API Gateway's message, and no invocation
        status, _, body = request(address, "GET", "/users", signed=False)
        assert status == 403 and body["message"] == "Forbidden" and "not signed" in body["localReason"]
        assert request(address, "POST", "/users", {"email": "x@example.com", "name": "X"}, signed=False)[0] == 403
        # WHEN it signs as the local caller  THEN the API answers
        assert request(address, "GET", "/users")[0] == 200
        stats = request(address, "GET", "/_local/stats")[2]["routes"]
        assert stats["GET /users"] == {"requests": 2, "errors": 0, "invocations": 1, "meanMs": stats["GET /users"]["meanMs"]}
        assert stats["POST /users"]["invocations"] == 0

    def test_the_handler_is_told_the_caller_as_payload_2_iam(self, echo: str) -> None:
        status, _, body = request(echo, "GET", "/whoami")
        assert status == 200 and body["iam"]["userArn"] == LOCAL_CALLER.user_arn
        assert body["iam"]["accessKey"] == LOCAL_CALLER.access_key and body["iam"]["accountId"] == LOCAL_CALLER.account

    def test_curl_sigv4_is_let_in(self, echo: str) -> None:
        # GIVEN curl's own SigV4 implementation (not botocore's, which the check uses)
        import shutil

        if shutil.which("curl") is None:
            pytest.skip("curl is not installed")
        curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--aws-sigv4",
                f"aws:amz:{LOCAL_CALLER.region}:execute-api", "--user", f"{LOCAL_CALLER.access_key}:{LOCAL_CALLER.secret_key}"]
        # WHEN it sends what make dev prints  THEN it gets in (with a query and a body too), and a wrong secret does not.
        # (curl 7.x signs the query in the order given, where SigV4 sorts it: so the query here is in order.)
        assert subprocess.run([*curl, f"http://{echo}/users?a=b&limit=2"], capture_output=True, text=True).stdout == "200"
        assert subprocess.run([*curl, "-X", "POST", "-H", "content-type: application/json", "--data", '{"a": 1}',
                               f"http://{echo}/users"], capture_output=True, text=True).stdout == "200"
        wrong = [*curl[:-1], f"{LOCAL_CALLER.access_key}:not-the-secret", f"http://{echo}/users"]
        assert subprocess.run(wrong, capture_output=True, text=True).stdout == "403"

    @pytest.mark.parametrize(("change", "reason"), [
        ("secret", "signature does not match"), ("body", "signature does not match"), ("path", "signature does not match"),
        ("key", "unknown access key"), ("region", "not execute-api in local"), ("stale", "more than 300 s"),
        ("token", "no session token"), ("garbage", "not a AWS4-HMAC-SHA256 signature"),
    ])
    def test_a_request_not_signed_as_the_local_caller_now_is_refused(self, change: str, reason: str) -> None:
        from dataclasses import replace

        now = datetime.now(timezone.utc).timestamp()
        signer = LocalIamAuthorizer({"secret": replace(LOCAL_CALLER, secret_key="wrong"),
                                     "key": replace(LOCAL_CALLER, access_key="OTHERKEY"),
                                     "region": replace(LOCAL_CALLER, region="eu-west-1")}.get(change, LOCAL_CALLER),
                                    clock=lambda: now)
        headers = signer.sign("POST", "http://127.0.0.1:3000/users?x=1", body=b'{"a":1}',
                              headers={"content-type": "application/json"})
        headers["host"] = "127.0.0.1:3000"
        if change == "token":
            headers["x-amz-security-token"] = "stolen"
        if change == "garbage":
            headers["Authorization"] = "Bearer abc"
        check = LocalIamAuthorizer(clock=lambda: now + (600 if change == "stale" else 0))
        with pytest.raises(Refused, match=reason):
            check.verify(method="POST", target="/users?x=2" if change == "path" else "/users?x=1",
                         headers=headers.items(), body=b'{"a":2}' if change == "body" else b'{"a":1}',
                         client_ip="127.0.0.1")
        # AND the same request as signed is let in
        good = LocalIamAuthorizer().sign("POST", "http://127.0.0.1:3000/users?x=1", body=b'{"a":1}',
                                         headers={"content-type": "application/json"})
        assert LocalIamAuthorizer().verify(method="POST", target="/users?x=1", headers=[*good.items(), ("Host", "127.0.0.1:3000")],
                                           body=b'{"a":1}', client_ip="127.0.0.1")["userArn"] == LOCAL_CALLER.user_arn

    @pytest.mark.parametrize(("client_ip", "let_in"), [("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True),
                                                      ("192.0.2.7", False), ("10.0.0.5", False), ("not-an-ip", False)])
    def test_signed_requests_are_let_in_from_this_machine_only(self, client_ip: str, let_in: bool) -> None:
        # GIVEN the local caller's secret, which is public (it is in the source)
        authorizer = LocalIamAuthorizer()
        headers = [*authorizer.sign("GET", "http://127.0.0.1:3000/users").items(), ("host", "127.0.0.1:3000")]
        # WHEN a correctly signed request comes from client_ip  THEN only a loopback address gets in
        try:
            authorizer.verify(method="GET", target="/users", headers=headers, body=b"", client_ip=client_ip)
            admitted = True
        except Refused as refusal:
            admitted = False
            assert "this machine only" in refusal.reason
        assert admitted is let_in


class TestRicWorker:
    def test_module_state_survives_between_invocations_like_a_warm_container(self) -> None:
        worker = RicWorker("tests.lambda_src.sample_handlers.count")
        try:
            first = json.loads(worker.invoke({}, timeout=10).result["body"])
            second = json.loads(worker.invoke({}, timeout=10).result["body"])
            assert (first["calls"], second["calls"]) == (1, 2) and first["pid"] == second["pid"]
        finally:
            worker.close()

    def test_timeout_kills_the_worker_and_the_next_invocation_gets_a_fresh_one(self) -> None:
        worker = RicWorker("tests.lambda_src.sample_handlers.count")
        slow = RicWorker("tests.lambda_src.sample_handlers.slow")
        try:
            outcome = slow.invoke({"sleep": 5}, timeout=1)
            assert outcome.kind == "timeout" and "timed out" in outcome.error["errorMessage"]
            assert slow.invoke({"sleep": 0}, timeout=10).result == {"statusCode": 200, "body": "{}"}
            assert slow.starts == 2
        finally:
            worker.close()
            slow.close()

    def test_handler_exception_is_reported_not_crashing_the_server(self) -> None:
        worker = RicWorker("tests.lambda_src.sample_handlers.fail")
        try:
            outcome = worker.invoke({}, timeout=10)
            assert outcome.kind == "function" and outcome.error["errorMessage"] == "handler exploded"
        finally:
            worker.close()

    def test_sam_shaped_events_through_the_runtime(self, db: str, function_env: dict[str, str]) -> None:
        worker = RicWorker("lambda_src.worker.handler", function_env)
        try:
            result = worker.invoke(load_event("sqs_batch.json"), timeout=10).result
            assert result == {"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]}
        finally:
            worker.close()


class TestFallbackAndForwarding:
    def test_in_process_fallback_has_the_same_semantics(self) -> None:
        worker = make_worker("tests.lambda_src.sample_handlers.count", prefer_ric=False)
        assert isinstance(worker, InProcessWorker) and "in-process" in worker.description
        calls = [json.loads(worker.invoke({}, timeout=5).result["body"])["calls"] for _ in range(2)]
        assert calls[1] == calls[0] + 1
        assert InProcessWorker("tests.lambda_src.sample_handlers.slow").invoke({"sleep": 2}, timeout=0.2).kind == "timeout"

    class _Client:
        def __init__(self, behaviour: str) -> None:
            self.behaviour = behaviour

        def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
            import io

            from botocore.exceptions import EndpointConnectionError

            if self.behaviour == "network":
                raise EndpointConnectionError(endpoint_url="https://lambda.eu-west-1.amazonaws.com")
            if self.behaviour == "function-error":
                return {"FunctionError": "Unhandled", "Payload": io.BytesIO(b'{"errorMessage": "boom"}')}
            return {"Payload": io.BytesIO(json.dumps({"statusCode": 200, "body": "{}"}).encode())}

    @pytest.mark.parametrize(("behaviour", "status"), [("ok", 200), ("function-error", 502), ("network", 502)])
    def test_forwarding_maps_function_and_sdk_errors_to_502(self, behaviour: str, status: int) -> None:
        forwarder = Forwarder("deployed-fn", retries=1, client=self._Client(behaviour))
        server = make_server(forwarder, port=0, timeout=5)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            got, _, body = request(f"127.0.0.1:{server.server_address[1]}", "GET", "/users/1")
            assert got == status
            if status == 502:
                assert body["message"].startswith("Bad Gateway") and body["error"]
        finally:
            server.shutdown()


class TestRequestFraming:
    """Malformed HTTP framing is answered by the local gateway (as API Gateway does), never crashing it."""

    @pytest.fixture
    def address(self, db: str, function_env: dict[str, str]) -> Iterator[tuple[str, int]]:
        worker = InProcessWorker("lambda_src.http.handler", function_env)
        server = make_server(worker, port=0, timeout=10)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield "127.0.0.1", server.server_address[1]
        server.shutdown()

    @staticmethod
    def exchange(address: tuple[str, int], raw: bytes) -> tuple[int, bytes]:
        import socket

        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body

    def test_invalid_content_length_is_400(self, address: tuple[str, int]) -> None:
        status, body = self.exchange(address, b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}")
        assert status == 400 and json.loads(body) == {"message": "Bad Request"}

    def test_body_over_the_http_api_limit_is_413_without_reading_it(self, address: tuple[str, int]) -> None:
        status, _ = self.exchange(address, b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n{}")
        assert status == 413

    def test_chunked_body_reaches_the_handler(self, address: tuple[str, int]) -> None:
        payload = json.dumps({"email": "chunked@example.com", "name": "C"}).encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:10], payload[10:])) + b"0\r\n\r\n"
        signed = LocalIamAuthorizer().sign("POST", "http://x/users", body=payload, headers={"Content-Type": "application/json"})
        head = "".join(f"{name}: {value}\r\n" for name, value in signed.items()).encode()
        status, body = self.exchange(address, b"POST /users HTTP/1.1\r\nHost: x\r\n" + head +
                                              b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks)
        assert status == 201 and json.loads(body)["email"] == "chunked@example.com"

    def test_broken_chunk_size_is_400(self, address: tuple[str, int]) -> None:
        status, _ = self.exchange(address, b"POST /users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        assert status == 400


class TestIamMode:
    """``make dev DEV_ARGS=--iam``: the functions log in as deployed ones do, through the RDS Proxy stand-in."""

    @pytest.fixture
    def dev_server(self) -> Iterator[tuple[str, str, str, str]]:
        """The CLI on a fresh database: ``(HTTP address, stand-in port, its CA file, superuser DSN)``."""
        with pg.fresh_database("dev") as dsn:
            env = {key: value for key, value in os.environ.items() if not key.startswith(("DB_", "AWS_"))}
            env.update(DATABASE_URL=dsn, PYTHONPATH=str(PROJECT))
            process = subprocess.Popen([sys.executable, "-m", "lambda_src.local.server", "--iam", "--port", "0",
                                        "--ws-port", "0"], cwd=PROJECT, env=env, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            watchdog = threading.Timer(60, process.kill)
            watchdog.start()
            try:
                assert process.stdout is not None
                printed = ""
                while "serving http://" not in printed and (line := process.stdout.readline()):
                    printed += line
                login = re.search(r"stand-in at localhost:(\d+) \(CA (.+)\)", printed)
                serving = re.search(r"serving http://([\d.]+:\d+)", printed)
                assert login and serving, printed
                # it says how to call the IAM-authorized API
                assert f'curl --aws-sigv4 "aws:amz:local:execute-api" --user "{LOCAL_CALLER.access_key}:' in printed
                yield serving.group(1), login.group(1), login.group(2), dsn
            finally:
                watchdog.cancel()
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def test_functions_log_in_with_iam_tokens_that_the_stand_in_checks(self, dev_server) -> None:  # type: ignore[no-untyped-def]
        address, proxy_port, ca_file, dsn = dev_server
        # WHEN the API is used
        status, _, user = request(address, "POST", "/users", {"email": "iam@example.com", "name": "Iam"})
        assert status == 201
        assert request(address, "GET", f"/users/{user['id']}")[0] == 200
        # THEN the function's session is the application user's, opened by the IAM path of the handler package
        with psycopg.connect(dsn) as admin:
            sessions = admin.execute("SELECT usename, application_name FROM pg_stat_activity "
                                     "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
        assert sessions == [("app_user", "lambda_src")]
        # AND the stand-in it went through refuses a token that is not signed with the local credentials
        wrong_secret = Credentials(LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"], "not-the-secret",
                                   LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"])
        token = iam_token.generate(host="localhost", port=int(proxy_port), user="app_user",
                                   region=LOCAL_CREDENTIALS["AWS_REGION"], credentials=wrong_secret,
                                   now=datetime.now(timezone.utc))
        with pytest.raises(psycopg.OperationalError, match="signature does not match"):
            psycopg.connect(host="localhost", port=int(proxy_port), dbname=urlsplit(dsn).path.lstrip("/"),
                            user="app_user", password=token, sslmode="verify-full", sslrootcert=ca_file,
                            connect_timeout=5)
