"""Which CA certificates verify the database server's TLS certificate.

libpq's ``sslrootcert=system`` means "the default trust store of the OpenSSL libpq is linked
against". In the psycopg binary wheel that is the wheel's own OpenSSL, whose store is
``/usr/lib/psycopg-openssl/cert.pem``: a path that exists on no Lambda runtime, so every
verified connection would fail. We therefore hand libpq an explicit bundle file, found once per
container in this order:

1. ``DB_SSL_ROOT_CERT`` (configuration): a PEM bundle path, or ``system`` to keep libpq's default;
2. ``SSL_CERT_FILE``, the variable OpenSSL itself honours;
3. the operating system's bundle: ``/etc/pki/tls/certs/ca-bundle.crt`` on Amazon Linux 2023
   (the Lambda Python 3.12+ runtimes), then the Debian/Ubuntu, Alpine and older Red Hat paths;
4. ``system`` as a last resort (correct where libpq uses the platform's own OpenSSL).

RDS Proxy presents an ACM certificate chaining to Amazon Trust Services, which every OS bundle
trusts, so ``sslmode=verify-full`` with this bundle verifies both the chain and the host name.
Aurora's own endpoints chain to the RDS CAs instead, which are in no OS bundle (see
:mod:`lambda_src.migrate`).
"""
from __future__ import annotations

import os

SYSTEM = "system"
#: Operating-system CA bundles, most likely on Lambda first.
OS_BUNDLES = (
    "/etc/pki/tls/certs/ca-bundle.crt",  # Amazon Linux 2023 / RHEL: the Lambda runtimes
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu
    "/etc/ssl/cert.pem",  # Alpine, macOS
    "/etc/pki/tls/cert.pem",  # older Red Hat
)

_resolved: dict[str | None, str] = {}


def find_root_cert(configured: str | None, ssl_cert_file: str | None = None,
                   candidates: tuple[str, ...] | None = None) -> str:
    """The ``sslrootcert`` value to use: a bundle path, or ``system`` when none is found.

    :param configured: ``DB_SSL_ROOT_CERT``. :param ssl_cert_file: ``SSL_CERT_FILE``.
    """
    if configured:
        return configured
    if ssl_cert_file and os.path.isfile(ssl_cert_file):
        return ssl_cert_file
    for path in OS_BUNDLES if candidates is None else candidates:
        if os.path.isfile(path):
            return path
    return SYSTEM


def root_cert(configured: str | None) -> str:
    """:func:`find_root_cert`, resolved once per container (the file system does not change)."""
    found = _resolved.get(configured)
    if found is None:
        from .. import config

        found = _resolved[configured] = find_root_cert(configured, config.load().ssl_cert_file)
    return found


def forget() -> None:
    """Resolve again on next use (tests)."""
    _resolved.clear()
