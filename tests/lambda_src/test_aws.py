"""Signed AWS calls (:mod:`lambda_src.aws`): every signature the runtime and the example send is the one
botocore computes for the same request, checked by a real HTTP endpoint that re-signs what it received."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lambda_src import aws, realtime
from lambda_src.aws import Credentials
from lambda_src.example import events_out
from tests.lambda_src.conftest import CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
SECRET = CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
ROLE = Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], SECRET, CREDENTIALS["AWS_SESSION_TOKEN"])


def botocore_authorization(method: str, url: str, headers: dict[str, str], body: bytes, service: str,
                           region: str, token: str | None) -> str:
    """The Authorization header botocore puts on this request, signed at the request's x-amz-date over
    exactly the headers given."""
    from unittest import mock

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    signed_at = datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    request = AWSRequest(method=method, url=url, data=body,
                         headers={k: v for k, v in headers.items() if k not in ("x-amz-date", "x-amz-security-token")})
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        SigV4Auth(BotoCredentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], SECRET, token), service, region).add_auth(request)
    return str(request.headers["Authorization"])


class SigningEndpoint:
    """A real HTTP endpoint that answers 200 (or ``status``) only to requests whose signature botocore
    reproduces over the headers they say they signed; it records what it received."""

    def __init__(self, service: str, region: str, reply: bytes = b"{}", status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.refused: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                authorization = headers.get("authorization", "")
                signed = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";") if authorization else []
                expected = botocore_authorization(self.command, f"http://{headers['host']}{self.path}",
                                                  {name: headers[name] for name in signed if name in headers}, body,
                                                  service, region, headers.get("x-amz-security-token"))
                endpoint.received.append({"method": self.command, "path": self.path, "headers": headers, "body": body})
                code, payload = (status, reply) if authorization == expected else (403, b'{"message":"bad signature"}')
                if code == 403:
                    endpoint.refused.append(authorization)
                self.send_response(code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = answer  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def role(monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's execution-role credentials in its environment, as Lambda sets them."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def execute_api() -> Iterator[SigningEndpoint]:
    endpoint = SigningEndpoint("execute-api", "eu-west-1")
    yield endpoint
    endpoint.close()


def test_headers_are_canonicalised_whatever_their_order_and_case() -> None:
    # GIVEN headers in mixed case, one of them sorting after host and given before it (SQS's x-amz-target)
    body = b'{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/1/q","MessageBody":"m"}'
    headers = {"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": " application/x-amz-json-1.0 "}
    # WHEN we sign them
    ours = aws.sign_headers(method="POST", host="sqs.eu-west-1.amazonaws.com", path="/", body=body, headers=headers,
                            service="sqs", region="eu-west-1", credentials=ROLE, now=NOW)
    # THEN botocore signs the same request to the same Authorization, listing the headers sorted
    assert ours["authorization"] == botocore_authorization(
        "POST", "https://sqs.eu-west-1.amazonaws.com/", {k: v.strip() for k, v in headers.items()} | {
            "x-amz-date": ours["x-amz-date"]}, body, "sqs", "eu-west-1", ROLE.token)
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target," in ours["authorization"]


def test_call_sends_a_request_botocore_would_sign_the_same(role: None, execute_api: SigningEndpoint) -> None:
    # GIVEN a path with characters SigV4 encodes twice (a WebSocket connection id) and the role's session token
    url = f"{execute_api.url}/live/@connections/L0SM9cOFvHcCIhw%3D"
    # WHEN the runtime's one client posts to it
    answer = aws.call("execute-api", "eu-west-1", "POST", url, b'{"hello":1}', {"content-type": "application/json"})
    # THEN the endpoint accepted the signature, and the session token went with it
    assert answer == b"{}" and not execute_api.refused
    sent = execute_api.received[0]
    assert sent["headers"]["x-amz-security-token"] == CREDENTIALS["AWS_SESSION_TOKEN"]
    assert sent["body"] == b'{"hello":1}' and sent["path"] == "/live/@connections/L0SM9cOFvHcCIhw%3D"


def test_a_url_without_a_path_is_signed_for_the_root(role: None, execute_api: SigningEndpoint) -> None:
    assert aws.call("execute-api", "eu-west-1", "GET", execute_api.url) == b"{}"
    assert not execute_api.refused and execute_api.received[0]["path"] == "/"


def test_a_wrong_secret_is_refused_by_the_checking_endpoint(execute_api: SigningEndpoint) -> None:
    # GIVEN credentials whose secret the endpoint does not know (the check is not vacuous)
    wrong = Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], "not-the-secret", ROLE.token)
    # WHEN the client calls THEN the refusal surfaces as an HTTPError carrying the status
    with pytest.raises(urllib.error.HTTPError) as refused:
        aws.call("execute-api", "eu-west-1", "GET", f"{execute_api.url}/live/@connections/c1", credentials=wrong)
    assert refused.value.code == 403 and execute_api.refused


def test_a_410_reaches_the_management_api_as_connection_gone(role: None) -> None:
    # GIVEN a Management API that answers 410 Gone to a correctly signed request
    endpoint = SigningEndpoint("execute-api", "eu-west-1", status=410)
    try:
        # WHEN the WebSocket client posts through the one signed client THEN it reports the connection gone
        with pytest.raises(realtime.ConnectionGone):
            realtime.ManagementApi(f"{endpoint.url}/live", "eu-west-1").post("c=1", {"x": 1})
        assert not endpoint.refused and endpoint.received[0]["path"] == "/live/@connections/c%3D1"
    finally:
        endpoint.close()


def test_the_example_sends_to_sqs_through_the_signed_client(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an SQS JSON-protocol endpoint that checks signatures for service sqs
    endpoint = SigningEndpoint("sqs", "eu-west-1", reply=b'{"MessageId":"m-1","MD5OfMessageBody":"x"}')
    try:
        queue_url = f"{endpoint.url}/123456789012/events"
        # WHEN the example's outbox sends one event
        message_id = events_out.send_to_sqs(queue_url, '{"type":"user.created"}', region="eu-west-1", credentials=ROLE)
        # THEN SQS accepted the signature and got SendMessage with the queue and body, posted to the root
        assert message_id == "m-1" and not endpoint.refused
        sent = endpoint.received[0]
        assert (sent["path"], sent["headers"]["x-amz-target"]) == ("/", "AmazonSQS.SendMessage")
        assert sent["headers"]["content-type"] == "application/x-amz-json-1.0"
        assert json.loads(sent["body"]) == {"QueueUrl": queue_url, "MessageBody": '{"type":"user.created"}'}
    finally:
        endpoint.close()


def test_signing_code_loads_only_when_something_is_signed() -> None:
    # GIVEN a fresh interpreter WHEN every handler module of the runtime and the example is imported
    script = ("import sys\n"
              "import lambda_src.realtime, lambda_src.websocket, lambda_src.batch, lambda_src.db.connection\n"
              "import lambda_src.example.http, lambda_src.example.worker, lambda_src.example.schedule\n"
              "import lambda_src.example.websocket, lambda_src.example.events_out\n"
              "print(sorted(m for m in ('hmac', 'urllib.request', 'lambda_src.aws') if m in sys.modules))\n")
    loaded = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    # THEN neither the signer nor hmac nor the HTTP client is loaded yet: they cost cold start
    assert json.loads(loaded.stdout.replace("'", '"')) == []


def test_a_silent_endpoint_times_out_after_the_default_timeout(role: None) -> None:
    # GIVEN an endpoint that accepts the connection but never answers
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/live/@connections/c1"
        # WHEN the client calls without naming a timeout
        started = time.monotonic()
        with pytest.raises(OSError, match="timed out"):
            aws.call("execute-api", "eu-west-1", "GET", url)
        # THEN it gives up after CALL_TIMEOUT_SECONDS (3 s), not later
        assert aws.CALL_TIMEOUT_SECONDS <= time.monotonic() - started < aws.CALL_TIMEOUT_SECONDS + 0.9
    assert aws.CALL_TIMEOUT_SECONDS == 3.0
