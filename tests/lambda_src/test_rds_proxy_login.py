"""The local RDS Proxy stand-in lets a connection in only with TLS and a valid IAM token for it.

Tokens come from the handler package's own minting code and from boto3's ``generate_db_auth_token``;
libpq (psycopg) sends them exactly as the functions do. Every refusal names its reason.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
import pytest

from lambda_src.db import iam_token
from lambda_src.aws import Credentials
from devtools.iam_login import IamLoginCheck, LoginRefused
from devtools.rds_proxy import Attempt, LocalRdsProxy
from tests.lambda_src.conftest import CREDENTIALS

REGION = CREDENTIALS["AWS_REGION"]
#: The credentials the stand-in trusts, as the function holds them.
FUNCTION = Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                       CREDENTIALS["AWS_SESSION_TOKEN"])


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def mint(proxy: LocalRdsProxy, *, host: str = "localhost", port: int | None = None, user: str = "app_user",
         region: str = REGION, credentials: Credentials = FUNCTION, at: dt.datetime | None = None) -> str:
    """A token from the handler package's minting code; by default a valid one for the stand-in."""
    return iam_token.generate(host=host, port=port or proxy.port, user=user, region=region,
                              credentials=credentials, now=at or now())


def login(proxy: LocalRdsProxy, database_url: str, password: str | None, *, user: str = "app_user",
          sslmode: str = "verify-full") -> psycopg.Connection:
    """Connect through the stand-in as the function does (libpq sends the token as the password)."""
    return psycopg.connect(host="localhost", port=proxy.port, dbname=urlsplit(database_url).path.lstrip("/"),
                           user=user, password=password, sslmode=sslmode, sslrootcert=proxy.ca_file,
                           connect_timeout=5, autocommit=True)


class TestAccepted:
    def test_a_token_from_the_handler_package_logs_in_and_the_session_is_the_real_servers(
            self, rds_proxy: LocalRdsProxy, database_url: str) -> None:
        # GIVEN a token minted by the function's code for this endpoint and user
        before = len(rds_proxy.attempts)
        # WHEN the function connects with it
        with login(rds_proxy, database_url, mint(rds_proxy)) as conn:
            # THEN it is in, over TLS, as that user, in a session of the real server
            assert conn.execute("SELECT current_user").fetchone() == ("app_user",)
            assert conn.pgconn.ssl_in_use
            assert conn.info.parameter_status("server_version") and conn.info.backend_pid
        assert rds_proxy.attempts[before:] == [Attempt("login", "app_user")]

    def test_a_token_from_boto3_logs_in(self, rds_proxy: LocalRdsProxy, database_url: str) -> None:
        import boto3

        client = boto3.client("rds", region_name=REGION, aws_access_key_id=FUNCTION.access_key,
                              aws_secret_access_key=FUNCTION.secret_key, aws_session_token=FUNCTION.token)
        token = client.generate_db_auth_token("localhost", rds_proxy.port, "app_user")
        with login(rds_proxy, database_url, token) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("app_user",)

    def test_an_error_of_the_server_behind_reaches_the_client(self, rds_proxy: LocalRdsProxy,
                                                              database_url: str) -> None:
        # GIVEN a valid token for a user the database does not have
        before = len(rds_proxy.attempts)
        # WHEN it logs in THEN the stand-in lets it through and the server's own refusal comes back
        with pytest.raises(psycopg.OperationalError, match='role "nobody" does not exist'):
            login(rds_proxy, database_url, mint(rds_proxy, user="nobody"), user="nobody")
        assert rds_proxy.attempts[before:] == [Attempt("login", "nobody")]


@dataclass(frozen=True)
class Refusal:
    token: Callable[[LocalRdsProxy], str]
    reason: str  #: the start of the stand-in's reason
    user: str = "app_user"  #: the user the connection asks for


def tampered_user(proxy: LocalRdsProxy) -> str:
    """A valid token for app_user, edited to name the superuser: only the signature can tell."""
    return mint(proxy).replace("DBUser=app_user", "DBUser=postgres")


REFUSALS = {
    "token for another user": Refusal(lambda p: mint(p), 'the IAM token is for user "app_user", not "postgres"',
                                      user="postgres"),
    "edited user name": Refusal(tampered_user, "the IAM token's signature does not match", user="postgres"),
    "expired token": Refusal(lambda p: mint(p, at=now() - dt.timedelta(minutes=16)), "the IAM token expired"),
    "token dated in the future": Refusal(lambda p: mint(p, at=now() + dt.timedelta(minutes=10)),
                                         "the IAM token is dated"),
    "token for another host": Refusal(lambda p: mint(p, host="127.0.0.1"), "the IAM token is for 127.0.0.1:"),
    "token for another port": Refusal(lambda p: mint(p, port=p.port + 1), "the IAM token is for localhost:"),
    "no session token": Refusal(lambda p: mint(p, credentials=Credentials(FUNCTION.access_key, FUNCTION.secret_key)),
                                "the IAM token carries no session token"),
    "another session token": Refusal(
        lambda p: mint(p, credentials=Credentials(FUNCTION.access_key, FUNCTION.secret_key, "other-session")),
        "the IAM token's session token is not the one"),
    "wrong secret key": Refusal(
        lambda p: mint(p, credentials=Credentials(FUNCTION.access_key, "not-the-secret", FUNCTION.token)),
        "the IAM token's signature does not match"),
    "unknown access key": Refusal(lambda p: mint(p, credentials=Credentials("AKIDOTHER", "s", FUNCTION.token)),
                                  "the IAM token is signed with an unknown access key (AKIDOTHER)"),
    "another region": Refusal(lambda p: mint(p, region="us-east-1"), "the IAM token's credential scope is"),
    "a plain password": Refusal(lambda p: "hunter2", "the password is not an IAM authentication token"),
}


class TestRefused:
    @pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
    def test_refused_with_the_reason(self, rds_proxy: LocalRdsProxy, database_url: str, case: Refusal) -> None:
        # GIVEN a token that is wrong in one way
        token = case.token(rds_proxy)
        before = len(rds_proxy.attempts)
        # WHEN a connection presents it THEN the login fails with the stand-in's reason, and nothing reached the server
        with pytest.raises(psycopg.OperationalError, match="IAM authentication failed") as refused:
            login(rds_proxy, database_url, token, user=case.user)
        assert case.reason in str(refused.value)
        [attempt] = rds_proxy.attempts[before:]
        assert (attempt.outcome, attempt.user) == ("refused", case.user) and attempt.reason.startswith(case.reason)

    def test_no_password_never_gets_in(self, rds_proxy: LocalRdsProxy, database_url: str) -> None:
        # GIVEN a token function that returned None WHEN libpq is asked for the password THEN no login
        before = len(rds_proxy.attempts)
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            login(rds_proxy, database_url, None)
        assert Attempt("login", "app_user") not in rds_proxy.attempts[before:]

    def test_a_valid_token_without_tls_is_refused(self, rds_proxy: LocalRdsProxy, database_url: str) -> None:
        before = len(rds_proxy.attempts)
        with pytest.raises(psycopg.OperationalError, match="this proxy requires TLS connections"):
            login(rds_proxy, database_url, mint(rds_proxy), sslmode="disable")
        assert rds_proxy.attempts[before:] == [Attempt("refused", reason="no TLS")]


class TestCheck:
    """The check on its own, for what libpq would never send."""

    @pytest.fixture
    def check(self) -> IamLoginCheck:
        return IamLoginCheck(access_key=FUNCTION.access_key, secret_key=FUNCTION.secret_key,
                             session_token=str(FUNCTION.token), region=REGION)

    @pytest.mark.parametrize(("token", "reason"), [
        (None, "no password"), ("", "no password"),
        ("localhost:5432/?Action=connect&Action=connect", "repeats a parameter"),
        ("localhost:5432/?Action=connect&DBUser=app_user", "no valid X-Amz-Date"),
    ])
    def test_malformed_tokens(self, check: IamLoginCheck, token: str | None, reason: str) -> None:
        with pytest.raises(LoginRefused, match=reason):
            check.verify(token, user="app_user", host="localhost", port=5432)

    def test_a_lifetime_over_fifteen_minutes_is_refused_even_if_signed(self, check: IamLoginCheck) -> None:
        from botocore.credentials import Credentials as BotoCredentials

        from devtools.iam_login import presign

        stamp = now().strftime("%Y%m%dT%H%M%SZ")
        token = presign(host="localhost", port=5432, user="app_user", region=REGION, timestamp=stamp, expires=3600,
                        credentials=BotoCredentials(FUNCTION.access_key, FUNCTION.secret_key, FUNCTION.token))
        with pytest.raises(LoginRefused, match="lifetime must be 1 to 900 seconds"):
            check.verify(token, user="app_user", host="localhost", port=5432)

    def test_botocore_reproduces_the_handler_packages_token(self, check: IamLoginCheck) -> None:
        # the stand-in and the function agree on a token minted at a fixed, past time
        at = dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.timezone.utc)
        token = iam_token.generate(host="localhost", port=5432, user="app_user", region=REGION,
                                   credentials=FUNCTION, now=at)
        check.clock = lambda: at.timestamp() + 60
        check.verify(token, user="app_user", host="localhost", port=5432)
