"""The local development server and runtime: IAM authorization as deployed, payload 2.0 events, a real
Runtime API worker, stats."""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import psycopg
import pytest

from lambda_src.db import iam_token
from lambda_src.aws import Credentials
from devtools import events as local_events
from devtools.api_auth import LOCAL_CALLER, LocalIamAuthorizer, Refused
from devtools.runtime_api import PROJECT, InProcessWorker, RicWorker, default_workers, make_worker
from devtools.server import LOCAL_CREDENTIALS, Forwarder, make_server
from tests.lambda_src import pg
from tests.lambda_src.conftest import load_event


@pytest.fixture
def served(db: str, function_env: dict[str, str]) -> Iterator[tuple[str, Any]]:
    worker = RicWorker("lambda_src.example.http.handler", function_env)
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
        assert stats["GET (no route)"]["errors"] == 0

    def test_stats_stay_bounded_per_route_template_whatever_the_paths(self, served) -> None:  # type: ignore[no-untyped-def]
        address, server = served
        # GIVEN a client asking for 300 different paths no route matches and 300 different user ids
        connection = http.client.HTTPConnection(address, timeout=20)
        for number in range(300):
            for path in (f"/scan/{number}/{uuid.uuid4().hex}", f"/users/{number}"):
                connection.request("GET", path)
                assert connection.getresponse().read()
        connection.close()
        # WHEN the stats are read
        stats = request(address, "GET", "/_local/stats")[2]["routes"]
        # THEN there is one entry per route template (plus one for no route), not one per path
        assert {key: entry["requests"] for key, entry in stats.items()} == {"GET (no route)": 300, "GET /users/{id}": 300}

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

    def test_a_signed_header_with_any_token_character_is_let_in(self) -> None:
        # GIVEN a request that signs a header whose name has characters HTTP allows in a token (API Gateway
        # takes it; the local check refused anything beyond [a-z0-9-] in SignedHeaders, with a 403)
        headers = {"content-type": "application/json", "x_custom": "1", "x.trace+id": "2"}
        signed = LocalIamAuthorizer().sign("POST", "http://127.0.0.1:3000/users", body=b'{"a":1}', headers=headers)
        assert "x_custom" in signed["Authorization"] and "x.trace+id" in signed["Authorization"]
        # WHEN it is checked THEN it is let in
        assert LocalIamAuthorizer().verify(method="POST", target="/users", headers=[*signed.items(), ("Host", "127.0.0.1:3000")],
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
        worker = RicWorker("lambda_src.example.worker.handler", function_env)
        try:
            result = worker.invoke(load_event("sqs_batch.json"), timeout=10).result
            assert result == {"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]}
        finally:
            worker.close()


class TestWorkerPool:
    """Several Runtime API workers side by side, as Lambda scales a function out; each one invocation at a time."""

    @staticmethod
    def invoke_all(worker: Any, count: int, sleep: float) -> list[dict[str, float]]:
        results: list[dict[str, float]] = []

        def one() -> None:
            outcome = worker.invoke({"sleep": sleep}, timeout=20)
            results.append(json.loads(outcome.result["body"]))

        threads = [threading.Thread(target=one) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(results) == count
        return results

    @staticmethod
    def most_at_once(intervals: list[tuple[float, float]]) -> int:
        edges = sorted([(started, 1) for started, _ in intervals] + [(ended, -1) for _, ended in intervals],
                       key=lambda edge: (edge[0], edge[1]))
        running = most = 0
        for _, step in edges:
            running += step
            most = max(most, running)
        return most

    def test_n_workers_run_n_invocations_side_by_side_each_one_at_a_time(self) -> None:
        # GIVEN a pool of 3 awslambdaric workers
        pool = make_worker("tests.lambda_src.sample_handlers.timed", workers=3)
        try:
            # WHEN 7 invocations arrive at once
            results = self.invoke_all(pool, 7, sleep=0.4)
        finally:
            pool.close()
        # THEN 3 processes ran them, 3 at a time at most, and never two at once in one process
        by_process: dict[int, list[tuple[float, float]]] = {}
        for result in results:
            by_process.setdefault(int(result["pid"]), []).append((result["started"], result["ended"]))
        assert len(by_process) == 3 and pool.starts == 3
        assert self.most_at_once([span for spans in by_process.values() for span in spans]) == 3
        assert all(self.most_at_once(spans) == 1 for spans in by_process.values())

    def test_a_worker_starts_only_when_the_warm_ones_are_busy(self) -> None:
        # GIVEN a pool of 4 WHEN invocations come one after another THEN one warm worker serves them all
        pool = make_worker("tests.lambda_src.sample_handlers.count", workers=4)
        try:
            calls = [json.loads(pool.invoke({}, timeout=10).result["body"]) for _ in range(3)]
        finally:
            pool.close()
        assert [call["calls"] for call in calls] == [1, 2, 3] and len({call["pid"] for call in calls}) == 1
        assert pool.starts == 1

    def test_a_timed_out_worker_is_replaced_while_the_others_keep_serving(self) -> None:
        pool = make_worker("tests.lambda_src.sample_handlers.timed", workers=2)
        try:
            slow = threading.Thread(target=lambda: pool.invoke({"sleep": 5}, timeout=0.5))
            slow.start()
            time.sleep(0.1)
            assert pool.invoke({"sleep": 0}, timeout=10).result["statusCode"] == 200  # served by the other one
            slow.join(10)
            results = self.invoke_all(pool, 2, sleep=0.3)
        finally:
            pool.close()
        assert len({result["pid"] for result in results}) == 2 and pool.starts == 3

    def test_default_is_as_many_workers_as_cores_up_to_4(self) -> None:
        assert default_workers() == min(4, len(os.sched_getaffinity(0)))
        assert "--workers" in subprocess.run([sys.executable, "-m", "devtools.server", "--help"], cwd=PROJECT,
                                             capture_output=True, text=True, check=True).stdout


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
        worker = InProcessWorker("lambda_src.example.http.handler", function_env)
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

    @pytest.mark.parametrize("coding", [b"xchunked", b"gzip", b"chunked, gzip", b"gzip, chunked", b"identity"])
    def test_unknown_transfer_coding_is_501_not_read_as_chunked(self, address: tuple[str, int], coding: bytes) -> None:
        # GIVEN a chunked body declared with a transfer coding the gateway does not implement (only chunked exists)
        body = b'7\r\n{"a":1}\r\n0\r\n\r\n'
        # WHEN it is sent
        status, reply = self.exchange(address, b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                               b"Transfer-Encoding: " + coding + b"\r\n\r\n" + body)
        # THEN it is refused as HTTP/1.1 says, before any function runs
        assert status == 501 and json.loads(reply) == {"message": "Not Implemented"}

    @pytest.mark.parametrize("head", [
        b"Content-Length: 18\r\nTransfer-Encoding: chunked\r\n",  # which one frames the body?
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",  # chunked twice
        b"Transfer-Encoding: chunked,\r\n",  # an empty coding
        b"Content-Length: 7\r\nContent-Length: 8\r\n",  # two lengths
        b"Content-Length: +7\r\n",
        b"Content-Length: \xc2\xb2\r\n",  # a digit to str.isdigit, not to HTTP
    ])
    def test_conflicting_or_malformed_framing_is_400(self, address: tuple[str, int], head: bytes) -> None:
        status, reply = self.exchange(address, b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                               + head + b"\r\n" + b'7\r\n{"a":1}\r\n0\r\n\r\n')
        assert status == 400 and json.loads(reply) == {"message": "Bad Request"}

    def test_chunked_request_over_http_1_0_is_400(self, address: tuple[str, int]) -> None:
        # HTTP/1.0 has no chunked coding: RFC 9112 treats such framing as faulty
        status, _ = self.exchange(address, b"POST /users HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
                                           b"Transfer-Encoding: chunked\r\n\r\n" + b'7\r\n{"a":1}\r\n0\r\n\r\n')
        assert status == 400

    @pytest.mark.parametrize("body", [
        b"0x7\r\n{\"a\":1}\r\n0\r\n\r\n",  # int(, 16) takes a 0x prefix; HTTP does not
        b"7\r\n{\"a\":1}XX0\r\n\r\n",  # no CRLF after the chunk's data
        b"7\r\n{\"a",  # the connection ends inside a chunk
    ])
    def test_malformed_chunks_are_400(self, address: tuple[str, int], body: bytes) -> None:
        status, _ = self.exchange(address, b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                           b"Transfer-Encoding: chunked\r\n\r\n" + body)
        assert status == 400

    def test_body_shorter_than_its_content_length_is_400_not_a_truncated_invocation(self, address: tuple[str, int]) -> None:
        status, _ = self.exchange(address, b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                           b"Content-Length: 50\r\n\r\n{\"email\": \"a@example.com\"}")
        assert status == 400


class TestReadTimeouts:
    """Slow clients are cut off (408, then closed) while everyone else is served; idle keep-alives are closed."""

    READ, IDLE = 0.5, 1.5

    @pytest.fixture
    def address(self) -> Iterator[tuple[str, int]]:
        worker = InProcessWorker("tests.lambda_src.sample_handlers.count")
        server = make_server(worker, port=0, timeout=5, read_timeout=self.READ, idle_timeout=self.IDLE)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield "127.0.0.1", server.server_address[1]
        server.shutdown()
        server.server_close()

    @staticmethod
    def answer(sock: socket.socket) -> bytes:
        """Everything the server sends until it closes the connection."""
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        return data

    def test_slow_clients_get_408_within_the_read_timeout_and_others_are_served_meanwhile(
            self, address: tuple[str, int]) -> None:
        # GIVEN 30 clients that never finish their request: half-sent headers, half-sent bodies, and
        # clients trickling a byte of their headers every 100 ms (no single read ever waits long)
        def half_headers(sock: socket.socket) -> None:
            sock.sendall(b"GET /users HTTP/1.1\r\nHost: x\r\n")

        def half_body(sock: socket.socket) -> None:
            sock.sendall(b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"email\":")

        def trickle(sock: socket.socket) -> None:
            try:
                for byte in b"GET /users HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                    sock.send(bytes([byte]))
                    time.sleep(0.1)
            except OSError:  # cut off: what is expected
                pass

        answers: dict[int, tuple[bytes, float]] = {}

        def client(number: int) -> None:
            with socket.create_connection(address, timeout=10) as sock:
                started = time.monotonic()
                (half_headers, half_body, trickle)[number % 3](sock)
                answers[number] = self.answer(sock), time.monotonic() - started

        threads = [threading.Thread(target=client, args=(number,)) for number in range(30)]
        for thread in threads:
            thread.start()
        # WHEN another client asks meanwhile THEN it is answered at once
        time.sleep(0.1)
        started = time.monotonic()
        assert request(f"{address[0]}:{address[1]}", "GET", "/users")[0] == 200
        assert time.monotonic() - started < self.READ
        for thread in threads:
            thread.join(10)
        # AND every slow client got a 408 and was closed, within the read timeout (with slack for a busy machine)
        assert len(answers) == 30
        for number, (data, elapsed) in answers.items():
            assert data.startswith(b"HTTP/1.1 408 "), (number, data)
            assert b"Connection: close" in data and data.endswith(b'{"message": "Request Timeout"}')
            assert self.READ <= elapsed < self.READ + 1.5, (number, elapsed)

    def test_a_burst_of_connections_waits_to_be_accepted_rather_than_being_refused(self) -> None:
        # GIVEN a server whose accept loop is busy (here: not running yet)
        server = make_server(InProcessWorker("tests.lambda_src.sample_handlers.count"), port=0, timeout=5)
        sockets: list[socket.socket] = []
        try:
            # WHEN 64 clients connect at once THEN each connection is queued, none dropped or reset
            for _ in range(64):
                sockets.append(socket.create_connection(server.server_address, timeout=0.5))
            # AND each is answered once the loop runs (unsigned, so by the gateway's IAM check: a 403)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            for sock in sockets:
                sock.sendall(b"GET /users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert all(self.answer(sock).startswith(b"HTTP/1.1 403 ") for sock in sockets)
            server.shutdown()
        finally:
            for sock in sockets:
                sock.close()
            server.server_close()

    def test_an_idle_keep_alive_connection_is_closed_without_an_answer(self, address: tuple[str, int]) -> None:
        with socket.create_connection(address, timeout=10) as sock:
            started = time.monotonic()
            assert self.answer(sock) == b""
            assert self.IDLE <= time.monotonic() - started < self.IDLE + 1.5

    def test_each_request_on_a_keep_alive_connection_gets_its_own_read_timeout(self, address: tuple[str, int]) -> None:
        # GIVEN a keep-alive connection that made a request and then waited longer than the read timeout
        connection = http.client.HTTPConnection(*address, timeout=10)
        signed = lambda: LocalIamAuthorizer().sign("GET", f"http://{address[0]}:{address[1]}/users", body=b"", headers={})  # noqa: E731
        connection.request("GET", "/users", headers=signed())
        assert connection.getresponse().read()
        time.sleep(self.READ * 2)
        # WHEN it sends its next request (within the idle timeout) THEN it is answered on the same connection
        sock = connection.sock
        connection.request("GET", "/users", headers=signed())
        assert connection.getresponse().status == 200 and connection.sock is sock
        connection.close()


def cli_env(**extra: str) -> dict[str, str]:
    """This environment without the database and AWS settings a developer's shell may hold, plus ``extra``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DB_", "AWS_")) and key not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    return {**env, "PYTHONPATH": str(PROJECT), **extra}


@contextlib.contextmanager
def dev_cli(*args: str, env: dict[str, str], log: Path, deadline: float = 90) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``make dev``'s command line (HTTP on a free port, WebSocket off) until it prints that it serves:
    the process and what it printed. Its output goes to ``log`` (a pipe nobody reads would fill and
    block its workers). Stopped with SIGINT at the end; killed if still running after ``deadline`` s."""
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "devtools.server", "--port", "0", "--ws-port", "0", *args],
                                   cwd=PROJECT, env=env, text=True, stdout=out, stderr=subprocess.STDOUT)
    watchdog = threading.Timer(deadline, process.kill)
    watchdog.start()
    try:
        while "serving http://" not in (printed := log.read_text()):
            assert process.poll() is None, printed
            time.sleep(0.05)
        yield process, printed
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def serving_address(printed: str) -> str:
    serving = re.search(r"serving http://([\d.]+:\d+)", printed)
    assert serving, printed
    return serving.group(1)


class TestIamMode:
    """``make dev DEV_ARGS=--iam``: the functions log in as deployed ones do, through the RDS Proxy stand-in."""

    @pytest.fixture
    def dev_server(self, tmp_path: Path) -> Iterator[tuple[str, str, str, str]]:
        """The CLI on a fresh database: ``(HTTP address, stand-in port, its CA file, superuser DSN)``."""
        with pg.fresh_database("dev") as dsn, dev_cli("--iam", env=cli_env(DATABASE_URL=dsn), log=tmp_path / "dev.log") as (_, printed):
            login = re.search(r"stand-in at localhost:(\d+) \(CA (.+)\)", printed)
            assert login, printed
            # it says how to call the IAM-authorized API
            assert f'curl --aws-sigv4 "aws:amz:local:execute-api" --user "{LOCAL_CALLER.access_key}:' in printed
            yield serving_address(printed), login.group(1), login.group(2), dsn

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


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class TestShutdown:
    """SIGTERM and SIGINT stop ``make dev`` and what it started: its workers and the embedded PostgreSQL."""

    def test_sigterm_and_sigint_stop_the_embedded_postgresql_and_the_workers(self, tmp_path: Path) -> None:
        data_dir, email = tmp_path / "pgdata", "kept@example.com"
        for run, signum in enumerate((signal.SIGTERM, signal.SIGINT)):
            # GIVEN make dev on its own embedded PostgreSQL, its workers started by requests
            with dev_cli("--workers", "2", "--data-dir", str(data_dir), env=cli_env(),
                         log=tmp_path / f"dev-{run}.log") as (process, printed):
                address = serving_address(printed)
                if run == 0:
                    assert request(address, "POST", "/users", {"email": email, "name": "Kept"})[0] == 201
                else:  # the data outlives a stop: the second run finds what the first one wrote
                    assert request(address, "GET", "/users?limit=5")[2]["items"][0]["email"] == email
                postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
                workers = [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
                assert alive(postmaster) and workers
                # WHEN it gets the signal
                process.send_signal(signum)
                assert process.wait(30) == 0
            # THEN PostgreSQL and every worker process are gone, and it said so
            assert not alive(postmaster) and not [pid for pid in workers if alive(pid)]
            output = (tmp_path / f"dev-{run}.log").read_text()
            assert f"stopping ({signal.Signals(signum).name})" in output and "database: stopped" in output


class TestLoad:
    """``make dev`` under load: 16 keep-alive connections, 4 workers, every write checked in the database."""

    CLIENTS, POSTS_EACH, GETS_PER_POST = 16, 63, 5  # 1,008 POSTs and 5,040 GETs

    def test_5000_gets_and_1000_posts_over_16_connections_without_an_error_or_a_lost_row(self, tmp_path: Path) -> None:
        with pg.fresh_database("load") as dsn, dev_cli("--workers", "4", env=cli_env(DATABASE_URL=dsn),
                                                        log=tmp_path / "dev.log") as (process, printed):
            address = serving_address(printed)
            created: dict[str, int] = {}
            errors: list[str] = []

            signer = LocalIamAuthorizer()  # requests are SigV4-signed as the local caller, as on the deployed API

            def client(number: int) -> None:
                # each client: a POST, then GETs of its users so far, on one keep-alive connection
                connection = http.client.HTTPConnection(address, timeout=20)
                mine: list[tuple[int, str]] = []
                try:
                    for sequence in range(self.POSTS_EACH):
                        email = f"load-{number}-{sequence}@example.com"
                        payload = json.dumps({"email": email, "name": f"Load {number}"}).encode()
                        connection.request("POST", "/users", payload, signer.sign(
                            "POST", f"http://{address}/users", body=payload, headers={"content-type": "application/json"}))
                        response = connection.getresponse()
                        body = json.loads(response.read())
                        if response.status != 201 or body.get("email") != email:
                            errors.append(f"POST {email}: {response.status} {body}")
                            continue
                        mine.append((body["id"], email))
                        created[email] = body["id"]
                        for index in range(self.GETS_PER_POST):
                            user_id, expected = mine[(sequence * self.GETS_PER_POST + index) % len(mine)]
                            connection.request("GET", f"/users/{user_id}", headers=signer.sign(
                                "GET", f"http://{address}/users/{user_id}", body=b"", headers={}))
                            response = connection.getresponse()
                            body = json.loads(response.read())
                            if response.status != 200 or body.get("email") != expected:
                                errors.append(f"GET /users/{user_id}: {response.status} {body}")
                except Exception as error:  # noqa: BLE001 - any failure is an error of the run
                    errors.append(f"client {number}: {error!r}")
                finally:
                    connection.close()

            started = time.monotonic()
            threads = [threading.Thread(target=client, args=(number,)) for number in range(self.CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            elapsed = time.monotonic() - started
            assert not any(thread.is_alive() for thread in threads), "clients still running after 60 s"
            # THEN no request failed
            posts, gets = self.CLIENTS * self.POSTS_EACH, self.CLIENTS * self.POSTS_EACH * self.GETS_PER_POST
            assert errors == [] and len(created) == posts >= 1000 and gets >= 5000
            # AND the gateway counted each one, and ran them on 4 worker processes
            stats = request(address, "GET", "/_local/stats")[2]["routes"]
            assert {key: (entry["requests"], entry["errors"]) for key, entry in stats.items()} == {
                "POST /users": (posts, 0), "GET /users/{id}": (gets, 0)}
            workers = [child for child in psutil.Process(process.pid).children()
                       if "awslambdaric" in child.cmdline()]
            assert len(workers) == 4
            # AND the database holds every POSTed user exactly once, under the id the API answered
            with psycopg.connect(dsn) as connection:
                rows = connection.execute("SELECT email, id FROM users").fetchall()
            assert len(rows) == posts and dict(rows) == created
            print(f"{posts + gets} requests over {self.CLIENTS} connections in {elapsed:.1f} s "
                  f"({(posts + gets) / elapsed:.0f} req/s)")
