"""TLS to the database: verified against a real PostgreSQL behind the local RDS Proxy stand-in."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from lambda_src import config, migrate
from lambda_src.db import connection, tls
from lambda_src.example import http
from lambda_src.example import migrate as example_migrate
from devtools import certificates
from devtools.rds_proxy import Attempt, LocalRdsProxy
from tests.cdk_helpers import SynthesizedService, layer_file
from tests.lambda_src import pg
from tests.lambda_src.conftest import CREDENTIALS, FakeContext
from tests.lambda_src.events import body_of, v2


@pytest.fixture(scope="module")
def cluster_endpoint(database_url: str) -> Iterator[LocalRdsProxy]:
    """TLS in front of the test server without an IAM login check: the cluster endpoint, where the
    migration runner logs in with the admin password."""
    with LocalRdsProxy(database_url) as running:
        yield running


@pytest.fixture
def unrelated_ca(tmp_path: Path) -> str:
    """PEM of a CA that signed nothing the servers present: verification must fail with it."""
    return certificates.authority(tmp_path, "unrelated CA")


@pytest.fixture
def iam_env(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The function's environment as CDK sets it (from ``db``: the stand-in at ``localhost``), with
    no CA bundle configured: each test says where it comes from."""
    for key in ("DB_SSL_ROOT_CERT", "SSL_CERT_FILE"):
        monkeypatch.delenv(key, raising=False)
    tls.forget()
    yield monkeypatch
    tls.forget()


def start_container() -> None:
    config.reload()
    connection.reset()


class TestProxyConnection:
    def test_connection_is_tls_verified_with_the_bundle_openssl_names(self, iam_env: pytest.MonkeyPatch,
                                                                      rds_proxy: LocalRdsProxy) -> None:
        # GIVEN the CA bundle in SSL_CERT_FILE (as the OS bundle would be found on Lambda)
        iam_env.setenv("SSL_CERT_FILE", rds_proxy.ca_file)
        start_container()
        before = len(rds_proxy.attempts)
        # WHEN a request needs the database
        response = http.handler(v2("GET", "/health"), FakeContext())
        # THEN it went through TLS, verified, and logged in with an IAM token as the application user
        assert response["statusCode"] == 200
        assert rds_proxy.attempts[before:] == [Attempt("login", "app_user")]
        assert connection.get().pgconn.ssl_in_use
        assert connection.get().info.user == "app_user"
        assert tls.root_cert(None) == rds_proxy.ca_file

    def test_os_bundle_is_used_where_libpq_system_store_would_find_nothing(self, iam_env: pytest.MonkeyPatch,
                                                                           rds_proxy: LocalRdsProxy) -> None:
        # GIVEN no SSL_CERT_FILE and the CA only in the operating system's bundle (as on Lambda,
        # where the psycopg wheel's own OpenSSL store, /usr/lib/psycopg-openssl, does not exist)
        iam_env.setattr(tls, "OS_BUNDLES", ("/nonexistent/ca-bundle.crt", rds_proxy.ca_file))
        start_container()
        # WHEN a request needs the database THEN the OS bundle verifies the proxy
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        assert connection.get().pgconn.ssl_in_use

    def test_certificate_from_an_unknown_ca_is_refused_with_503(self, iam_env: pytest.MonkeyPatch,
                                                                unrelated_ca: str) -> None:
        iam_env.setenv("DB_SSL_ROOT_CERT", unrelated_ca)
        start_container()
        response = http.handler(v2("GET", "/users/1"), FakeContext())
        assert response["statusCode"] == 503 and response["headers"]["retry-after"]
        assert body_of(response)["error"]["code"] == "service_unavailable"

    def test_host_name_not_in_the_certificate_is_refused(self, iam_env: pytest.MonkeyPatch,
                                                         rds_proxy: LocalRdsProxy) -> None:
        # GIVEN the right CA but an address the certificate does not name
        iam_env.setenv("DB_SSL_ROOT_CERT", rds_proxy.ca_file)
        iam_env.setenv("DB_HOST", "127.0.0.1")
        start_container()
        before = len(rds_proxy.attempts)
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 503
        assert rds_proxy.attempts[before:] == []  # refused by the client, before any login


class TestRootCertificateChoice:
    def test_configured_bundle_wins(self, tmp_path: Path) -> None:
        assert tls.find_root_cert("/opt/certs/bundle.pem", ssl_cert_file=__file__) == "/opt/certs/bundle.pem"

    def test_openssl_variable_before_os_bundles(self, tmp_path: Path) -> None:
        os_bundle = tmp_path / "ca-bundle.crt"
        os_bundle.write_text("x")
        assert tls.find_root_cert(None, ssl_cert_file=__file__, candidates=(str(os_bundle),)) == __file__

    def test_first_existing_os_bundle_and_amazon_linux_first(self, tmp_path: Path) -> None:
        present = tmp_path / "ca-certificates.crt"
        present.write_text("x")
        assert tls.find_root_cert(None, candidates=(str(tmp_path / "missing"), str(present))) == str(present)
        assert tls.OS_BUNDLES[0] == "/etc/pki/tls/certs/ca-bundle.crt"  # the Lambda Python 3.12+ runtimes

    def test_libpq_default_when_no_bundle_exists(self, tmp_path: Path) -> None:
        assert tls.find_root_cert(None, ssl_cert_file=str(tmp_path / "gone"),
                                  candidates=(str(tmp_path / "missing"),)) == "system"


class TestMigrationConnection:
    """The deploy-time handler: admin secret from Secrets Manager (moto), cluster endpoint over TLS."""

    @pytest.fixture
    def secret_env(self, cluster_endpoint: LocalRdsProxy,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
        from moto import mock_aws

        monkeypatch.delenv("DATABASE_URL", raising=False)
        for key, value in CREDENTIALS.items():
            monkeypatch.setenv(key, value)
        with mock_aws():
            import boto3

            arn = boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
                Name="admin", SecretString=json.dumps({"username": "postgres", "password": "s3cret!",
                                                       "host": "ignored.cluster.example", "port": 5432}))["ARN"]
            monkeypatch.setenv("DB_ADMIN_SECRET_ARN", arn)
            monkeypatch.setenv("DB_ADMIN_HOST", "localhost")
            monkeypatch.setenv("DB_PORT", str(cluster_endpoint.port))
            monkeypatch.setenv("DB_USER", "app_user")
            yield monkeypatch

    def test_verified_when_the_rds_ca_bundle_is_given(self, secret_env: pytest.MonkeyPatch,
                                                      cluster_endpoint: LocalRdsProxy) -> None:
        with pg.fresh_database("migtls") as dsn:
            secret_env.setenv("DB_NAME", urlsplit(dsn).path.lstrip("/"))
            secret_env.setenv("DB_ADMIN_SSL_ROOT_CERT", cluster_endpoint.ca_file)
            before = len(cluster_endpoint.attempts)
            assert example_migrate.handler({}, None)["applied"][0] == "0001"
            assert cluster_endpoint.attempts[before:] == [Attempt("tls", "postgres")]

    def test_an_unknown_ca_fails_the_deployment(self, secret_env: pytest.MonkeyPatch, unrelated_ca: str) -> None:
        secret_env.setenv("DB_NAME", "postgres")
        secret_env.setenv("DB_ADMIN_SSL_ROOT_CERT", unrelated_ca)
        with pytest.raises(psycopg.OperationalError, match="certificate verify failed") as raised:
            example_migrate.handler({}, None)
        assert "s3cret" not in str(raised.value)

    def test_no_secret_and_no_url_is_a_clear_error(self) -> None:
        with pytest.raises(RuntimeError, match="DB_ADMIN_SECRET_ARN"):
            migrate.admin_connection_settings(config.Config({}))


ADMIN_SECRET = json.dumps({"username": "postgres", "password": "s3cret!", "host": "ignored.cluster.example"})


@pytest.fixture(scope="module")
def rds_ca_bundle(service: SynthesizedService) -> Path:
    """The CA bundle synth ships to the migration function: the file its DB_ADMIN_SSL_ROOT_CERT names, in cdk.out."""
    stateless = service.stacks.stateless
    function_id = stateless.get_logical_id(stateless.migrate_function.function.node.default_child)
    template = service.template_json(stateless)
    path = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]["DB_ADMIN_SSL_ROOT_CERT"]
    return layer_file(service.outdir, template, function_id, path)


def admin_settings(proxy: LocalRdsProxy, **env: str) -> config.Config:
    """The migration function's configuration, with the cluster endpoint at the local TLS proxy."""
    return config.Config({"DB_ADMIN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin",
                          "DB_ADMIN_HOST": "localhost", "DB_PORT": str(proxy.port), "DB_NAME": "postgres", **env})


class TestMigrationsVerifyTheCluster:
    """admin_connection_settings → migrate, against a real PostgreSQL behind a TLS proxy, with the shipped bundle."""

    def test_a_server_certificate_from_another_ca_is_refused(self, cluster_endpoint: LocalRdsProxy, rds_ca_bundle: Path) -> None:
        # GIVEN the RDS CA bundle as deployed, and a server whose certificate another CA (the test CA) signed
        settings = admin_settings(cluster_endpoint, DB_ADMIN_SSL_ROOT_CERT=str(rds_ca_bundle))
        dsn, kwargs = migrate.admin_connection_settings(settings, fetch_secret=lambda arn: ADMIN_SECRET)
        # WHEN the migrations connect THEN the server is refused: the chain is verified, not only encrypted
        assert kwargs["sslmode"] == "verify-full" and kwargs["sslrootcert"] == str(rds_ca_bundle)
        with pytest.raises(psycopg.OperationalError, match="certificate verify failed") as raised:
            example_migrate.migrate(dsn, app_user=settings.db_user, connect_kwargs=kwargs)
        assert "s3cret" not in str(raised.value)

    def test_a_server_signed_by_a_ca_appended_to_the_bundle_is_accepted(self, cluster_endpoint: LocalRdsProxy, rds_ca_bundle: Path,
                                                                        tmp_path: Path) -> None:
        # GIVEN the RDS CA bundle with the test CA appended
        bundle = tmp_path / "rds-and-test-ca.pem"
        bundle.write_bytes(rds_ca_bundle.read_bytes() + Path(cluster_endpoint.ca_file).read_bytes())
        with pg.fresh_database("migrdsca") as database:
            settings = admin_settings(cluster_endpoint, DB_NAME=urlsplit(database).path.lstrip("/"),
                                      DB_ADMIN_SSL_ROOT_CERT=str(bundle))
            dsn, kwargs = migrate.admin_connection_settings(settings, fetch_secret=lambda arn: ADMIN_SECRET)
            before = len(cluster_endpoint.attempts)
            # WHEN the migrations run THEN they connect over verified TLS and apply
            assert example_migrate.migrate(dsn, app_user=settings.db_user, connect_kwargs=kwargs)[0] == "0001"
            assert cluster_endpoint.attempts[before:] == [Attempt("tls", "postgres")]

    def test_without_a_bundle_nothing_connects_unverified(self, cluster_endpoint: LocalRdsProxy) -> None:
        # GIVEN a deployed configuration without DB_ADMIN_SSL_ROOT_CERT
        fetched: list[str] = []
        # WHEN the admin connection is prepared THEN it is an error, before the secret is even read
        with pytest.raises(RuntimeError, match="DB_ADMIN_SSL_ROOT_CERT is not set"):
            migrate.admin_connection_settings(admin_settings(cluster_endpoint),
                                              fetch_secret=lambda arn: fetched.append(arn) or ADMIN_SECRET)
        assert fetched == []

    def test_a_bundle_path_that_does_not_exist_is_an_error(self, cluster_endpoint: LocalRdsProxy, tmp_path: Path) -> None:
        missing = tmp_path / "gone" / "rds-ca-bundle.pem"
        with pytest.raises(RuntimeError, match=re.escape(f"DB_ADMIN_SSL_ROOT_CERT={missing}")):
            migrate.admin_connection_settings(admin_settings(cluster_endpoint, DB_ADMIN_SSL_ROOT_CERT=str(missing)),
                                              fetch_secret=lambda arn: ADMIN_SECRET)

    def test_local_database_url_is_used_as_given(self) -> None:
        assert migrate.admin_connection_settings(config.Config({"DATABASE_URL": "postgresql:///app"})) == (
            "postgresql:///app", {})
