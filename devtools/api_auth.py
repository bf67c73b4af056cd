"""API Gateway's IAM authorization, emulated for ``make dev``.

The deployed APIs authorize every request with IAM (``LambdaHttpApi`` and ``LambdaWebSocketApi``'s
default): an HTTP request, or a WebSocket handshake, must be signed with Signature Version 4 by a
principal allowed ``execute-api:Invoke``; anything else gets a 403 and never runs a function. The
function then finds the caller in its event: ``requestContext.authorizer.iam`` (HTTP API payload
2.0) or ``requestContext.identity`` (WebSocket ``$connect``).

The local servers do the same with one local caller, :data:`LOCAL_CALLER`: a request is let in
only when botocore, with that caller's secret, reproduces its ``Authorization`` signature over
exactly the headers it signed, for service ``execute-api`` in region ``local``, dated within
five minutes, with a body matching its hash. Nothing of :mod:`lambda_src` signs or checks here:
the handler package is what is under test. Because the local caller's secret is in this file,
requests are accepted from this machine (a loopback address) only, even when signed.

Calling the local API::

    curl --aws-sigv4 "aws:amz:local:execute-api" --user "LOCALCALLER:local-caller-secret" \\
         http://127.0.0.1:3000/users

or, from Python (any client; WebSocket handshakes too), headers from :meth:`LocalIamAuthorizer.sign`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
#: API Gateway refuses a signature dated more than five minutes from its clock.
CLOCK_SKEW_SECONDS = 300
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<day>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)/aws4_request,"
    # header names are HTTP tokens (RFC 9110: letters, digits and !#$%&'*+-.^_`|~), lower-cased, ';'-separated
    r"\s*SignedHeaders=(?P<signed>[a-z0-9!#$%&'*+.^_`|~;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})")


@dataclass(frozen=True)
class LocalCaller:
    """The one principal the local APIs let in, and who the functions are told it is."""

    access_key: str
    secret_key: str
    region: str
    account: str
    user_arn: str
    user_id: str


#: The local caller: an IAM user of the placeholder account. Its secret is public (it is here), which
#: is why the local servers accept signed requests from loopback addresses only.
LOCAL_CALLER = LocalCaller(access_key="LOCALCALLER", secret_key="local-caller-secret", region="local",
                           account="123456789012", user_arn="arn:aws:iam::123456789012:user/local-developer",
                           user_id="AIDALOCALDEVELOPER")


class Refused(Exception):
    """The request is not let in; API Gateway answers 403 and no function runs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def body(self) -> dict[str, str]:
        """API Gateway's own 403 body, plus why (API Gateway does not say; locally it helps)."""
        return {"message": "Forbidden", "localReason": self.reason}


class _SigV4As(SigV4Auth):
    """botocore's SigV4 header signer, at the request's own time and over exactly the headers the
    request says it signed (botocore would otherwise pick its own set, leaving out user-agent).

    ``SigV4Auth.add_auth`` stamps the current time in ``request.context`` and then calls
    ``_modify_request_before_signing`` before anything reads it; that hook puts the request's
    ``X-Amz-Date`` in its place (no clock is patched: other threads using botocore are unaffected).
    """

    def __init__(self, credentials: Credentials, region: str, timestamp: str, signed: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._timestamp, self._signed = timestamp, signed

    def _modify_request_before_signing(self, request: Any) -> None:
        request.context["timestamp"] = self._timestamp
        super()._modify_request_before_signing(request)

    def headers_to_sign(self, request: Any) -> HTTPHeaders:
        chosen = HTTPHeaders()
        for name in self._signed:
            chosen[name] = request.headers[name]
        return chosen


class LocalIamAuthorizer:
    """Lets in SigV4-signed requests of :data:`LOCAL_CALLER` from loopback addresses.

    ``clock`` returns epoch seconds (``time.time``); tests may replace it.
    """

    def __init__(self, caller: LocalCaller = LOCAL_CALLER, clock: Callable[[], float] = time.time) -> None:
        self.caller = caller
        self.clock = clock

    # ---- checking ---------------------------------------------------------------------------
    def verify(self, *, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes,
               client_ip: str) -> dict[str, Any]:
        """The caller's identity, as payload 2.0's ``requestContext.authorizer.iam`` holds it, if the
        request (``target``: path and query as sent) is let in; else raise :class:`Refused`."""
        if not _loopback(client_ip):
            raise Refused(f"the local API takes signed requests from this machine only, not from {client_ip}")
        found: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            found[key] = f"{found[key]},{value}" if key in found else value
        authorization = found.get("authorization")
        if not authorization:
            raise Refused("the request is not signed: IAM authorization needs a SigV4 Authorization header "
                          f"(service {SERVICE}, region {self.caller.region})")
        parts = _AUTHORIZATION.fullmatch(authorization.strip())
        if parts is None:
            raise Refused(f"the Authorization header is not a {ALGORITHM} signature")
        if not hmac.compare_digest(parts["key"].encode(), self.caller.access_key.encode()):
            raise Refused(f"the request is signed with an unknown access key ({parts['key']})")
        if (parts["region"], parts["service"]) != (self.caller.region, SERVICE):
            raise Refused(f"the signature is for {parts['service']} in {parts['region']}, "
                          f"not {SERVICE} in {self.caller.region}")
        signed = parts["signed"].split(";")
        if "host" not in signed or "x-amz-date" not in signed or any(name not in found for name in signed):
            raise Refused("the signature must cover host and x-amz-date, and every header it names must be sent")
        if "x-amz-security-token" in found:
            raise Refused("the local caller's credentials are long-term: no session token goes with them")
        timestamp = found["x-amz-date"]
        self._check_time(timestamp, parts["day"])
        if "x-amz-content-sha256" in found and found["x-amz-content-sha256"] != hashlib.sha256(body).hexdigest():
            raise Refused("x-amz-content-sha256 is not the hash of the body")
        path, _, query = target.partition("?")
        request = AWSRequest(method=method.upper(), url=f"http://{found['host']}{path}" + (f"?{query}" if query else ""),
                             data=body, headers={name: found[name] for name in signed})
        _SigV4As(Credentials(self.caller.access_key, self.caller.secret_key), self.caller.region, timestamp,
                 signed).add_auth(request)
        expected = str(request.headers["Authorization"]).rsplit("Signature=", 1)[1]
        if not hmac.compare_digest(expected.encode(), parts["signature"].encode()):
            raise Refused("the signature does not match: sign with the local caller's secret, over the method, "
                          "path, query, signed headers and body as sent")
        return {"accessKey": self.caller.access_key, "accountId": self.caller.account, "callerId": self.caller.user_id,
                "cognitoIdentity": None, "principalOrgId": None, "userArn": self.caller.user_arn,
                "userId": self.caller.user_id}

    def _check_time(self, timestamp: str, day: str) -> None:
        try:
            signed_at = dt.datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=dt.timezone.utc).timestamp()
        except ValueError:
            raise Refused("x-amz-date is not a SigV4 timestamp (YYYYMMDDTHHMMSSZ)") from None
        if timestamp[:8] != day:
            raise Refused("the credential scope's date is not x-amz-date's")
        if abs(self.clock() - signed_at) > CLOCK_SKEW_SECONDS:
            raise Refused(f"the signature is dated {timestamp}, more than {CLOCK_SKEW_SECONDS} s from now")

    @staticmethod
    def websocket_identity(iam: dict[str, Any]) -> dict[str, Any]:
        """The same caller as a WebSocket ``$connect`` event's ``requestContext.identity`` names it."""
        return {"accessKey": iam["accessKey"], "accountId": iam["accountId"], "caller": iam["callerId"],
                "user": iam["userId"], "userArn": iam["userArn"], "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None, "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None, "principalOrgId": None}

    # ---- signing, for clients ---------------------------------------------------------------
    def sign(self, method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None) -> dict[str, str]:
        """The headers that sign ``method url`` (an ``http://`` or ``ws://`` URL) as the local caller,
        ``headers`` included: send them with the request (the client sends ``Host`` itself)."""
        request = AWSRequest(method=method.upper(), url=re.sub(r"^ws", "http", url), data=body, headers=dict(headers or {}))
        SigV4Auth(Credentials(self.caller.access_key, self.caller.secret_key), SERVICE, self.caller.region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}

    def describe(self, url: str) -> str:
        """How to call the local API, for ``make dev`` to print."""
        return (f"auth: IAM, as deployed: sign each request with SigV4 as the local caller (access key "
                f"{self.caller.access_key}, secret {self.caller.secret_key}, region {self.caller.region}, service "
                f"{SERVICE}); unsigned requests get 403; accepted from this machine only. For example:\n"
                f'  curl --aws-sigv4 "aws:amz:{self.caller.region}:{SERVICE}" '
                f'--user "{self.caller.access_key}:{self.caller.secret_key}" {url}/users\n'
                f"  (WebSocket clients sign the handshake the same way: devtools.api_auth.LocalIamAuthorizer().sign)")


def _loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a dual-stack socket
    return (mapped or ip).is_loopback
