"""RDS Proxy's IAM login check, reproduced locally with botocore's own presigner.

A client logging in to an RDS Proxy that requires IAM authentication sends an authentication
token as its password: a SigV4-presigned ``GET https://host:port/?Action=connect&DBUser=...``
(what ``boto3.client("rds").generate_db_auth_token`` returns, without the scheme). The proxy
accepts it only if it was signed, for this endpoint and this user, by credentials it trusts, and
is neither expired nor dated in the future.

:class:`IamLoginCheck` does the same for a local stand-in that knows the test credentials: it
reads the token's signing time and lifetime, has **botocore** presign the token it would expect
(same host and port, the user the connection asks for, the region, the known access key, secret
and session token, at that time), and compares the signatures in constant time. Before that, each
part is checked on its own so that a refusal says why. Nothing of :mod:`lambda_src.db` is used
here: the code under test does not also grade itself.
"""
from __future__ import annotations

import datetime as dt
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.credentials import Credentials

SERVICE = "rds-db"
#: RDS authentication tokens are valid for at most 15 minutes.
MAX_LIFETIME_SECONDS = 900
#: A token dated up to this far ahead of the proxy's clock is accepted (SigV4's usual tolerance).
CLOCK_SKEW_SECONDS = 300
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
#: SQLSTATE invalid_password, as PostgreSQL reports a failed password login.
INVALID_PASSWORD = "28P01"


class LoginRefused(Exception):
    """The login is refused; ``message`` says why and goes to the client in an ErrorResponse."""

    def __init__(self, message: str, sqlstate: str = INVALID_PASSWORD) -> None:
        super().__init__(message)
        self.message, self.sqlstate = message, sqlstate


class _SigV4AtTime(SigV4QueryAuth):
    """botocore's query-string SigV4 signer, signing at a given time instead of now.

    ``SigV4Auth.add_auth`` stamps ``request.context["timestamp"]`` with the current time and then
    calls ``_modify_request_before_signing``, before anything reads the stamp (credential scope,
    ``X-Amz-Date``, string to sign, signing key). Overriding that one hook to put the token's own
    time in its place is the whole difference; no clock is patched, so other threads using
    botocore are unaffected. A test checks that tokens boto3 mints are accepted, which would fail
    if botocore stopped calling the hook in that order.
    """

    def __init__(self, credentials: Credentials, region: str, expires: int, timestamp: str) -> None:
        super().__init__(credentials, SERVICE, region, expires=expires)
        self._timestamp = timestamp

    def _modify_request_before_signing(self, request: Any) -> None:
        request.context["timestamp"] = self._timestamp
        super()._modify_request_before_signing(request)


def presign(*, host: str, port: int, user: str, region: str, credentials: Credentials, timestamp: str,
            expires: int = MAX_LIFETIME_SECONDS) -> str:
    """The token botocore's ``generate_db_auth_token`` builds, signed at ``timestamp`` (``YYYYMMDDTHHMMSSZ``).

    The request is prepared exactly as ``botocore.signers.generate_db_auth_token`` prepares it;
    only the signer's time differs.
    """
    request_dict: dict[str, Any] = {"url_path": "/", "query_string": "", "headers": {},
                                    "body": {"Action": "connect", "DBUser": user}, "method": "GET"}
    prepare_request_dict(request_dict, f"https://{host}:{port}")
    request = create_request_object(request_dict)
    _SigV4AtTime(credentials, region, expires, timestamp).add_auth(request)
    return str(request.url)[len("https://"):]


class IamLoginCheck:
    """Accepts a token only if botocore, with these credentials, reproduces its signature.

    ``clock`` returns epoch seconds (``time.time``); tests may replace it, as they do the token
    cache's. The session token is required: Lambda's credentials always carry one.
    """

    def __init__(self, *, access_key: str, secret_key: str, session_token: str, region: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.credentials = Credentials(access_key, secret_key, session_token)
        self.region = region
        self.clock = clock

    def verify(self, token: str | None, *, user: str, host: str, port: int) -> None:
        """Return if ``token`` lets ``user`` log in to the proxy at ``host:port``; else raise :class:`LoginRefused`."""
        if not token:
            raise LoginRefused("no password: an IAM authentication token is required")
        endpoint, separator, query = token.partition("/?")
        if not separator:
            raise LoginRefused("the password is not an IAM authentication token")
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise LoginRefused("the IAM token's query string is malformed") from None
        params = dict(pairs)
        if len(params) != len(pairs):
            raise LoginRefused("the IAM token repeats a parameter")
        if endpoint != f"{host}:{port}":
            raise LoginRefused(f"the IAM token is for {endpoint}, not for this proxy ({host}:{port})")
        if params.get("Action") != "connect":
            raise LoginRefused("the IAM token is not for Action=connect")
        if params.get("DBUser") != user:
            raise LoginRefused(f'the IAM token is for user "{params.get("DBUser")}", not "{user}"')
        timestamp, expires = self._validity(params)
        access_key, _, scope = params.get("X-Amz-Credential", "").partition("/")
        if access_key != self.credentials.access_key:
            raise LoginRefused(f"the IAM token is signed with an unknown access key ({access_key or 'none'})")
        if scope != f"{timestamp[:8]}/{self.region}/{SERVICE}/aws4_request":
            raise LoginRefused(f"the IAM token's credential scope is {scope}, not {self.region}/{SERVICE}")
        session_token = params.get("X-Amz-Security-Token")
        if session_token is None:
            raise LoginRefused("the IAM token carries no session token (X-Amz-Security-Token)")
        if not hmac.compare_digest(session_token.encode(), str(self.credentials.token).encode()):
            raise LoginRefused("the IAM token's session token is not the one of these credentials")
        expected = dict(parse_qsl(presign(host=host, port=port, user=user, region=self.region,
                                          credentials=self.credentials, timestamp=timestamp,
                                          expires=expires).partition("/?")[2]))
        if set(params) != set(expected):
            raise LoginRefused(f"the IAM token's parameters are not {', '.join(sorted(expected))}")
        if not hmac.compare_digest(params["X-Amz-Signature"].encode(), expected["X-Amz-Signature"].encode()):
            raise LoginRefused("the IAM token's signature does not match")

    def _validity(self, params: dict[str, str]) -> tuple[str, int]:
        """``(X-Amz-Date, X-Amz-Expires)`` once the token is known to be valid now."""
        timestamp = params.get("X-Amz-Date", "")
        try:
            signed_at = dt.datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=dt.timezone.utc).timestamp()
            expires = int(params.get("X-Amz-Expires", ""))
        except ValueError:
            raise LoginRefused("the IAM token has no valid X-Amz-Date and X-Amz-Expires") from None
        if not 0 < expires <= MAX_LIFETIME_SECONDS or params["X-Amz-Expires"] != str(expires):
            raise LoginRefused(f"the IAM token's lifetime must be 1 to {MAX_LIFETIME_SECONDS} seconds")
        now = self.clock()
        if signed_at > now + CLOCK_SKEW_SECONDS:
            raise LoginRefused(f"the IAM token is dated {timestamp}, in the future")
        if signed_at + expires < now:
            raise LoginRefused(f"the IAM token expired {int(now - signed_at - expires)} s ago (signed {timestamp})")
        return timestamp, expires
