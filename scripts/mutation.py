"""Mutation testing of the runtime's core modules: one small change at a time, only the tests that cover it.

Each mutant is one edit of the source (see :func:`mutants` for the operators) applied to a copy of the
project; the target's tests then run on it (``pytest -x``). A mutant is *killed* when they fail (or time
out, or the module no longer imports) and *survives* when they pass. A surviving mutant that cannot
change behaviour is *equivalent*: it is listed, with its reason, in ``benchmarks/mutation_equivalents.toml``
and left out of the score. The score of a target is killed / (mutants - equivalents); the run fails
below ``--min-score`` (90 %) on any target, and when an equivalent listed no longer matches a mutant.

Usage: ``python scripts/mutation.py [--target NAME ...] [--list] [--timeout S] [--min-score P]``
(``make mutation`` runs every target). The targets are :data:`TARGETS`, the one place to edit.
"""
from __future__ import annotations

import argparse
import ast
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "benchmarks" / "mutation_equivalents.toml"


@dataclass(frozen=True)
class Target:
    """Source files mutated together and the tests that must catch their mutants (paths from the root)."""

    name: str
    sources: tuple[str, ...]
    tests: tuple[str, ...]
    database: bool = False  # the tests need PostgreSQL: one is started for the run


#: The runtime's core modules and, for each, the tests that cover it: kept small, as each mutant runs them.
TARGETS: tuple[Target, ...] = (
    Target("http adapter", ("lambda_src/web/events.py",),
           ("tests/lambda_src/test_http_events.py", "tests/lambda_src/test_http_adapter.py")),
    Target("router", ("lambda_src/web/router.py",),
           ("tests/lambda_src/test_router.py", "tests/lambda_src/test_http_adapter.py",
            "tests/lambda_src/test_callers.py")),
    Target("batch processor", ("lambda_src/batch.py",), ("tests/lambda_src/test_batch_processor.py",), database=True),
    Target("signer and tokens", ("lambda_src/aws.py", "lambda_src/db/iam_token.py"),
           ("tests/lambda_src/test_iam_token.py", "tests/lambda_src/test_aws.py",
            "tests/lambda_src/test_database_access.py::TestIamToken"), database=True),
)

#: Copied to the scratch project; everything else at the root is left out.
_SKIP_COPY = {".git", ".venv", ".venv-scan", "node_modules", "cdk.out", ".bundle-cache", ".pytest_cache",
              "__pycache__", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Mutant:
    """One edit: bytes ``start:end`` of ``path`` become ``replacement``. ``id`` survives unrelated edits:
    the enclosing function, the operator, the text before and after, and which occurrence it is."""

    path: str
    id: str
    line: int
    start: int
    end: int
    replacement: bytes

    def apply(self, source: bytes) -> bytes:
        return source[:self.start] + self.replacement + source[self.end:]


@dataclass
class Result:
    target: Target
    killed: list[Mutant] = field(default_factory=list)
    survived: list[Mutant] = field(default_factory=list)
    equivalent: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        counted = len(self.killed) + len(self.survived)
        return 100.0 * len(self.killed) / counted if counted else 100.0


# ---------------------------------------------------------------------------------------------- operators

_COMPARE_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BINOP_FLIPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Div: ast.Mult}
_UNWRAP_FUNCTIONS = {"sorted"}
_UNWRAP_METHODS = {"lower", "upper", "strip", "lstrip", "rstrip"}
_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}
_DELETABLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Raise, ast.Break, ast.Continue)


class _Collector(ast.NodeVisitor):
    """Walks a module and records (node or span, operator, replacement text) for every mutation."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        starts = [0]
        for line in source.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        self.line_starts = starts
        self.scope: list[str] = []
        self.edits: list[tuple[str, str, int, int, int, str, str, bool]] = []  # scope, op, line, start, end, old, new, wrap

    # -- positions
    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.line_starts[node.lineno - 1] + node.col_offset,
                self.line_starts[node.end_lineno - 1] + node.end_col_offset)

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.source[start:end].decode("utf-8")

    def add(self, node: ast.AST, operator: str, new: str, *, span: tuple[int, int] | None = None,
            old: str | None = None, wrap: bool = False) -> None:
        """Record one edit; ``wrap`` puts the new expression in parentheses, whatever surrounds it."""
        start, end = span or self.span(node)
        self.edits.append((".".join(self.scope) or "<module>", operator, node.lineno, start, end,
                           old if old is not None else self.source[start:end].decode("utf-8"), new, wrap))

    def expression(self, node: ast.expr, operator: str, replacement: ast.expr | str) -> None:
        new = replacement if isinstance(replacement, str) else ast.unparse(replacement)
        self.add(node, operator, new, wrap=True)

    # -- what is never mutated
    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:  # f-string parts have no reliable positions (3.11)
        return

    def visit_Import(self, node: ast.Import) -> None:
        return

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        return

    def visit_arguments(self, node: ast.arguments) -> None:  # annotations; defaults are visited
        for default in [*node.defaults, *(d for d in node.kw_defaults if d is not None)]:
            self.visit(default)

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        self.generic_visit(node)

    # -- scopes
    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        for decorator in node.decorator_list:
            self.visit(decorator)
        if not isinstance(node, ast.ClassDef):
            self.visit(node.args)
        self.statements(body)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Module(self, node: ast.Module) -> None:
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        self.statements(body)

    def statements(self, body: Sequence[ast.stmt]) -> None:
        for statement in body:
            self.visit(statement)

    # -- statements
    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, _DELETABLE) and not self._declaration(node):
            self.add(node, "delete", "pass")
        super().generic_visit(node)

    @staticmethod
    def _declaration(node: ast.AST) -> bool:
        """``__all__``/``__slots__``, ``TYPE_CHECKING`` and type aliases are declarations, not behaviour."""
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        return any(isinstance(t, ast.Name) and (t.id.startswith("__") or t.id == "TYPE_CHECKING"
                                                or t.id[:1].isupper() and t.id != t.id.upper()) for t in targets)

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._declaration(node):
            return
        if isinstance(node.value, ast.Tuple) and len(node.value.elts) > 1:
            for index in range(len(node.value.elts)):
                kept = ast.Tuple([e for i, e in enumerate(node.value.elts) if i != index], ast.Load())
                self.expression(node.value, "drop element", kept)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None and not self._declaration(node):
            self.add(node, "delete", "pass")
            self.visit(node.value)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            self.add(node.value, "return None", "None")
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        last = node.body[-1]
        if not isinstance(last, ast.Raise):
            indent = " " * node.body[0].col_offset
            end = self.span(last)[1]
            self.add(node, "re-raise", f"\n{indent}raise", span=(end, end),
                     old=f"except {ast.unparse(node.type)}" if node.type else "except")
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Call) and self._logging(node.value):
            return  # what is logged is for people: tests pin a few log lines, not every one
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        self.add(node, "delete", "pass")
        if isinstance(node.exc, ast.Call):  # the exception's message is text for people, not mutated
            for keyword in node.exc.keywords:
                self.visit(keyword.value)
            return
        if node.exc is not None:
            self.visit(node.exc)

    @staticmethod
    def _logging(call: ast.Call) -> bool:
        function = call.func
        return (isinstance(function, ast.Attribute) and function.attr in _LOG_METHODS
                and isinstance(function.value, ast.Name) and function.value.id in ("logger", "log", "logging"))

    # -- expressions
    def visit_Compare(self, node: ast.Compare) -> None:
        for index, op in enumerate(node.ops):
            flipped = _COMPARE_FLIPS.get(type(op))
            if flipped:
                ops = list(node.ops)
                ops[index] = flipped()
                self.expression(node, "compare", ast.Compare(node.left, ops, node.comparators))
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self.expression(node, "bool op", ast.BoolOp(other, node.values))
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        flipped = _BINOP_FLIPS.get(type(node.op))
        if flipped:
            self.expression(node, "arithmetic", ast.BinOp(node.left, flipped(), node.right))
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self.expression(node, "drop not", self.text(node.operand))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        if isinstance(function, ast.Name) and function.id in _UNWRAP_FUNCTIONS and len(node.args) == 1 \
                and not node.keywords:
            self.expression(node, "unwrap", self.text(node.args[0]))
        elif isinstance(function, ast.Attribute) and function.attr in _UNWRAP_METHODS and not node.args:
            self.expression(node, "unwrap", self.text(function.value))
        if self._logging(node):
            return
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self.expression(node, "constant", repr(not value))
        elif isinstance(value, int | float):
            self.expression(node, "constant", repr(value + 1))
        elif isinstance(value, str):
            self.expression(node, "constant", repr("") if value else repr("X"))


def mutants(path: str, source: bytes) -> list[Mutant]:
    """Every mutant of ``source`` (the file at ``path``), in source order.

    Operators: comparison flips (``==``↔``!=``, ``<``→``<=``, ``in``↔``not in``, ``is``↔``is not``, ...),
    ``and``↔``or``, dropping ``not``, ``+``↔``-`` and ``*``↔``//``, ``True``↔``False``, a number + 1, a
    string → ``""`` (``""`` → ``"X"``), ``return x`` → ``return None``, unwrapping ``sorted(x)`` and
    ``x.lower()``-like calls, dropping one element of an assigned tuple, deleting a statement (assignment,
    call, ``raise``, ``break``, ``continue``), and adding ``raise`` at the end of an ``except``
    block that swallows the error. Never mutated: docstrings, imports, annotations, ``TYPE_CHECKING``
    blocks, f-strings, ``__all__``-like declarations, log calls and the text of raised errors.
    """
    collector = _Collector(source)
    collector.visit(ast.parse(source))
    seen: dict[str, int] = {}
    found = []
    for scope, operator, line, start, end, old, new, wrap in sorted(collector.edits,
                                                                    key=lambda e: (e[3], e[4], e[1], e[6])):
        base = f"{scope}: {operator} {_short(old)} -> {_short(new)}"
        seen[base] = seen.get(base, 0) + 1
        mutant_id = base if seen[base] == 1 else f"{base} #{seen[base]}"
        found.append(Mutant(path, mutant_id, line, start, end, (f"({new})" if wrap else new).encode("utf-8")))
    return found


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


# ---------------------------------------------------------------------------------------------- running

def load_equivalents(path: Path = EQUIVALENTS) -> dict[tuple[str, str], str]:
    """``{(source path, mutant id): reason}`` from the equivalents file (absent: none)."""
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", [])
    return {(entry["file"], entry["id"]): entry["reason"] for entry in entries}


def scratch_copy(root: Path, into: Path) -> Path:
    """A copy of the project at ``root`` to mutate (caches, venvs and node_modules left out)."""
    shutil.copytree(root, into, ignore=lambda _d, names: [n for n in names if n in _SKIP_COPY], symlinks=True)
    return into


def run_tests(project: Path, tests: Sequence[str], timeout: float, env: dict[str, str]) -> str:
    """``"pass"``, ``"fail"`` or ``"timeout"`` for ``tests`` run in ``project``."""
    # conftest files above the tests' own folder (the CDK synth fixtures) and hypothesis's plugin are
    # left out: they cost seconds per run and these tests use neither
    confcutdir = os.path.commonpath([str(Path(test).parent) for test in tests])
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
               "--confcutdir", confcutdir, *tests]
    try:
        done = subprocess.run(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout"
    if done.returncode == 5:
        raise RuntimeError(f"no tests collected from {list(tests)}")
    return "pass" if done.returncode == 0 else "fail"


def run_target(target: Target, project: Path, equivalents: dict[tuple[str, str], str], *, timeout: float,
               env: dict[str, str], progress: bool = True) -> Result:
    """Mutate each of ``target``'s sources in ``project`` one change at a time; the original is restored after."""
    result = Result(target)
    began = time.monotonic()
    if run_tests(project, target.tests, timeout, env) != "pass":
        raise RuntimeError(f"{target.name}: the tests fail without any mutation: {list(target.tests)}")
    for relative in target.sources:
        path = project / relative
        original = path.read_bytes()
        try:
            for mutant in mutants(relative, original):
                if (relative, mutant.id) in equivalents:
                    result.equivalent.append(mutant)
                    continue
                path.write_bytes(mutant.apply(original))
                outcome = run_tests(project, target.tests, timeout, env)
                (result.survived if outcome == "pass" else result.killed).append(mutant)
                if progress:
                    print(f"  {'SURVIVED' if outcome == 'pass' else outcome:8} {relative}:{mutant.line} {mutant.id}",
                          flush=True)
        finally:
            path.write_bytes(original)
    result.seconds = time.monotonic() - began
    return result


def stale_equivalents(targets: Sequence[Target], project: Path,
                      equivalents: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """Listed equivalents of these targets' sources that match no mutant any more."""
    sources = {source for target in targets for source in target.sources}
    known = {(source, m.id) for source in sources for m in mutants(source, (project / source).read_bytes())}
    return sorted(key for key in equivalents if key[0] in sources and key not in known)


def child_environment(project: Path) -> dict[str, str]:
    """The tests' environment: bytecode cached outside the project (a mutant of the same size written
    in the same second must never reuse the original's cached code), nothing of a developer's AWS."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PYTEST_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPYCACHEPREFIX", None)
    env["PYTHONPATH"] = str(project)
    return env


def report(results: Sequence[Result]) -> str:
    lines = [f"{'target':20} {'mutants':>7} {'killed':>6} {'survived':>8} {'equivalent':>10} {'score':>6} {'time':>6}"]
    for r in results:
        total = len(r.killed) + len(r.survived) + len(r.equivalent)
        lines.append(f"{r.target.name:20} {total:7} {len(r.killed):6} {len(r.survived):8} {len(r.equivalent):10} "
                     f"{r.score:5.1f}% {r.seconds:5.0f}s")
    for r in results:
        for mutant in r.survived:
            lines.append(f"SURVIVED {mutant.path}:{mutant.line}  {mutant.id}")
    return "\n".join(lines)


@contextmanager
def shared_database(env: dict[str, str], needed: bool) -> Iterator[None]:
    """One PostgreSQL for the whole run (``TEST_DATABASE_URL`` if set): each pytest run would start its own."""
    if not needed or env.get("TEST_DATABASE_URL"):
        yield
        return
    from devtools.database import embedded_server, stop_embedded

    data = Path(tempfile.mkdtemp(prefix="pg-mutation-"))
    server = embedded_server(data)
    env["TEST_DATABASE_URL"] = server.get_uri()
    try:
        yield
    finally:
        if stop_embedded(server):
            shutil.rmtree(data, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", choices=[t.name for t in TARGETS],
                        help="only this target (repeatable). Default: all")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per test run. Default: 60")
    parser.add_argument("--min-score", type=float, default=90.0, help="percent killed per target. Default: 90")
    args = parser.parse_args(argv)
    # a stopped run still restores the source, removes its scratch copy and stops its PostgreSQL
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    targets = [t for t in TARGETS if not args.target or t.name in args.target]
    equivalents = load_equivalents()
    if args.list:
        for target in targets:
            for source in target.sources:
                for mutant in mutants(source, (ROOT / source).read_bytes()):
                    mark = "  (equivalent)" if (source, mutant.id) in equivalents else ""
                    print(f"{source}:{mutant.line}  {mutant.id}{mark}")
        return 0
    stale = stale_equivalents(targets, ROOT, equivalents)
    for source, mutant_id in stale:
        print(f"listed as equivalent but no such mutant: {source}: {mutant_id}", file=sys.stderr)
    results = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        project = scratch_copy(ROOT, Path(scratch) / "project")
        env = child_environment(project)
        with shared_database(env, any(target.database for target in targets)):
            for target in targets:
                print(f"== {target.name}: {', '.join(target.sources)} against {', '.join(target.tests)}", flush=True)
                results.append(run_target(target, project, equivalents, timeout=args.timeout, env=env))
    print(report(results))
    low = [r.target.name for r in results if r.score < args.min_score]
    if low:
        print(f"below {args.min_score:g} %: {', '.join(low)}", file=sys.stderr)
    return 1 if low or stale else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # devtools, for the embedded PostgreSQL
    sys.exit(main())
