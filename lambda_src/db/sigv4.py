"""AWS Signature Version 4 with the standard library only (no boto3/botocore import).

Used to presign RDS IAM authentication tokens and to sign the few AWS API calls made on the
request path (SQS SendMessage), which keeps cold starts free of boto3's import cost.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from urllib.parse import quote

from ..environment import AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

ALGORITHM = "AWS4-HMAC-SHA256"


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
