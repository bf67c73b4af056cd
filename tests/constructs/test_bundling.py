"""PythonBundle: Docker-free, cached, shared, built for the target architecture and Python version."""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk.assertions import Template

from constructs_lib import InvalidPropError, PythonBundle, ServerlessFunction
from constructs_lib.bundling import (NO_BYTECODE_WARNING, installed_distributions, marker_environment,
                                     remove_distribution, runtime_provided_closure)
from constructs_lib.bytecode import (COMPILER_RELEASES, MAGIC_NUMBERS, UNCHECKED_HASH_FLAGS, BytecodeError, add_bytecode,
                                     find_compiler, pyc_path, python_sources, read_header, sources_without_bytecode)
from tests.cdk_helpers import PROJECT, new_stack

REQUIREMENTS = PROJECT / "lambda_src" / "requirements.txt"
#: ELF e_machine values: the architecture a shared object was compiled for.
ELF_MACHINE = {b"\xb7\x00": "aarch64", b"\x3e\x00": "x86_64"}


def elf_machines(root: Path) -> set[str]:
    machines = set()
    for shared_object in root.rglob("*.so*"):
        header = shared_object.read_bytes()[:20]
        if header[:4] == b"\x7fELF":
            machines.add(ELF_MACHINE.get(header[18:20], header[18:20].hex()))
    return machines


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src") / "handlers"
    (root / "local").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (root / "local" / "settings.py").write_text("# the user's own code, in a folder named local\n")
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bundle-cache")


def bundle(package: Path, cache: Path, **props) -> PythonBundle:  # type: ignore[no-untyped-def]
    lines: list[str] = props.pop("lines", [])
    props.setdefault("requirements_file", REQUIREMENTS)
    return PythonBundle(source_dir=package, cache_dir=cache, log=lines.append, npm_root=PROJECT, **props)


def warnings_of(stack: Stack) -> list[str]:
    """The warnings synth reports on ``stack`` (what `cdk synth` prints)."""
    artifact = stack.node.root.synth().get_stack_artifact(stack.artifact_id)
    return [str(message.entry.data) for message in artifact.messages if message.level.name == "WARNING"]


class TestCache:
    def test_cold_build_runs_pip_and_reports_progress(self, package: Path, cache: Path) -> None:
        # GIVEN an empty cache WHEN the bundle is built
        lines: list[str] = []
        result = bundle(package, cache, lines=lines).build()
        # THEN pip ran, the source was copied and progress was printed
        assert result.pip_ran and result.source_copied
        assert any("pip install" in line for line in lines) and any("done in" in line for line in lines)

    def test_second_build_with_nothing_changed_runs_no_pip_and_copies_nothing(self, package: Path, cache: Path) -> None:
        first = bundle(package, cache).build()
        # WHEN built again with nothing changed
        lines: list[str] = []
        second = bundle(package, cache, lines=lines).build()
        # THEN the same bundle is reused silently
        assert (second.path, second.asset_hash) == (first.path, first.asset_hash)
        assert not second.pip_ran and not second.source_copied and lines == []

    def test_handler_change_reuses_dependencies(self, package: Path, cache: Path) -> None:
        before = bundle(package, cache).build()
        # GIVEN a change to handler code only
        (package / "app.py").write_text("def handler(event, context):\n    return 2\n")
        after = bundle(package, cache).build()
        # THEN a new bundle with the new source, but no pip
        assert after.asset_hash != before.asset_hash
        assert not after.pip_ran and after.source_copied
        assert "return 2" in (after.path / "handlers" / "app.py").read_text()

    def test_requirements_change_changes_dependency_hash(self, package: Path, cache: Path, tmp_path: Path) -> None:
        other = tmp_path / "requirements.txt"
        other.write_text(REQUIREMENTS.read_text() + "\n# a comment changes the hash\n")
        assert (PythonBundle(source_dir=package, requirements_file=other, cache_dir=cache).dependencies_hash()
                != bundle(package, cache).dependencies_hash())


class TestContents:
    def test_arm64_bundle_has_package_and_aarch64_dependencies_but_no_boto(self, package: Path, cache: Path) -> None:
        result = bundle(package, cache).build()
        names = {path.name for path in result.path.iterdir()}
        assert "handlers" in names and "psycopg" in names and "psycopg_binary" in names
        assert not {"boto3", "botocore"} & names
        assert elf_machines(result.path) == {"aarch64"}
        # a folder of the user's package named local is the user's code: it ships
        assert (result.path / "handlers" / "local" / "settings.py").is_file()

    def test_x86_64_bundle_gets_x86_64_wheels(self, package: Path, cache: Path) -> None:
        result = bundle(package, cache, architecture=lambda_.Architecture.X86_64).build()
        assert elf_machines(result.path) == {"x86_64"}
        assert result.asset_hash != bundle(package, cache).build().asset_hash


#: boto3 and what it requires on Python 3.13, as installed files: the Lambda runtime provides all of them.
BOTO3_CLOSURE_FILES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3", "bin/jp.py")


def build_requirements(tmp_path_factory: pytest.TempPathFactory, package: Path, text: str,
                       lines: list[str] | None = None) -> Path:
    """The installed bundle of ``text`` as requirements (a real pip install; no bytecode: what is installed counts)."""
    directory = tmp_path_factory.mktemp("requirements")
    (directory / "requirements.txt").write_text(text)
    log = lines.append if lines is not None else (lambda _line: None)
    return PythonBundle(source_dir=package, requirements_file=directory / "requirements.txt",
                        cache_dir=directory / "cache", bytecode=False, log=log).build().path


def distributions_in(root: Path) -> set[str]:
    return {path.name.split("-")[0].lower() for path in root.glob("*.dist-info")}


@pytest.mark.slow
class TestRuntimeProvided:
    """Only boto3's own dependency closure leaves the bundle, and all of it (files, scripts, metadata)."""

    def test_boto3s_whole_closure_is_left_out_and_an_unrelated_requirement_ships(
            self, package: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
        # GIVEN requirements with boto3 and an unrelated package WHEN bundled
        boto3_and_attrs = build_requirements(tmp_path_factory, package, "boto3==1.44.5\nattrs==26.1.0\n")
        # THEN nothing of boto3's closure is left: no urllib3 to shadow the runtime's, no six, no dateutil, no jp.py
        assert [name for name in BOTO3_CLOSURE_FILES if (boto3_and_attrs / name).exists()] == []
        assert not (boto3_and_attrs / "bin").exists()
        # AND the unrelated package ships whole, with its metadata
        assert distributions_in(boto3_and_attrs) == {"attrs"}
        assert (boto3_and_attrs / "attr" / "__init__.py").is_file() and (boto3_and_attrs / "attrs" / "__init__.py").is_file()

    def test_a_closure_member_another_requirement_needs_is_left_out_too_and_the_log_says_so(
            self, package: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
        # GIVEN boto3 and requests, which needs urllib3 too
        lines: list[str] = []
        root = build_requirements(tmp_path_factory, package, "boto3==1.44.5\nrequests==2.34.2\n", lines)
        # THEN urllib3 is left out all the same (the runtime's copy serves both), and the log names the choice
        assert not (root / "urllib3").exists() and not (root / "bin" / "jp.py").exists()
        assert distributions_in(root) == {"requests", "idna", "certifi", "charset_normalizer"}
        assert (root / "bin" / "normalizer").is_file()  # the kept distributions keep their scripts
        assert any("left out what the Lambda runtime provides: boto3, botocore, jmespath, python-dateutil, "
                   "s3transfer, six, urllib3" in line for line in lines)
        assert any("requests will import the runtime's urllib3" in line for line in lines)

    def test_without_boto3_a_package_the_runtime_also_has_is_the_users_and_ships(
            self, package: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
        # GIVEN jmespath asked for on its own (nothing pulls boto3 or botocore in)
        root = build_requirements(tmp_path_factory, package, "jmespath==1.1.0\n")
        # THEN it ships, with its script: only boto3's closure is the runtime's to provide
        assert distributions_in(root) == {"jmespath"}
        assert (root / "jmespath" / "__init__.py").is_file() and (root / "bin" / "jp.py").is_file()


def fake_distribution(target: Path, name: str, requires: list[str], files: dict[str, str]) -> None:
    """A real ``.dist-info`` as pip writes it (METADATA, RECORD), and the files RECORD lists."""
    dist_info = target / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\n"
                                        + "".join(f"Requires-Dist: {line}\n" for line in requires)
                                        + "\nRequires-Dist: users-pkg\n")  # in the description: no requirement
    for recorded, installed in files.items():
        (target / installed).parent.mkdir(parents=True, exist_ok=True)
        (target / installed).write_text("# " + recorded + "\n")
    rows = [*files, f"{dist_info.name}/METADATA", f"{dist_info.name}/RECORD"]
    (dist_info / "RECORD").write_text("".join(f"{row},,\n" for row in rows))


class TestRuntimeProvidedClosure:
    """How the closure is read from the installed metadata (without pip: what each rule decides)."""

    @pytest.fixture()
    def installed(self, tmp_path: Path) -> Path:
        fake_distribution(tmp_path, "boto3", ["botocore>=1", "awscrt ; extra == 'crt'"], {"boto3/__init__.py": "boto3/__init__.py"})
        fake_distribution(tmp_path, "botocore", ["urllib3", "legacy-shim ; python_version < '3.12'",
                                                 "arm-helper ; platform_machine == 'aarch64'"],
                          {"botocore/__init__.py": "botocore/__init__.py", "botocore/data/x.json": "botocore/data/x.json"})
        fake_distribution(tmp_path, "urllib3", [], {"urllib3/__init__.py": "urllib3/__init__.py",
                                                    "../../bin/urllib3-tool": "bin/urllib3-tool"})
        fake_distribution(tmp_path, "legacy-shim", [], {"legacy_shim.py": "legacy_shim.py"})
        fake_distribution(tmp_path, "arm-helper", [], {"arm_helper.py": "arm_helper.py"})
        fake_distribution(tmp_path, "awscrt", [], {"awscrt/__init__.py": "awscrt/__init__.py"})
        fake_distribution(tmp_path, "users-pkg", ["boto3[crt]", "Legacy_Shim"], {"users_pkg.py": "users_pkg.py",
                                                                               "../../bin/users-tool": "bin/users-tool"})
        return tmp_path

    def closure(self, installed: Path, python_version: str = "3.13",
                architecture: lambda_.Architecture = lambda_.Architecture.ARM_64) -> set[str]:
        return runtime_provided_closure(installed_distributions(installed), marker_environment(python_version, architecture.name))

    def test_markers_are_evaluated_for_the_target_python_and_architecture(self, installed: Path) -> None:
        # GIVEN botocore's shim for Pythons before 3.12 and a helper for aarch64 only
        # THEN a 3.13 arm64 target's closure has the helper and not the shim, a 3.11 x86_64 one the reverse
        assert self.closure(installed) == {"boto3", "botocore", "urllib3", "arm-helper"}
        assert self.closure(installed, "3.11", lambda_.Architecture.X86_64) == {"boto3", "botocore", "urllib3", "legacy-shim"}

    def test_an_extra_the_user_asks_for_is_not_the_runtimes(self, installed: Path) -> None:
        # GIVEN the user's package asks for boto3[crt], which brings awscrt
        # THEN awscrt stays out of the closure: the runtime's boto3 comes without extras
        assert "awscrt" not in self.closure(installed)

    def test_an_extra_asked_for_inside_the_closure_is_followed(self, tmp_path: Path) -> None:
        # GIVEN botocore itself requires urllib3 with an extra
        fake_distribution(tmp_path, "botocore", ["urllib3[socks]"], {"botocore/__init__.py": "botocore/__init__.py"})
        fake_distribution(tmp_path, "urllib3", ["pysocks ; extra == 'socks'"], {"urllib3/__init__.py": "urllib3/__init__.py"})
        fake_distribution(tmp_path, "pysocks", [], {"socks.py": "socks.py"})
        # THEN what the extra brings is in the closure
        assert self.closure(tmp_path) == {"botocore", "urllib3", "pysocks"}

    def test_removal_takes_every_recorded_file_scripts_included_and_leaves_the_rest(self, installed: Path) -> None:
        distributions = installed_distributions(installed)
        # WHEN botocore and urllib3 are removed
        remove_distribution(installed, distributions["botocore"])
        remove_distribution(installed, distributions["urllib3"])
        # THEN their files, their script in bin/, their metadata and the folders left empty are gone
        for gone in ("botocore", "urllib3", "bin/urllib3-tool", "botocore-1.0.dist-info", "urllib3-1.0.dist-info"):
            assert not (installed / gone).exists(), gone
        # AND another distribution's files and script stay
        assert (installed / "users_pkg.py").is_file() and (installed / "bin" / "users-tool").is_file()
        assert set(installed_distributions(installed)) == {"boto3", "legacy-shim", "arm-helper", "awscrt", "users-pkg"}

    def test_a_recorded_path_outside_the_target_is_never_removed(self, tmp_path: Path) -> None:
        # GIVEN a RECORD naming a file beside the target, not in it
        outside = tmp_path / "keep.txt"
        outside.write_text("not the bundle's")
        target = tmp_path / "target"
        fake_distribution(target, "urllib3", [], {"urllib3/__init__.py": "urllib3/__init__.py"})
        record = next(target.glob("*.dist-info")) / "RECORD"
        record.write_text(record.read_text() + "../../../keep.txt,,\n" + f"{outside},,\n")
        # WHEN removed THEN the file outside stays
        remove_distribution(target, installed_distributions(target)["urllib3"])
        assert outside.is_file() and not (target / "urllib3").exists()


class TestBytecode:
    def test_every_source_ships_with_unchecked_hash_python_313_bytecode(self, package: Path, cache: Path) -> None:
        # GIVEN the default target, Python 3.13 WHEN the bundle is built
        result = bundle(package, cache).build()
        # THEN every .py, the package's and its dependencies', has its cpython-313 .pyc, unchecked-hash
        sources = python_sources(result.path)
        assert Path("handlers/app.py") in sources and Path("psycopg/connection.py") in sources
        assert sources_without_bytecode(result.path, "3.13") == []
        header = read_header(result.path / pyc_path(Path("handlers/app.py"), "3.13"))
        assert (header.magic, header.flags) == (MAGIC_NUMBERS["3.13"], UNCHECKED_HASH_FLAGS)
        assert result.bytecode.python_version == "3.13" and result.bytecode.warning is None
        # and no other Python's bytecode
        assert {path.name.split(".")[-2] for path in result.path.rglob("*.pyc")} == {"cpython-313"}

    def test_nothing_changed_compiles_nothing(self, package: Path, cache: Path) -> None:
        bundle(package, cache).build()
        # WHEN built again with nothing changed THEN the compiler does not even start
        again = bundle(package, cache).build()
        assert again.bytecode.compiled == () and again.bytecode.compiler_start == ""
        assert again.bytecode.python_version == "3.13"

    def test_handler_change_recompiles_only_the_changed_file(self, package: Path, cache: Path) -> None:
        bundle(package, cache).build()
        # GIVEN one handler file changed
        (package / "app.py").write_text("def handler(event, context):\n    return 3\n")
        lines: list[str] = []
        result = bundle(package, cache, lines=lines).build()
        # THEN only that file is compiled; every other .pyc is linked from the cache
        assert result.bytecode.compiled == ("handlers/app.py",)
        assert result.bytecode.linked == len(python_sources(result.path)) - 1
        assert any("compiling 1 files to Python 3.13 bytecode" in line for line in lines)
        assert sources_without_bytecode(result.path, "3.13") == []

    def test_other_architecture_reuses_the_compiled_files(self, package: Path, cache: Path) -> None:
        bundle(package, cache).build()
        # WHEN the x86_64 bundle is built (other wheels, but the same .py files)
        result = bundle(package, cache, architecture=lambda_.Architecture.X86_64).build()
        # THEN nothing is compiled again
        assert result.bytecode.compiled == () and sources_without_bytecode(result.path, "3.13") == []

    def test_own_code_that_does_not_compile_fails_the_build(self, tmp_path: Path, cache: Path) -> None:
        # GIVEN a handler with a syntax error (Lambda could not import it either)
        broken = tmp_path / "broken"
        broken.mkdir()
        (broken / "__init__.py").write_text("")
        (broken / "app.py").write_text("def handler(event, context:\n    return 1\n")
        # WHEN bundled THEN synth stops, naming the file and the Python version
        with pytest.raises(BytecodeError, match=r"(?s)broken/app.py does not compile on Python 3.13: .*SyntaxError: .(.). was never closed"):
            PythonBundle(source_dir=broken, requirements_file=None, cache_dir=cache, npm_root=PROJECT,
                         log=lambda _line: None).build()
        assert not list((cache / "bundles").glob("bundle-*")) and not list(cache.glob("bundle-*"))

    def test_dependency_file_that_does_not_compile_ships_as_source(self, tmp_path: Path, cache: Path) -> None:
        # GIVEN a bundle whose dependency holds a file that is not Python 3.13 (a Python 2 leftover)
        root = tmp_path / "bundle"
        for relative, text in {"handlers/__init__.py": "", "olddep/__init__.py": "", "olddep/py2.py": "print 'hi'\n"}.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text)
        compiler, _ = find_compiler("3.13", PROJECT)
        assert compiler is not None
        # WHEN its bytecode is added
        report = add_bytecode(root, compiler, cache, package="handlers", log=lambda _line: None)
        # THEN that file stays source only, the others get bytecode, and synth is told which
        assert report.source_only == ("olddep/py2.py",)
        assert sources_without_bytecode(root, "3.13") == [Path("olddep/py2.py")]
        assert report.warning is not None and "1 files of the handlers bundle have no Python 3.13 bytecode" in report.warning
        # WHEN the same files are bundled again THEN that file is not tried again: the compiler does not start
        shutil.rmtree(root / "olddep" / "__pycache__")
        shutil.rmtree(root / "handlers" / "__pycache__")
        again = add_bytecode(root, compiler, cache, package="handlers", log=lambda _line: None)
        assert (again.compiler_start, again.compiled, again.source_only, again.linked) == ("", (), ("olddep/py2.py",), 2)

    def test_target_without_a_pinned_compiler_ships_no_bytecode_and_synth_warns(self, package: Path, cache: Path) -> None:
        # GIVEN a Python 3.12 target, while node_modules/pyodide is CPython 3.13
        shared = bundle(package, cache, python_version="3.12", requirements_file=None)
        # WHEN the bundle is built and used by a function
        result = shared.build()
        stack = new_stack()
        ServerlessFunction(stack, "Fn", code=shared, handler="handlers.app.handler", runtime=lambda_.Runtime.PYTHON_3_12)
        # THEN no .pyc ships, and synth says so, and why, instead of skipping silently
        assert not list(result.path.rglob("*.pyc")) and result.bytecode.python_version is None
        warning, = warnings_of(stack)
        assert warning.startswith("no bytecode shipped in the handlers bundle: no pinned compiler for Python 3.12:")
        assert "is pyodide 0.28.3, Python 3.13.2" in warning and NO_BYTECODE_WARNING in warning

    def test_without_pyodide_in_node_modules_synth_still_works_and_warns(self, package: Path, tmp_path: Path) -> None:
        # GIVEN a CDK app whose node_modules has no pyodide (a consumer who installed only the wheel)
        shared = PythonBundle(source_dir=package, requirements_file=None, cache_dir=tmp_path / "cache",
                              npm_root=tmp_path, log=lambda _line: None)
        stack = new_stack()
        ServerlessFunction(stack, "Fn", code=shared, handler="handlers.app.handler")
        # WHEN synthesized THEN it works, without bytecode, and the warning says how to get it
        warning, = warnings_of(stack)
        assert "no bytecode shipped in the handlers bundle: no bytecode compiler: npm package pyodide is not in " \
               "node_modules" in warning
        assert "npm install --save-dev --save-exact pyodide@0.28.3" in warning
        assert not list(shared.build().path.rglob("*.pyc"))

    def test_bytecode_switched_off_ships_none_without_a_warning(self, package: Path, cache: Path) -> None:
        shared = bundle(package, cache, bytecode=False)
        stack = new_stack()
        ServerlessFunction(stack, "Fn", code=shared, handler="handlers.app.handler")
        assert warnings_of(stack) == [] and not list(shared.build().path.rglob("*.pyc"))

    def test_compiler_snapshot_gives_the_same_bytes_and_a_broken_one_is_replaced(self, tmp_path: Path) -> None:
        # GIVEN the handler package's sources and an empty cache
        compiler, _ = find_compiler("3.13", PROJECT)
        assert compiler is not None
        cache = tmp_path / "cache"

        def compile_afresh(name: str) -> tuple[str, dict[Path, bytes]]:
            root = tmp_path / name
            shutil.copytree(PROJECT / "lambda_src", root / "lambda_src", ignore=shutil.ignore_patterns("local", "__pycache__"))
            shutil.rmtree(cache / "pyc", ignore_errors=True)  # compile every file, not link it
            report = add_bytecode(root, compiler, cache, package="lambda_src", log=lambda _line: None)
            return report.compiler_start, {path.relative_to(root): path.read_bytes() for path in root.rglob("*.pyc")}

        # WHEN compiled by a full start (which keeps a snapshot), then from that snapshot
        full_start, full = compile_afresh("one")
        from_snapshot, again = compile_afresh("two")
        # THEN the bytes are the same
        assert (full_start, from_snapshot) == ("full, snapshot written", "snapshot")
        assert len(full) == len(python_sources(tmp_path / "one")) and again == full
        # WHEN the snapshot is broken THEN a full start replaces it, and the bytes are still the same
        snapshot, = (cache / "compilers").iterdir()
        snapshot.write_bytes(b"not a snapshot")
        assert compile_afresh("three") == ("full, snapshot written", full)
        assert snapshot.stat().st_size > 1_000_000

    def test_package_json_pins_the_release_the_library_names(self) -> None:
        # the message telling a consumer what to install names the release this project tests with
        pinned = json.loads((PROJECT / "package.json").read_text())["devDependencies"]["pyodide"]
        assert pinned == COMPILER_RELEASES["3.13"]
        compiler, reason = find_compiler("3.13", PROJECT)
        assert compiler is not None and compiler.version == pinned and compiler.python_version == "3.13", reason

    def test_compiler_is_part_of_the_bundle_hash(self, package: Path, cache: Path) -> None:
        # a bundle built before pyodide was installed is not reused once it is
        assert bundle(package, cache).bundle_hash() != bundle(package, cache, bytecode=False).bundle_hash()


class TestSharing:
    def test_functions_sharing_a_bundle_share_one_asset(self, package: Path, cache: Path, tmp_path: Path) -> None:
        # GIVEN two functions built from the same bundle
        stack = new_stack()
        shared = bundle(package, cache)
        for name in ("One", "Two"):
            ServerlessFunction(stack, name, code=shared, handler="handlers.app.handler")
        assembly = stack.node.root.synth()
        # THEN both point at the same S3 object and the assembly holds one code asset
        keys = {fn["Properties"]["Code"]["S3Key"]["Fn::Sub"] if isinstance(fn["Properties"]["Code"]["S3Key"], dict)
                else fn["Properties"]["Code"]["S3Key"]
                for fn in Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()}
        assert len(keys) == 1
        assets = [path for path in Path(assembly.directory).iterdir() if path.name.startswith("asset.")]
        assert len(assets) == 1

    def test_functions_in_one_scope_bind_one_asset_construct(self, package: Path, cache: Path) -> None:
        # GIVEN two functions from one bundle in one stack
        stack = new_stack()
        shared = bundle(package, cache)
        one = ServerlessFunction(stack, "One", code=shared, handler="handlers.app.handler")
        two = ServerlessFunction(stack, "Two", code=shared, handler="handlers.app.handler")
        # THEN they use the same code object: the asset construct exists once, under the first function
        assert shared.code(stack) is shared.code(stack)
        assert [c.node.id for c in one.function.node.children if isinstance(c, s3_assets.Asset)] == ["Code"]
        assert not [c for c in two.function.node.children if isinstance(c, s3_assets.Asset)]

    def test_functions_in_two_stacks_get_an_asset_each(self, package: Path, cache: Path) -> None:
        # GIVEN one bundle used by functions in two stacks of one app (an asset may not span stacks)
        first = new_stack()
        second = Stack(first.node.root, "Second")
        shared = bundle(package, cache)
        for stack in (first, second):
            ServerlessFunction(stack, "Fn", code=shared, handler="handlers.app.handler")
        # WHEN the app synthesizes THEN it succeeds, each stack with its own code object
        first.node.root.synth()
        assert shared.code(first) is not shared.code(second)


class TestInvalidProps:
    def test_source_dir_must_be_a_package(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidPropError, match="invalid source_dir=.*allowed: a Python package directory"):
            PythonBundle(source_dir=tmp_path)

    def test_requirements_file_must_exist(self, package: Path, tmp_path: Path) -> None:
        with pytest.raises(InvalidPropError, match="invalid requirements_file=.*allowed: an existing requirements file"):
            PythonBundle(source_dir=package, requirements_file=tmp_path / "missing.txt")

    def test_pip_failure_is_reported(self, package: Path, tmp_path: Path) -> None:
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("this-package-does-not-exist-anywhere-xyz==0.0.1\n")
        with pytest.raises(RuntimeError, match="bundling failed"):
            PythonBundle(source_dir=package, requirements_file=requirements, cache_dir=tmp_path / "cache",
                         log=lambda _line: None).build()
        assert not list((tmp_path / "cache" / "deps").glob("*")), "a failed install leaves no cache entry"


class TestBuildInBackground:
    """start(): the bundle builds on its own thread while the app constructs other stacks."""

    @staticmethod
    def package_in(root: Path, body: str) -> Path:
        package = root / "bg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "app.py").write_text(body)
        return package

    def test_started_bundle_builds_on_another_thread_and_code_waits_for_it(self, tmp_path: Path, cache: Path) -> None:
        # GIVEN a package never built before, whose bundle is started
        package = self.package_in(tmp_path, "def handler(event, context):\n    return 2\n")
        threads: list[str] = []
        started = PythonBundle(source_dir=package, requirements_file=None, cache_dir=cache, npm_root=PROJECT,
                               log=lambda _line: threads.append(threading.current_thread().name))
        assert started.start() is started
        # WHEN a function uses it
        stack = new_stack()
        ServerlessFunction(stack, "Fn", code=started, handler="bg.app.handler")
        # THEN the build (its progress lines) ran off the main thread, and the asset is that build's
        assert threads and threading.main_thread().name not in threads
        built = started.code()
        assert isinstance(built, lambda_.AssetCode)
        assert started._built is not None and (started._built.path / "bg" / "app.py").read_text().endswith("return 2\n")
        assert pyc_path(started._built.path / "bg" / "app.py", "3.13").is_file()

    def test_a_failed_background_build_fails_where_the_code_is_used(self, tmp_path: Path, cache: Path) -> None:
        # GIVEN a started bundle with a module that does not compile on 3.13 (not the handler's)
        package = self.package_in(tmp_path, "def handler(event, context):\n    return 1\n")
        (package / "other.py").write_text("def helper(:\n    pass\n")
        broken = PythonBundle(source_dir=package, requirements_file=None, cache_dir=cache, npm_root=PROJECT,
                              log=lambda _line: None).start()
        # WHEN a function takes its code THEN the build's error surfaces there, naming the file
        with pytest.raises(BytecodeError, match=r"bg/other.py does not compile on Python 3.13"):
            ServerlessFunction(new_stack(), "Fn", code=broken, handler="bg.app.handler")

    def test_start_twice_builds_once(self, tmp_path: Path, cache: Path) -> None:
        # GIVEN a started bundle WHEN started again THEN no second build thread begins
        package = self.package_in(tmp_path, "def handler(event, context):\n    return 3\n")
        lines: list[str] = []
        once = PythonBundle(source_dir=package, requirements_file=None, cache_dir=cache, npm_root=PROJECT,
                            log=lines.append).start()
        first = once._background
        assert once.start()._background is first
        once.code()
        assert sum("copying" in line for line in lines) == 1


def local_project(root: Path) -> tuple[Path, Path]:
    """A monorepo as a team has it: a library project (``tinylib``, its pyproject mapping the folder onto the
    package, as the runtime's does) holding the handler package ``app`` whose requirements.txt names the
    library by a path relative to itself. Returns (the library project, the handler package)."""
    project = root / "tinylib"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tinylib"\nversion = "1.0"\n'
        '[tool.setuptools]\npackage-dir = { "tinylib" = "." }\npackages = ["tinylib"]\n')
    (project / "__init__.py").write_text("VALUE = 1\n")
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "handler.py").write_text("from tinylib import VALUE\n\ndef handler(event, context):\n    return VALUE\n")
    (project / "app" / "requirements.txt").write_text("# the library, by a path relative to this file\n..\n")
    return project, project / "app"


def tree(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*")}


@pytest.mark.slow
class TestLocalRequirements:
    """A requirement naming a local project (a path relative to requirements.txt, or a file:// URL) installs
    the project's current source, and building it leaves the project as it was."""

    @pytest.fixture()
    def monorepo(self, tmp_path: Path) -> tuple[Path, Path]:
        return local_project(tmp_path / "repo")

    @staticmethod
    def build(package: Path, cache: Path, **props):  # type: ignore[no-untyped-def]
        return PythonBundle(source_dir=package, cache_dir=cache, bytecode=False, log=lambda _line: None, **props).build()

    def test_a_relative_path_is_relative_to_the_requirements_file(self, monorepo: tuple[Path, Path],
                                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        # GIVEN requirements.txt naming the library as ".." and a synth run from elsewhere
        project, package = monorepo
        monkeypatch.chdir(tmp_path)
        # WHEN bundled THEN the library is installed as a distribution, beside the handler package
        built = self.build(package, tmp_path / "cache")
        assert (built.path / "tinylib" / "__init__.py").read_text() == "VALUE = 1\n"
        assert list(built.path.glob("tinylib-1.0.dist-info")) and (built.path / "app" / "handler.py").is_file()

    @pytest.mark.parametrize("form", ["relative path", "file URL"])
    def test_a_change_to_the_local_project_is_installed(self, monorepo: tuple[Path, Path], tmp_path: Path,
                                                        form: str) -> None:
        # GIVEN a bundle built from the library's source, named by a path or a URL
        project, package = monorepo
        if form == "file URL":
            (package / "requirements.txt").write_text(f"tinylib @ {project.as_uri()}\n")
        before = self.build(package, tmp_path / "cache")
        # WHEN a file of the library changes (requirements.txt is unchanged)
        (project / "__init__.py").write_text("VALUE = 2\n")
        after = self.build(package, tmp_path / "cache")
        # THEN pip runs again and the bundle ships the change
        assert after.pip_ran and after.asset_hash != before.asset_hash
        assert (after.path / "tinylib" / "__init__.py").read_text() == "VALUE = 2\n"

    def test_what_a_synth_or_a_tool_writes_into_the_project_is_neither_hashed_nor_copied(
            self, monorepo: tuple[Path, Path], tmp_path: Path) -> None:
        # GIVEN the library's folder also holding the app's cdk.out, a second venv and a database's data
        # (a monorepo whose requirements.txt names its root), which change at every synth or test run
        project, package = monorepo
        for leftover in ("cdk.out/manifest.json", ".venv-floor/lib/x.py", ".pgdata/PG_VERSION", "sub/.cache/x"):
            (project / leftover).parent.mkdir(parents=True, exist_ok=True)
            (project / leftover).write_text("1")
        before = PythonBundle(source_dir=package, cache_dir=tmp_path / "cache").dependencies_hash()
        # WHEN they change THEN the dependencies are the same (no pip, no new asset)
        for leftover in ("cdk.out/manifest.json", ".venv-floor/lib/x.py", ".pgdata/PG_VERSION", "sub/.cache/x"):
            (project / leftover).write_text("2")
        assert PythonBundle(source_dir=package, cache_dir=tmp_path / "cache").dependencies_hash() == before
        # AND they are not copied for pip, while the library's own files are
        bundle = PythonBundle(source_dir=package, cache_dir=tmp_path / "cache")
        files = {path.as_posix() for path in bundle._local_files(project)}
        assert "__init__.py" in files and not [f for f in files if f.startswith(("cdk.out", ".venv", ".pgdata"))
                                                 or "/.cache/" in f]

    def test_a_change_to_the_handler_package_inside_the_project_reuses_the_dependencies(
            self, monorepo: tuple[Path, Path], tmp_path: Path) -> None:
        # GIVEN the handler package inside the library's folder (as lambda_src/example is in lambda_src)
        project, package = monorepo
        cache = tmp_path / "cache"
        before = PythonBundle(source_dir=package, cache_dir=cache).dependencies_hash()
        self.build(package, cache)
        # WHEN only the handler package changes THEN the dependencies are the same: no pip
        (package / "handler.py").write_text("def handler(event, context):\n    return 3\n")
        assert PythonBundle(source_dir=package, cache_dir=cache).dependencies_hash() == before
        assert not self.build(package, cache).pip_ran

    def test_building_leaves_the_local_project_as_it_was(self, monorepo: tuple[Path, Path], tmp_path: Path) -> None:
        # GIVEN the library's files WHEN bundled (pip builds a local project in place: build/, *.egg-info)
        project, package = monorepo
        files = tree(project)
        self.build(package, tmp_path / "cache")
        # THEN the project holds exactly what it held
        assert tree(project) == files

    def test_a_file_url_requirement_is_hashed_and_copied_too(self, monorepo: tuple[Path, Path], tmp_path: Path) -> None:
        # GIVEN the library named by an absolute file:// URL with its name (PEP 508), as tests/consumer does
        project, package = monorepo
        (package / "requirements.txt").write_text(f"tinylib @ {project.as_uri()}\n")
        files = tree(project)
        before = PythonBundle(source_dir=package, cache_dir=tmp_path / "cache").dependencies_hash()
        self.build(package, tmp_path / "cache")
        # WHEN the library changes THEN the dependencies hash follows, and the project was left as it was
        assert tree(project) == files
        (project / "__init__.py").write_text("VALUE = 4\n")
        assert PythonBundle(source_dir=package, cache_dir=tmp_path / "cache").dependencies_hash() != before


class TestLocalRequirementLines:
    """Which lines of a requirements file name a local project, and how each is pointed at its copy."""

    def test_paths_urls_extras_and_markers(self, tmp_path: Path) -> None:
        from constructs_lib.bundling import local_requirements

        # GIVEN a project beside the file's folder and lines naming it in each form pip reads, and lines that don't
        project, package = local_project(tmp_path)
        text = "\n".join([
            "psycopg[binary]==3.3.9  # from the index", "..[postgres] ; python_version >= '3.11'", "../",
            f"tinylib[postgres] @ {project.as_uri()} ; sys_platform == 'linux'", "-r other.txt", "./missing-dir",
            "other @ https://example.com/other.whl", "# ../commented-out"])
        # WHEN read against the file's folder
        found = local_requirements(text, package)
        # THEN the three lines naming the project are found, each keeping its extras and markers
        assert [(local.line, local.path) for local in found] == [(1, project), (2, project), (3, project)]
        copy = tmp_path / "copy"
        assert [local.line_for(copy) for local in found] == [
            f"{copy}[postgres] ; python_version >= '3.11'", str(copy),
            f"tinylib[postgres] @ {copy.as_uri()} ; sys_platform == 'linux'"]


class TestNestedRequirementFiles:
    """``-r base.txt`` in requirements.txt: a pin changed in base.txt kept the old install, since only the
    top file's text was hashed."""

    @staticmethod
    def package_with(root: Path, base: str) -> PythonBundle:
        package = root / "svc"
        (package / "reqs").mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text("")
        (package / "reqs" / "base.txt").write_text(base)
        (package / "reqs" / "pins.txt").write_text("-c ../constraints.txt\n")
        if not (package / "constraints.txt").exists():
            (package / "constraints.txt").write_text("")
        (package / "requirements.txt").write_text("-r reqs/base.txt\n-r reqs/pins.txt\n")
        return PythonBundle(source_dir=package, cache_dir=root / "cache", npm_root=PROJECT, bytecode=False,
                            log=lambda _line: None)

    def test_a_change_in_a_nested_file_changes_the_dependency_hash(self, tmp_path: Path) -> None:
        # GIVEN a requirements.txt that only names other files
        first = self.package_with(tmp_path, "six==1.16.0\n").dependencies_hash()
        # WHEN the nested file's pin changes THEN the dependencies are installed again (another hash)
        second = self.package_with(tmp_path, "six==1.17.0\n").dependencies_hash()
        assert second != first
        # AND so does a change two files down (a constraints file named by a nested file)
        (tmp_path / "svc" / "constraints.txt").write_text("six<2\n")
        assert self.package_with(tmp_path, "six==1.17.0\n").dependencies_hash() not in (first, second)

    def test_nested_files_are_found_relative_to_the_file_naming_them(self, tmp_path: Path) -> None:
        from constructs_lib.bundling import nested_files

        bundle = self.package_with(tmp_path, "# nothing\n")
        package = tmp_path / "svc"
        assert nested_files(bundle.requirements_file) == [
            (package / "reqs" / "base.txt").resolve(), (package / "reqs" / "pins.txt").resolve(),
            (package / "constraints.txt").resolve()]

    def test_the_same_files_in_another_checkout_give_the_same_hash(self, tmp_path: Path) -> None:
        # GIVEN the same package in two places (a developer's clone, CI's) THEN one dependency hash: no new asset
        assert (self.package_with(tmp_path / "one", "six==1.17.0\n").dependencies_hash()
                == self.package_with(tmp_path / "two", "six==1.17.0\n").dependencies_hash())
