"""Bytecode for a Lambda bundle: ``.pyc`` compiled for the runtime's Python, without Docker.

Lambda's ``/var/task`` is read-only, so a module shipped without its ``.pyc`` is compiled from
source at every cold start. Bytecode belongs to one Python minor version (its magic number) and
the host's Python is rarely the runtime's, so the bundle is compiled by Pyodide (CPython built for
WebAssembly) of the runtime's version: the npm package ``pyodide`` in ``node_modules``, run by the
Node that the CDK already needs (``pyodide_compile.mjs`` beside this module).

* **Unchecked-hash ``.pyc`` (PEP 552).** The import system uses them without reading the source or
  comparing modification times (which zipping and unzipping do not keep).
* **A content-addressed cache.** A ``.pyc`` depends only on its source's bytes, the file's path on
  Lambda (``/var/task/…``, its ``co_filename``) and the compiler, so it is kept under the hash of
  these (``pyc/<compiler>/<hash>.pyc``) and linked into every bundle that holds the same file: a
  change to handler code recompiles the changed files only.
* **Pyodide starts from a memory snapshot** (about 0.4 s instead of 2 s), made on its first use and
  kept in the cache per Pyodide release and compile script. One that fails to load is replaced.

Without a compiler for the target version, nothing is compiled and :attr:`BytecodeReport.warning`
says so; the bundle still builds.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .npm import JSII_NODE, NODE_PACKAGE, find_node, find_package

#: The npm package that compiles the bytecode.
COMPILER_PACKAGE = "pyodide"
#: The Pyodide release to install per target Python (named in the message when none is found).
#: The project pins the same one in package.json.
COMPILER_RELEASES: dict[str, str] = {"3.13": "0.28.3"}
#: Where Lambda puts a function's code: the prefix of each module's ``co_filename``.
TASK_ROOT = "/var/task"
#: The magic number opening a ``.pyc``, per Python version (``importlib.util.MAGIC_NUMBER``).
MAGIC_NUMBERS: dict[str, bytes] = {"3.11": b"\xa7\r\r\n", "3.12": b"\xcb\r\r\n", "3.13": b"\xf3\r\r\n"}
#: ``.pyc`` flags (PEP 552): bit 0 hash-based, bit 1 check the source. Unchecked hash: 0b01.
UNCHECKED_HASH_FLAGS = 0b01
#: The Node script driving Pyodide.
COMPILE_SCRIPT = Path(__file__).with_name("pyodide_compile.mjs")
#: The id of synth's warning when a bundle ships without bytecode (acknowledge it with this id).
NO_BYTECODE_WARNING = "@cdk-serverless-postgres/bundling:noBytecode"
#: Longest a compile run may take (seconds): Pyodide's start plus a few hundred files.
COMPILE_TIMEOUT_SECONDS = 600


def cache_tag(python_version: str) -> str:
    """The tag naming a version's ``.pyc`` files in ``__pycache__``: ``"3.13"`` → ``"cpython-313"``."""
    return "cpython-" + python_version.replace(".", "")


def pyc_path(source: Path, python_version: str) -> Path:
    """Where the import system looks for the bytecode of ``source`` (a ``.py`` path)."""
    return source.parent / "__pycache__" / f"{source.stem}.{cache_tag(python_version)}.pyc"


@dataclass(frozen=True)
class PycHeader:
    """The 16 bytes opening a ``.pyc``."""

    magic: bytes
    flags: int
    #: The source hash (hash-based ``.pyc``) or modification time and size (timestamp ``.pyc``).
    validation: bytes

    @property
    def python_version(self) -> str | None:
        """The Python version whose magic number this is, if known."""
        return next((version for version, magic in MAGIC_NUMBERS.items() if magic == self.magic), None)

    @property
    def unchecked_hash(self) -> bool:
        return self.flags == UNCHECKED_HASH_FLAGS


def read_header(pyc: Path) -> PycHeader:
    with pyc.open("rb") as file:
        data = file.read(16)
    return PycHeader(magic=data[:4], flags=int.from_bytes(data[4:8], "little"), validation=data[8:16])


def python_sources(root: Path) -> list[Path]:
    """Every ``.py`` file under ``root``, relative to it, sorted."""
    return sorted(path.relative_to(root) for path in root.rglob("*.py")
                  if path.is_file() and "__pycache__" not in path.parts)


def sources_without_bytecode(root: Path, python_version: str) -> list[Path]:
    """The ``.py`` files under ``root`` with no unchecked-hash ``.pyc`` of ``python_version`` beside them."""
    missing = []
    for relative in python_sources(root):
        pyc = root / pyc_path(relative, python_version)
        if not pyc.is_file():
            missing.append(relative)
            continue
        header = read_header(pyc)
        if header.magic != MAGIC_NUMBERS.get(python_version) or not header.unchecked_hash:
            missing.append(relative)
    return missing


@dataclass(frozen=True)
class Pyodide:
    """A Pyodide release in ``node_modules``: the compiler of bytecode for its Python version."""

    path: Path
    version: str
    #: Its CPython version, e.g. ``"3.13.2"``.
    python: str
    node: str

    @classmethod
    def at(cls, package: Path, node: str) -> Pyodide:
        """The release installed at ``package``; ``ValueError`` when it does not say its Python version."""
        version = json.loads((package / "package.json").read_text())["version"]
        try:
            python = json.loads((package / "pyodide-lock.json").read_text())["info"]["python"]
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"{package} names no Python version in pyodide-lock.json ({error})") from error
        return cls(path=package, version=version, python=python, node=node)

    @property
    def python_version(self) -> str:
        """``major.minor`` of its Python."""
        return ".".join(self.python.split(".")[:2])

    @cached_property
    def key(self) -> str:
        """Names its cache entries: the release and the compile script (whose choices the bytes follow)."""
        script = hashlib.sha256(COMPILE_SCRIPT.read_bytes() + TASK_ROOT.encode()).hexdigest()[:12]
        return f"pyodide-{self.version}-{script}"


def find_compiler(python_version: str, npm_root: Path) -> tuple[Pyodide | None, str]:
    """The compiler of ``python_version`` bytecode reachable from ``npm_root``, or None and the reason."""
    release = COMPILER_RELEASES.get(python_version)
    install = (f"`npm install --save-dev --save-exact {COMPILER_PACKAGE}@{release}` in the CDK app's directory"
               if release else f"install the {COMPILER_PACKAGE} release built on Python {python_version}")
    package = find_package(npm_root, COMPILER_PACKAGE)
    if package is None:
        pinned = "" if release else f" (and no release is pinned for Python {python_version})"
        return None, (f"no bytecode compiler: npm package {COMPILER_PACKAGE} is not in node_modules of {npm_root} "
                      f"or a parent{pinned}; to ship it, {install}")
    try:
        compiler = Pyodide.at(package, node=find_node(npm_root) or "")
    except (OSError, KeyError, ValueError) as error:
        return None, f"no bytecode compiler: {error}"
    if compiler.python_version != python_version:
        return None, (f"no pinned compiler for Python {python_version}: {package} is {COMPILER_PACKAGE} "
                      f"{compiler.version}, Python {compiler.python}; to ship it, {install}")
    if not compiler.node:
        return None, (f"no bytecode compiler: no Node (none in {JSII_NODE}, no npm package {NODE_PACKAGE} in "
                      f"node_modules of {npm_root} or a parent, none on PATH); to ship it, "
                      f"`npm install --save-dev --save-exact {NODE_PACKAGE}@22` in the CDK app's directory")
    return compiler, ""


@dataclass(frozen=True)
class BytecodeReport:
    """What a bundle holds in bytecode, and what building it compiled."""

    #: The package the bundle was built from (named in the warning).
    package: str
    #: The Python version of the ``.pyc`` shipped; None when none were.
    python_version: str | None
    #: Why no bytecode was shipped.
    reason: str = ""
    #: Files compiled by this build (relative to the bundle); the others were linked from the cache.
    compiled: tuple[str, ...] = ()
    #: ``.pyc`` linked from the cache, compiled by an earlier build.
    linked: int = 0
    #: Files shipped without bytecode: dependency sources the target Python cannot compile.
    source_only: tuple[str, ...] = ()
    #: How Pyodide started ("snapshot", "full", …), or "" when it did not run.
    compiler_start: str = ""

    @property
    def warning(self) -> str | None:
        """What synth should warn about: no bytecode, or files without it. None when every file has it."""
        if self.python_version is None:
            return (f"no bytecode shipped in the {self.package} bundle: {self.reason}. Every module is compiled "
                    "from source at each cold start (Lambda's /var/task is read-only).")
        if self.source_only:
            shown = ", ".join(self.source_only[:5]) + (", …" if len(self.source_only) > 5 else "")
            return (f"{len(self.source_only)} files of the {self.package} bundle have no Python "
                    f"{self.python_version} bytecode (they do not compile for it): {shown}")
        return None


class BytecodeError(RuntimeError):
    """The package's own code does not compile for the target Python, or the compiler failed."""


def add_bytecode(bundle: Path, compiler: Pyodide, cache_dir: Path, *, package: str,
                 log: Callable[[str], None]) -> BytecodeReport:
    """Put an unchecked-hash ``.pyc`` beside every ``.py`` in ``bundle``, from the cache or compiled now.

    :param package: the bundle's own package directory; a file of it that does not compile raises
        :class:`BytecodeError` (Lambda could not import it either). Dependency files that do not
        compile are shipped as source and reported; the failure is cached like a ``.pyc``, so they
        do not start the compiler again.
    """
    version = compiler.python_version
    store = cache_dir / "pyc" / compiler.key
    entries: dict[Path, Path] = {}  # source (relative to bundle) -> cache entry
    for relative in python_sources(bundle):
        shown_as = f"{TASK_ROOT}/{relative.as_posix()}"
        digest = hashlib.sha256(shown_as.encode() + b"\0" + (bundle / relative).read_bytes()).hexdigest()
        entries[relative] = Path(digest[:2]) / f"{digest}.pyc"
    # a file that did not compile is remembered beside its entry (``.error``), so it is not tried again
    known_errors = {relative.as_posix(): (store / entry).with_suffix(".error").read_text()
                    for relative, entry in entries.items() if (store / entry).with_suffix(".error").is_file()}
    missing = [relative for relative, entry in entries.items()
               if not (store / entry).is_file() and relative.as_posix() not in known_errors]
    errors = dict(known_errors)
    outcome: dict[str, object] = {"compiled": [], "errors": [], "start": ""}
    if missing:
        log(f"bundling {package}: compiling {len(missing)} files to Python {version} bytecode "
            f"({COMPILER_PACKAGE} {compiler.version}) ...")
        outcome = _run_compiler(compiler, bundle, store, cache_dir,
                                [(r.as_posix(), f"{TASK_ROOT}/{r.as_posix()}", entries[r].as_posix()) for r in missing])
        for source, message in outcome["errors"]:  # type: ignore[attr-defined]
            errors[source] = message
            _write_atomic((store / entries[Path(source)]).with_suffix(".error"), message)
    own = {source: message for source, message in errors.items() if Path(source).parts[0] == package}
    if own:
        raise BytecodeError("\n".join(f"{source} does not compile on Python {version}: {message}"
                                      for source, message in sorted(own.items())))
    for relative, entry in entries.items():
        if relative.as_posix() in errors:
            continue
        target = bundle / pyc_path(relative, version)
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(store / entry, target)
        except OSError:
            shutil.copy2(store / entry, target)
    compiled = tuple(outcome["compiled"])  # type: ignore[call-overload]
    return BytecodeReport(package=package, python_version=version, compiled=compiled,
                          linked=len(entries) - len(missing) - len(known_errors), source_only=tuple(sorted(errors)),
                          compiler_start=str(outcome["start"]))


def _write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text(text)
    partial.replace(path)


def _run_compiler(compiler: Pyodide, bundle: Path, store: Path, cache_dir: Path,
                  files: list[tuple[str, str, str]]) -> dict[str, object]:
    store.mkdir(parents=True, exist_ok=True)
    snapshot = cache_dir / "compilers" / f"{compiler.key}.snapshot"
    job = json.dumps({"pyodide": str(compiler.path), "bundle": str(bundle), "cache": str(store), "files": files,
                      "snapshot": str(snapshot)})
    command = [compiler.node, str(COMPILE_SCRIPT)]

    def run() -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(command, input=job, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as error:
            raise BytecodeError(f"bytecode compiler timed out after {COMPILE_TIMEOUT_SECONDS} s: "
                                f"{' '.join(command)}") from error

    completed = run()
    if completed.returncode != 0 and snapshot.exists():
        # a snapshot Pyodide cannot start from (some failures end the process): start in full, make a new one
        snapshot.unlink(missing_ok=True)
        completed = run()
    if completed.returncode != 0 or not completed.stdout.strip():
        raise BytecodeError(f"bytecode compiler failed: {' '.join(command)}\n{completed.stderr[-4000:]}")
    outcome: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    expected = cache_tag(compiler.python_version)
    if outcome["cacheTag"] != expected or bytes.fromhex(str(outcome["magic"])) != MAGIC_NUMBERS.get(
            compiler.python_version, bytes.fromhex(str(outcome["magic"]))):
        raise BytecodeError(f"{compiler.path} compiled for {outcome['cacheTag']} (magic {outcome['magic']}), "
                            f"not {expected}")
    return outcome
