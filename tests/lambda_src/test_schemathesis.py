"""schemathesis against ``make dev``: every operation of the document the dev server serves at
``/_local/openapi.json``, called on the real server (SigV4-signed as the local caller, a Runtime API
worker, PostgreSQL behind the RDS Proxy stand-in) with generated requests, valid and invalid, bounded
in count and time. No answer may be a 5xx, an undocumented status, or a content type, header or body
the document does not declare; an invalid request must be refused with a 4xx."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_headers_conformance, response_schema_conformance,
                                               status_code_conformance)

from devtools.api_auth import LocalIamAuthorizer
from devtools.runtime_api import RicWorker
from devtools.server import make_server

#: Generated requests per operation and mode (valid, invalid), and the wall-clock budget of each:
#: past it, the remaining examples are drawn but not sent.
MAX_EXAMPLES = 40
SECONDS_EACH = 4.0
#: Each operation and mode must have sent at least this many requests, or the time bound hid it.
MIN_SENT = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection]


class LocalSigV4(requests.auth.AuthBase):
    """Signs a request as ``make dev``'s local caller, over the method, URL, headers and body as sent,
    when schemathesis gave it credentials: the document's ``iam`` scheme is an ``Authorization``
    header, which schemathesis fills with a placeholder, and leaves out to test that a request
    without credentials is refused."""

    def __init__(self) -> None:
        self.authorizer = LocalIamAuthorizer()

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        if "authorization" not in prepared.headers:
            return prepared
        del prepared.headers["authorization"]
        body = prepared.body or b""
        body = body.encode() if isinstance(body, str) else body
        prepared.headers.update(self.authorizer.sign(str(prepared.method), str(prepared.url), body=body,
                                                     headers=dict(prepared.headers)))
        return prepared


@pytest.fixture
def dev_server(db: str, function_env: dict[str, str]) -> Iterator[str]:
    """``make dev``'s server with the example's HTTP function on a real Runtime API worker."""
    worker = RicWorker("lambda_src.example.http.handler", function_env)
    server = make_server(worker, port=0, timeout=10)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    worker.close()


def fuzz(operation: Any, mode: GenerationMode, base_url: str, session: requests.Session) -> tuple[int, str | None]:
    """Send up to :data:`MAX_EXAMPLES` generated requests to ``operation`` within :data:`SECONDS_EACH`,
    until one fails; how many were sent, and what the failing one did wrong (None: nothing). The
    failure is kept here, not raised to Hypothesis: the API has state (a replayed POST is a 409), so
    Hypothesis could not replay it to shrink it, and would report that instead."""
    until = time.monotonic() + SECONDS_EACH
    sent, failures = 0, []

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    def one(case: Any) -> None:
        nonlocal sent
        if failures or time.monotonic() > until:
            return
        sent += 1
        try:
            case.call_and_validate(base_url=base_url, session=session, checks=CHECKS, timeout=20)
        except BaseExceptionGroup as group:  # schemathesis's FailureGroup: one per failed check
            found = "\n".join(f"  {failure.title}: {failure.message}" for failure in group.exceptions)
            failures.append(f"{case.as_curl_command(base_url=base_url)}\n{found}")

    one()
    return sent, (failures[0] if failures else None)


def test_every_answer_of_make_dev_agrees_with_its_openapi_document(dev_server: str) -> None:
    # GIVEN make dev, and the document it serves
    schema = schemathesis.openapi.from_url(f"{dev_server}/_local/openapi.json", timeout=20)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(schema.raw_schema["paths"]["/users/{id}"]) + 3 == 7
    # WHEN schemathesis sends each operation valid and invalid requests, signed as the local caller
    failures, counts = [], {}
    with requests.Session() as session:
        session.auth = LocalSigV4()
        for operation in operations:
            definition = operation.definition.raw
            invalid_possible = "parameters" in definition or "requestBody" in definition
            for mode in (GenerationMode.POSITIVE, *([GenerationMode.NEGATIVE] if invalid_possible else [])):
                sent, failure = fuzz(operation, mode, dev_server, session)
                counts[f"{mode.value} {operation.label}"] = sent
                if failure:
                    failures.append(f"{mode.value} {operation.label}:\n{failure}")
    # THEN every answer agrees with the document, and the bound left every operation enough requests
    assert not failures, "\n\n".join(failures)
    assert min(counts.values()) >= MIN_SENT, counts
