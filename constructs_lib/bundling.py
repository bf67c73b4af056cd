"""Docker-free bundling of a Python handler package and its requirements.

The bundle is built on the host with ``pip install --target`` for the Lambda platform
(``--only-binary=:all:`` with manylinux wheels for the target architecture), so no Docker is
needed. Two caches keep repeated synths cheap:

* ``deps/<hash>``: the installed requirements, keyed by the requirements file, the files of every
  local project it names (see below), the target platform, the Python version and the pip
  arguments. A change to handler code alone reuses it.
* ``bundles/<hash>``: dependencies (hard-linked from ``deps``) plus the package source, keyed by
  the dependency hash, the bytecode compiler and every source file. A synth with nothing changed
  runs no pip, copies nothing and compiles nothing.

Every ``.py`` of the bundle, dependencies included, ships with its bytecode for the target Python
(:mod:`constructs_lib.bytecode`: unchecked-hash ``.pyc`` compiled by the matching Pyodide, each
file compiled once and then linked from the cache), since Lambda would otherwise compile every
module at each cold start. Without a compiler for the target version the bundle ships none and
synth warns.

Pip runs in the requirements file's directory, so a relative path in it (``..[postgres]``, a
library beside the handler package in the same repository) is relative to the file, wherever the
synth runs. Each local project it names (a directory path, or a ``name @ file://`` URL) is copied,
without caches and build leftovers, to a scratch directory and installed from there: pip builds a
local project in place, and its ``build/`` and ``*.egg-info`` never land in the user's checkout.
The copied files are what the dependency hash covers, so a change to the project's source installs
again. A nested ``-r``/``-c`` file's text counts in the hash too (a pin changed in ``base.txt``
installs again); local project paths inside a nested file are pip's alone: neither copied nor hashed.

boto3 and botocore are never bundled: the Lambda Python runtime provides them with their own
dependencies, and a requirement that pulls them in has that whole closure removed from the bundle
(:func:`runtime_provided_closure`).
"""
from __future__ import annotations

import csv
import hashlib
import os
import posixpath
import shutil
import subprocess
import sys
import re
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import urlsplit
from urllib.request import url2pathname

from aws_cdk import Annotations, AssetHashType
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .bytecode import (NO_BYTECODE_WARNING, BytecodeReport, Pyodide, add_bytecode, find_compiler,
                       sources_without_bytecode)
from .errors import InvalidPropError

#: Platform tags pip may pick wheels for, per Lambda architecture (Lambda runs Amazon Linux 2023).
PLATFORMS: dict[str, tuple[str, ...]] = {
    lambda_.Architecture.ARM_64.name: ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
    lambda_.Architecture.X86_64.name: ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
}
#: The machine each Lambda architecture reports (``platform_machine`` in dependency markers).
MACHINES: dict[str, str] = {lambda_.Architecture.ARM_64.name: "aarch64", lambda_.Architecture.X86_64.name: "x86_64"}
#: Where the runtime's SDK starts. The Lambda Python runtime provides these and everything they require
#: (jmespath, s3transfer, python-dateutil, six, urllib3): when pip installs them into the bundle, that
#: whole closure is removed, so nothing in the bundle shadows a copy botocore runs with in the runtime.
RUNTIME_SDK = ("boto3", "botocore")
#: What ``deps/<hash>`` holds for the same requirements; part of the hash, so a cache built under an
#: older rule is rebuilt. 2: boto3's whole dependency closure removed, with its files and scripts.
DEPENDENCY_LAYOUT = "2"
#: Folders and files of a local project (a requirement naming a directory) that are neither copied for pip
#: nor hashed: caches, what a build or a synth leaves behind, and (by the rule beside it) every hidden folder
#: (``.git``, ``.venv*``, ``.bundle-cache``, a database's data…). ``build`` and ``dist`` only at the top.
LOCAL_PROJECT_EXCLUDES: tuple[str, ...] = ("__pycache__", "*.pyc", "*.egg-info", "node_modules", "cdk.out")
LOCAL_PROJECT_TOP_EXCLUDES: tuple[str, ...] = ("build", "dist")
#: Source paths (relative to the package) that never go into the bundle. A folder of the user's package
#: named ``local`` is code like any other and ships (the project's dev server lives in ``devtools/``).
DEFAULT_EXCLUDES: tuple[str, ...] = ("__pycache__", "*.pyc", "requirements.txt")
#: Ship bytecode for the target Python (when a compiler for it is found).
DEFAULT_BYTECODE = True


@dataclass
class BundleResult:
    """What one call to :meth:`PythonBundle.build` did."""

    path: Path
    asset_hash: str
    #: The bytecode shipped (or why none), and what this build compiled.
    bytecode: BytecodeReport
    pip_ran: bool = False
    source_copied: bool = False
    seconds: float = 0.0


@dataclass
class PythonBundle:
    """A Lambda code asset built from a Python package and its requirements, without Docker.

    :param source_dir: the package directory; it is copied into the bundle under its own name,
        so handler strings read ``<package>.<module>.<function>``.
    :param requirements_file: runtime requirements to install. Relative paths in it are relative to its
        directory, and the local projects it names are part of the dependency hash (see the module's
        docstring). Default: ``<source_dir>/requirements.txt`` when it exists, otherwise none.
    :param architecture: target Lambda architecture. Default: ARM_64.
    :param python_version: target Python ``major.minor``. Default: ``"3.13"``.
    :param cache_dir: where built dependencies and bundles are kept. Default: ``.bundle-cache``
        beside the package's parent directory (the CDK app's directory).
    :param exclude: glob patterns (matched against each path part) left out of the bundle.
        Default: :data:`DEFAULT_EXCLUDES` (caches, requirements.txt).
    :param bytecode: ship an unchecked-hash ``.pyc`` for ``python_version`` beside every ``.py``.
        It needs the npm package ``pyodide`` of that Python in ``node_modules`` (0.28.x for 3.13);
        without it the bundle ships none and synth warns (:data:`NO_BYTECODE_WARNING`). Default: True.
    :param npm_root: where ``node_modules`` is looked for, there and in its parents as Node resolves.
        Default: the current directory (the CDK app's, under ``cdk synth``).
    :param log: where progress lines go. Default: standard error.
    """

    source_dir: Path
    requirements_file: Path | None = None
    architecture: lambda_.Architecture = field(default_factory=lambda: lambda_.Architecture.ARM_64)
    python_version: str = "3.13"
    cache_dir: Path | None = None
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    bytecode: bool = DEFAULT_BYTECODE
    npm_root: Path | None = None
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))

    def __post_init__(self) -> None:
        self.source_dir = Path(self.source_dir).resolve()
        if not (self.source_dir / "__init__.py").is_file():
            raise InvalidPropError("PythonBundle", "source_dir", str(self.source_dir), "a Python package directory (with __init__.py)")
        #: Read from the jsii object once, here: a build (maybe on start()'s thread) touches no CDK object.
        self.architecture_name: str = self.architecture.name
        if self.architecture_name not in PLATFORMS:
            raise InvalidPropError("PythonBundle", "architecture", self.architecture_name, ", ".join(PLATFORMS))
        if self.requirements_file is None and (self.source_dir / "requirements.txt").is_file():
            self.requirements_file = self.source_dir / "requirements.txt"
        if self.requirements_file is not None:
            self.requirements_file = Path(self.requirements_file).resolve()
            if not self.requirements_file.is_file():
                raise InvalidPropError("PythonBundle", "requirements_file", str(self.requirements_file), "an existing requirements file")
        self.cache_dir = Path(self.cache_dir or self.source_dir.parent / ".bundle-cache").resolve()
        self.npm_root = Path(self.npm_root or Path.cwd()).resolve()
        #: The compiler of ``python_version`` bytecode found under ``npm_root``; None: no bytecode ships.
        self.compiler: Pyodide | None = None
        self._no_bytecode_reason = "switched off (bytecode=False)"
        if self.bytecode:
            self.compiler, self._no_bytecode_reason = find_compiler(self.python_version, self.npm_root)
        self._built: BundleResult | None = None  # functions sharing this bundle reuse one build per synth
        self._background: _Background | None = None  # a build begun by start()
        # one asset object per scope: its functions bind the same asset construct (one Node round trip,
        # one staging) instead of one each; a scope never spans stacks, and an asset may not either
        self._codes: weakref.WeakKeyDictionary[IConstruct, lambda_.Code] = weakref.WeakKeyDictionary()

    # ---- hashing -------------------------------------------------------------------------
    def handler_problem(self, handler: str) -> str | None:
        """Why ``handler`` (``package.module.function``) names nothing in this bundle's package, or None.

        Read from the sources, never imported: the module file must exist under ``source_dir`` and
        define the function at its top level (a ``def``, an assignment, or an import of that name).
        A handler in another package (an entry point of an installed requirement, such as
        ``lambda_src.migrate.handler`` with the handler runtime in ``requirements.txt``) is looked
        up the same way in the built bundle, so naming one builds the bundle (or waits for
        :meth:`start`'s build) there and then.
        """
        import ast

        module, _, name = handler.rpartition(".")
        parts = module.split(".") if module else []
        if not parts or not name:
            return f"the bundle's package is {self.source_dir.name!r}: a handler starts with {self.source_dir.name}."
        root = self.source_dir.parent
        if parts[0] != self.source_dir.name:
            root = self.result().path
            if not (root / parts[0]).is_dir() and not (root / f"{parts[0]}.py").is_file():
                return (f"the bundle's package is {self.source_dir.name!r} and no requirement installs a package "
                        f"{parts[0]!r}: a handler starts with {self.source_dir.name}. or names an installed package")
        base = root.joinpath(*parts)
        path = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
        if path is None:
            return f"no module {module} ({base.relative_to(root)}.py does not exist)"
        try:
            tree = ast.parse(path.read_text(), filename=str(path))
        except (SyntaxError, UnicodeDecodeError) as error:
            return f"{path.name} does not parse ({error})"
        defined: set[str] = set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Assign):
                defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                defined.add(node.target.id)
            elif isinstance(node, ast.ImportFrom):
                defined.update(alias.asname or alias.name for alias in node.names)
        if name not in defined:
            known = ", ".join(sorted(n for n in defined if not n.startswith("_"))[:8]) or "nothing"
            return f"{module} defines no {name!r} (it defines {known})"
        return None

    def _pip_args(self) -> list[str]:
        args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", self.python_version]
        for platform in PLATFORMS[self.architecture_name]:
            args += ["--platform", platform]
        return args

    def dependencies_hash(self) -> str:
        """Hash of everything that decides the installed dependencies."""
        digest = hashlib.sha256(f"layout:{DEPENDENCY_LAYOUT}\0".encode())
        digest.update(" ".join(self._pip_args()).encode())
        if self.requirements_file is not None:
            digest.update(self.requirements_file.read_bytes())
            for nested in nested_files(self.requirements_file):  # -r base.txt, -c constraints.txt: what they say counts
                where = os.path.relpath(nested, self.requirements_file.parent)  # the same in every checkout
                digest.update(f"\0nested:{where}\0".encode() + nested.read_bytes())
            for local in self._local_requirements():
                digest.update(f"\0local:{local.line}:{'dir' if local.path.is_dir() else 'file'}\0".encode())
                for relative in self._local_files(local.path):
                    digest.update(relative.as_posix().encode() + b"\0")
                    digest.update(hashlib.sha256((local.path / relative).read_bytes()).digest())
        return digest.hexdigest()

    def _local_requirements(self) -> list[LocalRequirement]:
        assert self.requirements_file is not None
        return local_requirements(self.requirements_file.read_text(), self.requirements_file.parent)

    def _local_files(self, path: Path) -> list[Path]:
        """The files of a local requirement pip is given (relative to it): a project's files but caches,
        build leftovers, this bundle's own package and its cache; an archive itself (``Path()``)."""
        if not path.is_dir():
            return [Path()]
        skipped = {self.source_dir, self.cache_dir}
        files: list[Path] = []
        for root, dirs, names in os.walk(path):
            here = Path(root)
            top = here == path
            dirs[:] = sorted(name for name in dirs if here / name not in skipped and not name.startswith(".")
                             and not any(fnmatch(name, pattern) for pattern in LOCAL_PROJECT_EXCLUDES)
                             and not (top and name in LOCAL_PROJECT_TOP_EXCLUDES))
            files.extend((here / name).relative_to(path) for name in sorted(names)
                         if not any(fnmatch(name, pattern) for pattern in LOCAL_PROJECT_EXCLUDES))
        return files

    def _source_files(self) -> list[Path]:
        files = []
        for path in sorted(self.source_dir.rglob("*")):
            relative = path.relative_to(self.source_dir)
            if path.is_file() and not self._excluded(relative):
                files.append(relative)
        return files

    def _excluded(self, relative: Path) -> bool:
        return any(fnmatch(part, pattern) for part in relative.parts for pattern in self.exclude)

    def bundle_hash(self, source_files: list[Path] | None = None, dependencies_hash: str | None = None) -> str:
        """Hash of the whole bundle: the dependency hash (computed unless given), the bytecode compiler (or
        none), and every source file's path and bytes."""
        digest = hashlib.sha256((dependencies_hash or self.dependencies_hash()).encode())
        digest.update(b"bytecode:" + (self.compiler.key.encode() if self.compiler else b"none") + b"\0")
        for relative in source_files if source_files is not None else self._source_files():
            digest.update(relative.as_posix().encode() + b"\0")
            digest.update(hashlib.sha256((self.source_dir / relative).read_bytes()).digest())
        return digest.hexdigest()

    # ---- building ------------------------------------------------------------------------
    def start(self) -> PythonBundle:
        """Begin building (or finding) the bundle in a background thread, and return this bundle.

        The build is files, pip and the bytecode compiler; it reads no CDK object (jsii serves one
        thread), so it overlaps whatever the app constructs next; the first :meth:`code` waits for it (and raises
        its error, if it failed). Create and start the bundle before the stacks that don't use it (a
        one-file change compiles for about half a second, hidden behind them). Calling it again, or
        after a build, does nothing. A started build always runs to its end, even when synth fails
        first (the process waits for it), so the cache never holds half a bundle; its error, if no
        function ever uses the bundle, is not shown.
        """
        if self._built is None and self._background is None:
            self._background = _Background(self.build)
        return self

    def result(self) -> BundleResult:
        """This bundle's build: the one :meth:`start` began (waited for), or one run now; then kept."""
        if self._built is None:
            self._built = self._background.result() if self._background is not None else self.build()
        return self._built

    def build(self) -> BundleResult:
        """Build (or reuse) the bundle directory and report what was done."""
        started = time.perf_counter()
        source_files = self._source_files()
        dependencies_hash = self.dependencies_hash()  # reads every local requirement's files: once per build
        asset_hash = self.bundle_hash(source_files, dependencies_hash)
        bundle_dir = self.cache_dir / "bundles" / asset_hash
        if bundle_dir.is_dir():
            return BundleResult(path=bundle_dir, asset_hash=asset_hash, bytecode=self._shipped_bytecode(bundle_dir))
        deps_dir, pip_ran = self._dependencies(dependencies_hash)
        self.log(f"bundling {self.source_dir.name}: copying {len(source_files)} source files")
        staging = Path(tempfile.mkdtemp(prefix="bundle-", dir=self.cache_dir))
        try:
            _link_tree(deps_dir, staging)
            for relative in source_files:
                target = staging / self.source_dir.name / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.source_dir / relative, target)
            bytecode = BytecodeReport(package=self.source_dir.name, python_version=None,
                                      reason=self._no_bytecode_reason)
            if self.compiler is not None:
                bytecode = add_bytecode(staging, self.compiler, self.cache_dir, package=self.source_dir.name,
                                        log=self.log)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _publish(staging, bundle_dir)
        result = BundleResult(path=bundle_dir, asset_hash=asset_hash, bytecode=bytecode, pip_ran=pip_ran,
                              source_copied=True)
        result.seconds = time.perf_counter() - started
        self.log(f"bundling {self.source_dir.name}: done in {result.seconds:.1f}s -> {bundle_dir}")
        return result

    def _dependencies(self, dependencies_hash: str) -> tuple[Path, bool]:
        deps_dir = self.cache_dir / "deps" / dependencies_hash
        if deps_dir.is_dir():
            return deps_dir, False
        (self.cache_dir / "deps").mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="deps-", dir=self.cache_dir))
        if self.requirements_file is not None:
            self.log(f"bundling {self.source_dir.name}: pip install -r {self.requirements_file.name} "
                     f"for {self.architecture_name} / Python {self.python_version} ...")
            scratch = Path(tempfile.mkdtemp(prefix="local-", dir=self.cache_dir))
            try:
                requirements = self._requirements_for_pip(scratch)
                command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--no-compile", "--target", str(staging), *self._pip_args(), "-r", str(requirements)]
                # in the file's directory: pip reads a relative path in a requirements file from the current one
                completed = subprocess.run(command, capture_output=True, text=True, cwd=self.requirements_file.parent)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            if completed.returncode != 0:
                shutil.rmtree(staging, ignore_errors=True)
                raise RuntimeError(f"bundling failed: {' '.join(command)}\n{completed.stderr}")
            self._remove_runtime_provided(staging)
        _publish(staging, deps_dir)
        return deps_dir, True

    def _requirements_for_pip(self, scratch: Path) -> Path:
        """The requirements file pip is given: the user's, or, when it names local projects, a copy in
        ``scratch`` naming a copy of each project there (the files the hash covers), nested files made absolute."""
        assert self.requirements_file is not None
        locals_ = self._local_requirements()
        if not locals_:
            return self.requirements_file
        lines = self.requirements_file.read_text().splitlines()
        for number, local in enumerate(locals_):
            if local.path.is_dir():
                copy = scratch / str(number) / local.path.name
                for relative in self._local_files(local.path):
                    (copy / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(local.path / relative, copy / relative)
            else:
                copy = local.path
            lines[local.line] = local.line_for(copy)
        for index, line in enumerate(lines):
            lines[index] = _absolute_nested_file(line, self.requirements_file.parent)
        rewritten = scratch / "requirements.txt"
        rewritten.write_text("\n".join(lines) + "\n")
        return rewritten

    def _remove_runtime_provided(self, target: Path) -> None:
        """Remove boto3's dependency closure from freshly installed requirements, and say what went."""
        distributions = installed_distributions(target)
        environment = marker_environment(self.python_version, self.architecture_name)
        closure = runtime_provided_closure(distributions, environment)
        if not closure:
            return
        for name in sorted(closure):
            remove_distribution(target, distributions[name])
        self.log(f"bundling {self.source_dir.name}: left out what the Lambda runtime provides: {', '.join(sorted(closure))}")
        for name, distribution in sorted(distributions.items()):
            served = sorted(required for required in _requirements(distribution, environment) if required in closure)
            if name not in closure and served:
                self.log(f"bundling {self.source_dir.name}: {name} will import the runtime's {', '.join(served)}")

    def _shipped_bytecode(self, bundle_dir: Path) -> BytecodeReport:
        """What an existing bundle holds: bytecode for every file but those that did not compile."""
        package = self.source_dir.name
        if self.compiler is None:
            return BytecodeReport(package=package, python_version=None, reason=self._no_bytecode_reason)
        missing = sources_without_bytecode(bundle_dir, self.python_version)
        return BytecodeReport(package=package, python_version=self.python_version,
                              source_only=tuple(path.as_posix() for path in missing))

    def code(self, scope: IConstruct | None = None) -> lambda_.Code:
        """A Lambda code asset for this bundle, hashed by its contents (no directory fingerprinting).

        The first call builds (or finds) the bundle; later calls on the same object reuse that result.
        A bundle shipping without bytecode (when ``bytecode`` is on) gets a warning on ``scope``.

        :param scope: the construct the functions using the code are created in. Calls with the same
            scope get the same code object, so its functions share one asset construct. Default: a
            new code object on every call.
        """
        if scope is not None and scope in self._codes:
            return self._codes[scope]
        result = self.result()
        code = lambda_.Code.from_asset(str(result.path), asset_hash=result.asset_hash,
                                       asset_hash_type=AssetHashType.CUSTOM)
        if scope is not None:
            self._codes[scope] = code
            if self.bytecode and result.bytecode.warning:
                Annotations.of(scope).add_warning_v2(NO_BYTECODE_WARNING, result.bytecode.warning)
        return code


#: pip's extras after a path: ``..[postgres]``.
_PATH_EXTRAS = re.compile(r"^(.+?)(\[[^\]]+\])?$")
#: A comment in a requirements file: ``#`` at the start of a line or after a space.
_COMMENT = re.compile(r"(^|\s)#.*$")
#: A nested requirements or constraints file: ``-r x``, ``-rx``, ``--requirement=x``, ``-c x``…
_NESTED_FILE = re.compile(r"^(-r|-c|--requirement|--constraint)(\s*=?\s*)(\S+)(.*)$")
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")


@dataclass(frozen=True)
class LocalRequirement:
    """A line of a requirements file naming a local project directory or archive."""

    #: The line's index in the file.
    line: int
    #: The project (or archive), resolved against the requirements file's directory.
    path: Path
    #: What precedes the location (``name[extras] @ `` for a URL) and what follows it (extras, markers).
    before: str
    after: str
    #: The location is a ``file:`` URL (else a path).
    url: bool

    def line_for(self, path: Path) -> str:
        """This line with ``path`` (absolute) in place of the location."""
        return f"{self.before}{path.as_uri() if self.url else path}{self.after}"


def local_requirements(text: str, base: Path) -> list[LocalRequirement]:
    """The lines of a requirements file's ``text`` that name a local project or archive, as pip reads them:
    a path (with a separator or starting with ``.``, relative to ``base``) to a directory with a
    ``pyproject.toml`` or ``setup.py`` or to an archive, or a ``file:`` URL, bare or after ``name @``."""
    found: list[LocalRequirement] = []
    for index, raw in enumerate(text.splitlines()):
        line = _without_comment(raw)
        if not line or line.startswith("-"):
            continue
        before, location, after, url = "", line, "", False
        if "@" in line and not line.startswith((".", "/", "file:")):
            name, _, rest = line.partition("@")
            rest = rest.strip()
            if not rest.startswith("file:"):
                continue
            location, separator, marker = rest.partition(" ;")
            before, after, url = f"{name.strip()} @ ", f"{separator}{marker}", True
        elif line.startswith("file:"):
            location, separator, marker = line.partition(" ;")
            after, url = f"{separator}{marker}", True
        else:
            location, separator, marker = line.partition(";")
            location = location.strip()
            match = _PATH_EXTRAS.match(location)
            assert match is not None
            location, extras = match.group(1), match.group(2) or ""
            after = f"{extras}{' ;' if separator else ''}{marker}"
            if os.sep not in location and not location.startswith("."):
                continue
        if url:
            location, _, fragment = location.partition("#")
            after = (f"#{fragment}" if fragment else "") + after
            path = Path(url2pathname(urlsplit(location).path))
        else:
            path = Path(location)
        path = (base / path).resolve()
        if (path.is_dir() and ((path / "pyproject.toml").is_file() or (path / "setup.py").is_file())) or (
                path.is_file() and path.name.endswith(_ARCHIVES)):
            found.append(LocalRequirement(line=index, path=path, before=before, after=after, url=url))
    return found


def nested_files(requirements: Path) -> list[Path]:
    """The requirements and constraints files ``requirements`` names (``-r``, ``-c``), and theirs, in the
    order pip reads them; a path is relative to the file naming it, a URL is left to pip."""
    found: list[Path] = []
    pending = [requirements.resolve()]
    while pending:
        current = pending.pop(0)
        for raw in current.read_text().splitlines():
            match = _NESTED_FILE.match(_without_comment(raw))
            if match is None or "://" in match.group(3):
                continue
            nested = (current.parent / match.group(3)).resolve()
            if nested.is_file() and nested not in found and nested != requirements.resolve():
                found.append(nested)
                pending.append(nested)
    return found


def _without_comment(line: str) -> str:
    """A requirements file's ``line`` without its comment (``#`` at the start or after a space), stripped."""
    return _COMMENT.sub("", line).strip()


def _absolute_nested_file(line: str, base: Path) -> str:
    """``line`` with a nested requirements or constraints file's path made absolute (against ``base``)."""
    match = _NESTED_FILE.match(line.strip())
    if match is None or "://" in match.group(3):
        return line
    option, separator, path, rest = match.groups()
    return f"{option}{separator or ' '}{(base / path).resolve()}{rest}"


class _Background:
    """One call of ``work`` on a thread of its own; :meth:`result` waits, then returns or raises."""

    def __init__(self, work: Callable[[], BundleResult]) -> None:
        self._work = work
        self._result: BundleResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="python-bundle", daemon=False)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._work()
        except BaseException as error:  # handed to the caller of result()
            self._error = error

    def result(self) -> BundleResult:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


@dataclass(frozen=True)
class InstalledDistribution:
    """One distribution pip installed into a target directory, read from its ``.dist-info``."""

    #: The normalized name (PEP 503): ``python-dateutil``.
    name: str
    dist_info: Path
    #: Its ``Requires-Dist`` lines, markers not yet evaluated.
    requires: tuple[Requirement, ...]


def installed_distributions(target: Path) -> dict[str, InstalledDistribution]:
    """The distributions installed in ``target``, by normalized name, from each ``*.dist-info/METADATA``."""
    found: dict[str, InstalledDistribution] = {}
    for dist_info in sorted(target.glob("*.dist-info")):
        metadata = dist_info / "METADATA"
        if not metadata.is_file():
            continue
        name, requires = None, []
        for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line:
                break  # the headers end at the first empty line; the description follows
            key, _, value = line.partition(":")
            if key == "Name":
                name = canonicalize_name(value.strip())
            elif key == "Requires-Dist":
                try:
                    requires.append(Requirement(value.strip()))
                except InvalidRequirement:
                    continue  # pip installed it, so pip read it; a line we cannot read links nothing
        if name is not None:
            found[name] = InstalledDistribution(name=name, dist_info=dist_info, requires=tuple(requires))
    return found


def marker_environment(python_version: str, architecture_name: str) -> dict[str, str]:
    """The values dependency markers are evaluated against on the Lambda Python runtime (CPython, Linux),
    for the Lambda architecture named ``architecture_name`` (``ARM_64``, ``X86_64``)."""
    return {"implementation_name": "cpython", "implementation_version": f"{python_version}.0", "os_name": "posix",
            "platform_machine": MACHINES[architecture_name], "platform_python_implementation": "CPython",
            "platform_release": "", "platform_system": "Linux", "platform_version": "",
            "python_full_version": f"{python_version}.0", "python_version": python_version, "sys_platform": "linux"}


def _requirements(distribution: InstalledDistribution, environment: dict[str, str],
                  extras: frozenset[str] = frozenset()) -> dict[str, frozenset[str]]:
    """What ``distribution`` (installed with ``extras``) requires on the target: name -> extras asked for."""
    required: dict[str, frozenset[str]] = {}
    for requirement in distribution.requires:
        marker = requirement.marker
        if marker is None or any(marker.evaluate({**environment, "extra": extra}) for extra in {"", *extras}):
            name = canonicalize_name(requirement.name)
            required[name] = required.get(name, frozenset()) | frozenset(requirement.extras)
    return required


def runtime_provided_closure(distributions: dict[str, InstalledDistribution], environment: dict[str, str],
                             roots: tuple[str, ...] = RUNTIME_SDK) -> set[str]:
    """The installed distributions the runtime provides: ``roots`` and everything they require, transitively.

    Requirements are followed as the target evaluates their markers (``environment``, see
    :func:`marker_environment`). The roots are followed without extras, as the runtime installs them, and an
    extra only where a requirement inside the closure asks for it: the awscrt a user's ``boto3[crt]`` brings
    is not the runtime's and ships. Nothing is followed from a distribution that is not installed, so
    without boto3 or botocore installed the closure is empty: a urllib3 that only the user's ``requests``
    pulled in is the user's and ships.

    A member of the closure that something else in the bundle also requires is removed all the same: the
    runtime's copy serves both, whereas a bundled copy would shadow the one the runtime's botocore was
    released with (the bundle comes first on ``sys.path``). A bundle cannot keep its own urllib3 and use the
    runtime's botocore safely, and it never ships boto3 or botocore, so there is no switch to keep one.
    """
    closure: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(root, frozenset[str]()) for root in roots]
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen or name not in distributions:
            continue
        seen.add((name, extras))
        closure.add(name)
        pending.extend(_requirements(distributions[name], environment, extras).items())
    return closure


def remove_distribution(target: Path, distribution: InstalledDistribution) -> None:
    """Remove every file ``distribution``'s RECORD lists under ``target`` (scripts in ``bin/`` too), its
    ``.dist-info``, and the folders left empty."""
    record = distribution.dist_info / "RECORD"
    if not record.is_file():
        raise RuntimeError(f"bundling: {distribution.dist_info.name} has no RECORD, so its files are unknown")
    folders: set[Path] = set()
    for row in csv.reader(record.read_text(encoding="utf-8").splitlines()):
        path = _installed_path(target, row[0]) if row else None
        if path is not None and (path.is_file() or path.is_symlink()):
            path.unlink()
            folders.update(parent for parent in path.parents if parent.is_relative_to(target) and parent != target)
    shutil.rmtree(distribution.dist_info, ignore_errors=True)
    for folder in sorted(folders, key=lambda folder: len(folder.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _installed_path(target: Path, recorded: str) -> Path | None:
    """Where a RECORD path landed under ``pip install --target``, or None if outside ``target``.

    RECORD paths are relative to site-packages, ``<home>/lib/python`` in the scheme pip installs with
    before it moves site-packages' contents, and the home's other folders (``bin/``), into the target:
    ``../../bin/jp.py`` is ``bin/jp.py``.
    """
    parts = PurePosixPath(posixpath.normpath(posixpath.join("lib/python", recorded))).parts
    if parts[:2] == ("lib", "python"):
        parts = parts[2:]
    if not parts or parts[0] in ("..", "/") or PurePosixPath(recorded).is_absolute():
        return None
    return target.joinpath(*parts)


def _link_tree(source: Path, target: Path) -> None:
    """Recreate ``source`` under ``target`` with hard links (copies where links are impossible)."""
    for root, _dirs, files in os.walk(source):
        destination = target / Path(root).relative_to(source)
        destination.mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                os.link(Path(root) / name, destination / name)
            except OSError:
                shutil.copy2(Path(root) / name, destination / name)


def _publish(staging: Path, final: Path) -> None:
    """Move a finished directory into place atomically; a concurrent builder's copy wins ties."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(final)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not final.is_dir():
            raise
