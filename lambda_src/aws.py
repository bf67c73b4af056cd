"""Signed AWS calls with the standard library only (no boto3/botocore import): the one place the
runtime and the example sign anything.

* :class:`Credentials`: the execution role's keys, from the environment.
* :func:`presign_query`: SigV4 query presigning (RDS IAM authentication tokens, :mod:`lambda_src.db.iam_token`).
* :func:`sign_headers`: SigV4 header signing of a request with a body.
* :func:`call`: one signed HTTPS request (the API Gateway Management API in :mod:`lambda_src.realtime`,
  SQS ``SendMessage`` in the example's outbox).

Nothing on a handler's import path imports this module: callers import it where they sign, so
``hashlib``, ``hmac`` and ``urllib.request`` load only when a request is signed, and cold starts stay
free of boto3's import cost.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from urllib.parse import quote

from .environment import AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

ALGORITHM = "AWS4-HMAC-SHA256"
#: Seconds :func:`call` waits for an answer when the caller names no timeout.
CALL_TIMEOUT_SECONDS = 3.0


class Credentials:
    """AWS credentials; on Lambda they come from the execution role through the environment."""

    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None = None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(access_key={self.access_key[:4]}…, token={'yes' if self.token else 'no'})"

    @classmethod
    def from_environment(cls) -> Credentials:
        try:
            return cls(os.environ[AWS_ACCESS_KEY_ID], os.environ[AWS_SECRET_ACCESS_KEY],
                       os.environ.get(AWS_SESSION_TOKEN) or None)
        except KeyError as missing:
            raise RuntimeError(f"AWS credentials are not in the environment ({missing.args[0]} missing)") from None


def _quote(value: str) -> str:
    return quote(value, safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), day)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def presign_query(*, host: str, method: str, path: str, params: list[tuple[str, str]], service: str, region: str,
                  credentials: Credentials, now: datetime, expires: int) -> str:
    """The query string (with signature) of a presigned URL; parameters keep the order given."""
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/{region}/{service}/aws4_request"
    query = list(params) + [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
        ("X-Amz-Date", stamp),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if credentials.token:
        query.append(("X-Amz-Security-Token", credentials.token))
    canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query))
    canonical_request = "\n".join([method, path, canonical_query, f"host:{host}\n", "host",
                                   hashlib.sha256(b"").hexdigest()])
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    signature = hmac.new(signing_key(credentials.secret_key, day, region, service), to_sign.encode(),
                         hashlib.sha256).hexdigest()
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in query) + f"&X-Amz-Signature={signature}"


def sign_headers(*, method: str, host: str, path: str, body: bytes, headers: dict[str, str], service: str,
                 region: str, credentials: Credentials, now: datetime) -> dict[str, str]:
    """Headers (``x-amz-date``, token, ``authorization``) that sign a request with a body."""
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/{region}/{service}/aws4_request"
    all_headers = {key.lower(): value.strip() for key, value in headers.items()}
    all_headers["host"] = host
    all_headers["x-amz-date"] = stamp
    if credentials.token:
        all_headers["x-amz-security-token"] = credentials.token
    names = sorted(all_headers)
    canonical_request = "\n".join([method, path, "", "".join(f"{n}:{all_headers[n]}\n" for n in names),
                                   ";".join(names), hashlib.sha256(body).hexdigest()])
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    signature = hmac.new(signing_key(credentials.secret_key, day, region, service), to_sign.encode(),
                         hashlib.sha256).hexdigest()
    all_headers["authorization"] = (f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return all_headers


def call(service: str, region: str, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None,
         timeout: float = CALL_TIMEOUT_SECONDS, *, credentials: Credentials | None = None, now: datetime | None = None) -> bytes:
    """Send one SigV4-signed request to ``url`` and return the response body.

    ``url``'s path is signed as sent (each segment percent-encoded once more, as AWS's canonical URI
    wants for every service but S3). ``credentials`` default to the environment's; ``now`` to the
    current time. A non-2xx answer raises :class:`urllib.error.HTTPError` (its ``code`` is the status),
    a network failure or timeout another :class:`OSError`.
    """
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if now is None:
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc)
    signed = sign_headers(method=method, host=parts.netloc, path=quote(parts.path or "/", safe="/~"), body=body,
                          headers=headers or {}, service=service, region=region,
                          credentials=credentials or Credentials.from_environment(), now=now)
    request = urllib.request.Request(url, data=body or None, method=method,
                                     headers={k: v for k, v in signed.items() if k != "host"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an AWS endpoint
        return response.read()
