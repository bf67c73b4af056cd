"""The standard-library SigV4 signer and the IAM token cache, held to botocore's own signatures.

botocore signs first; its ``X-Amz-Date`` gives the instant ours signs at, so no clock is patched.
"""
from __future__ import annotations

import datetime as dt

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from lambda_src.db import iam_token
from lambda_src.db.sigv4 import Credentials, sign_headers
from tests.lambda_src.conftest import CREDENTIALS

REGION = CREDENTIALS["AWS_REGION"]
HOST = "sqs.eu-west-1.amazonaws.com"
BODY = b'{"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/orders", "MessageBody": "{}"}'
#: As ``send_to_sqs`` builds them: ``x-amz-target`` first, names in mixed case, a value to trim.
HEADERS = {"x-amz-target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0",
           "X-Amz-Query-Mode": "  true  "}


def botocore_signs(credentials: BotoCredentials, headers: dict[str, str]) -> tuple[str, dt.datetime]:
    """botocore's Authorization header for a POST of :data:`BODY` to :data:`HOST`, and when it signed."""
    request = AWSRequest(method="POST", url=f"https://{HOST}/", data=BODY, headers=dict(headers))
    SigV4Auth(credentials, "sqs", REGION).add_auth(request)
    at = dt.datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    return request.headers["Authorization"], at


def ours_signs(credentials: Credentials, headers: dict[str, str], at: dt.datetime) -> dict[str, str]:
    return sign_headers(method="POST", host=HOST, path="/", body=BODY, headers=headers, service="sqs", region=REGION,
                        credentials=credentials, now=at)


class TestCredentialsFromTheEnvironment:
    def test_a_lambda_roles_credentials_sign_as_botocore_does_with_the_session_token(
            self, monkeypatch: pytest.MonkeyPatch) -> None:
        # GIVEN the environment Lambda gives a function (its role's temporary credentials)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.setenv(key, CREDENTIALS[key])
        # WHEN a request is signed with the credentials read from it
        expected, at = botocore_signs(BotoCredentials(CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                                      CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                                                      CREDENTIALS["AWS_SESSION_TOKEN"]), HEADERS)
        signed = ours_signs(Credentials.from_environment(), HEADERS, at)
        # THEN the session token is sent and signed, exactly as botocore does
        assert signed["x-amz-security-token"] == CREDENTIALS["AWS_SESSION_TOKEN"]
        assert signed["authorization"] == expected

    def test_an_empty_session_token_is_no_token(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLONGTERM")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
        monkeypatch.setenv("AWS_SESSION_TOKEN", "")
        credentials = Credentials.from_environment()
        expected, at = botocore_signs(BotoCredentials("AKIDLONGTERM", "secret"), HEADERS)
        signed = ours_signs(credentials, HEADERS, at)
        assert credentials.token is None and "x-amz-security-token" not in signed
        assert signed["authorization"] == expected

    @pytest.mark.parametrize("missing", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    def test_a_missing_key_is_named(self, monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(key, CREDENTIALS[key])
        monkeypatch.delenv(missing)
        with pytest.raises(RuntimeError, match=f"AWS credentials are not in the environment \\({missing} missing\\)"):
            Credentials.from_environment()

    def test_the_repr_shows_neither_the_secret_nor_the_token(self) -> None:
        credentials = Credentials("AKIDEXAMPLE", "top-secret", "session-token")
        assert repr(credentials) == "Credentials(access_key=AKID…, token=yes)"
        assert repr(Credentials("AKIDEXAMPLE", "top-secret")) == "Credentials(access_key=AKID…, token=no)"


class TestSignedHeaders:
    def test_several_headers_out_of_order_and_in_mixed_case_sign_as_botocore_does(self) -> None:
        # GIVEN headers in the order and case a caller builds them (host is added by the signer)
        boto = BotoCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        expected, at = botocore_signs(boto, HEADERS)
        # WHEN ours signs them
        signed = ours_signs(Credentials(boto.access_key, boto.secret_key), HEADERS, at)
        # THEN the signature is botocore's: names lower-cased and sorted, values trimmed
        assert signed["authorization"] == expected
        assert "SignedHeaders=content-type;host;x-amz-date;x-amz-query-mode;x-amz-target," in expected
        assert signed["x-amz-date"] == at.strftime("%Y%m%dT%H%M%SZ") and signed["host"] == HOST

    def test_the_headers_to_send_are_the_signed_ones(self) -> None:
        at = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)
        signed = ours_signs(Credentials("AKIDEXAMPLE", "secret", "token"), HEADERS, at)
        assert signed == {"x-amz-target": "AmazonSQS.SendMessage", "content-type": "application/x-amz-json-1.0",
                          "x-amz-query-mode": "true", "host": HOST, "x-amz-date": "20261122T120000Z",
                          "x-amz-security-token": "token", "authorization": signed["authorization"]}
        assert signed["authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-1/sqs/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-query-mode;x-amz-security-token;x-amz-target, "
            "Signature=")


class TestPresignedToken:
    @pytest.mark.parametrize("token", [CREDENTIALS["AWS_SESSION_TOKEN"], None])
    def test_the_token_is_boto3s_with_and_without_a_session_token(self, token: str | None) -> None:
        import boto3

        client = boto3.client("rds", region_name=REGION, aws_access_key_id="AKIDEXAMPLE",
                              aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                              aws_session_token=token)
        # boto3 first; the token's own X-Amz-Date is the instant ours mints at
        theirs = client.generate_db_auth_token("prx.proxy-abc.eu-west-1.rds.amazonaws.com", 5432, "app_user")
        stamp = theirs.split("X-Amz-Date=")[1].split("&")[0]
        at = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        ours = iam_token.generate(host="prx.proxy-abc.eu-west-1.rds.amazonaws.com", port=5432, user="app_user",
                                  region=REGION, credentials=Credentials("AKIDEXAMPLE",
                                                                         "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                                         token), now=at)
        assert ours == theirs
        assert ("X-Amz-Security-Token=" in ours) is (token is not None)


class TestTokenCache:
    """One token per endpoint, user and access key, reused until :data:`REFRESH_MARGIN_SECONDS` before expiry."""

    START = 1_795_348_800.0  # 2026-11-22T12:00:00Z

    @pytest.fixture
    def clock(self) -> list[float]:
        return [self.START]

    @pytest.fixture
    def cache(self, clock: list[float]) -> iam_token.TokenCache:
        return iam_token.TokenCache(clock=lambda: clock[0])

    def get(self, cache: iam_token.TokenCache, credentials: Credentials | None = None, **endpoint: object) -> str:
        where = {"host": "prx.example", "port": 5432, "user": "app_user", **endpoint}
        return cache.get(region=REGION, credentials=credentials or Credentials("AKIDONE", "secret-one"),
                         **where)  # type: ignore[arg-type]

    def test_the_cached_token_is_the_one_minted_at_that_time(self, cache: iam_token.TokenCache) -> None:
        token = self.get(cache)
        assert token == iam_token.generate(host="prx.example", port=5432, user="app_user", region=REGION,
                                           credentials=Credentials("AKIDONE", "secret-one"),
                                           now=dt.datetime.fromtimestamp(self.START, tz=dt.timezone.utc))
        assert self.get(cache) == token and cache.generations == 1

    def test_a_new_token_exactly_at_the_refresh_margin(self, cache: iam_token.TokenCache, clock: list[float]) -> None:
        first = self.get(cache)
        refresh_at = self.START + iam_token.TOKEN_LIFETIME_SECONDS - iam_token.REFRESH_MARGIN_SECONDS
        clock[0] = refresh_at - 1
        assert self.get(cache) == first and cache.generations == 1
        clock[0] = refresh_at
        renewed = self.get(cache)
        assert renewed != first and cache.generations == 2
        assert "X-Amz-Date=20261122T121400Z" in renewed  # minted now, 14 minutes after the first

    def test_rotated_credentials_mint_a_new_token(self, cache: iam_token.TokenCache) -> None:
        # GIVEN a token cached for the role's current credentials
        first = self.get(cache, Credentials("AKIDONE", "secret-one", "token-one"))
        # WHEN Lambda rotates them (a new access key) within the token's life
        rotated = self.get(cache, Credentials("AKIDTWO", "secret-two", "token-two"))
        # THEN the new token is signed with the new key
        assert rotated != first and "AKIDTWO%2F" in rotated and cache.generations == 2

    @pytest.mark.parametrize("endpoint", [{"host": "other.example"}, {"port": 6432}, {"user": "app_admin"}])
    def test_each_endpoint_and_user_has_its_own_token(self, cache: iam_token.TokenCache,
                                                     endpoint: dict[str, object]) -> None:
        first = self.get(cache)
        other = self.get(cache, **endpoint)
        assert other != first and cache.generations == 2
        assert self.get(cache) == first and cache.generations == 2

    def test_clear_forgets_every_token(self, cache: iam_token.TokenCache) -> None:
        self.get(cache)
        cache.clear()
        self.get(cache)
        assert cache.generations == 2
