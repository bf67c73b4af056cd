"""PythonBundle: Docker-free, cached, shared, and built for the target architecture."""
from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk.assertions import Template

from constructs_lib import InvalidPropError, PythonBundle, ServerlessFunction
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
    return PythonBundle(source_dir=package, requirements_file=REQUIREMENTS, cache_dir=cache, log=lines.append, **props)


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

    def test_runtime_provided_packages_are_stripped(self, package: Path, tmp_path: Path) -> None:
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("boto3==1.44.5\n")
        result = PythonBundle(source_dir=package, requirements_file=requirements, cache_dir=tmp_path / "cache",
                              log=lambda _line: None).build()
        leftovers = {path.name.split("-")[0].lower() for path in result.path.iterdir()}
        assert not {"boto3", "botocore", "s3transfer", "jmespath"} & leftovers


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
