"""Hot reload for ``make dev``: a change under the handler package replaces the functions' workers.

:class:`Reloader` polls the ``*.py`` files under the handler package (their size and mtime, every
``interval`` s: standard library only). On a change it first checks the new code: each changed file
must compile (the error is printed as ``file:line: message``), and a new generation of workers must
import the handler (awslambdaric's init error is printed). Only then do new invocations go to the
new generation; invocations already on the old one finish there, and its workers stop once the last
one has. Any failure leaves the old generation serving. SQL files are not watched: migrations run
once, when ``make dev`` starts, so a new migration needs a restart.

:class:`ReloadingWorker` is the worker the gateways hold: the same ``invoke`` as a pool, routed to
the current generation.
"""
from __future__ import annotations

import importlib
import os
import py_compile
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from .runtime_api import Outcome, WorkerPool

#: Seconds between two looks at the files: a change is seen within this, plus its check and worker start.
INTERVAL = 0.1
#: Seconds a new generation's workers have to import the handler before the reload is given up.
START_TIMEOUT = 30.0
#: A file's state as the watcher sees it: its mtime (ns) and size.
Stamp = tuple[int, int]


def snapshot(package: Path) -> dict[Path, Stamp]:
    """The ``*.py`` files under ``package``; hidden files and folders (editors' temporary files) and
    ``__pycache__`` left out."""
    found: dict[Path, Stamp] = {}
    folders = [str(package)]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:  # removed between the listing and the look
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name == "__pycache__":
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif entry.name.endswith(".py"):
                    stat = entry.stat()
                    found[Path(entry.path)] = (stat.st_mtime_ns, stat.st_size)
            except OSError:
                continue
    return found


def changed(before: dict[Path, Stamp], after: dict[Path, Stamp]) -> set[Path]:
    """Files added, removed or modified between two snapshots."""
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def compile_error(path: Path) -> str | None:
    """None if ``path`` compiles, else ``file:line: SyntaxError: message`` and the offending line.
    Unless ``PYTHONDONTWRITEBYTECODE`` is set, its bytecode is written with a hash of the source
    (checked at each import), so a worker never runs a stale cache left by an edit within the same
    second and of the same size."""
    try:
        if sys.dont_write_bytecode:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        else:
            py_compile.compile(str(path), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    except (SyntaxError, ValueError, py_compile.PyCompileError) as failure:
        error = failure.exc_value if isinstance(failure, py_compile.PyCompileError) else failure
        if isinstance(error, SyntaxError):
            text = (error.text or "").strip()
            return f"{path}:{error.lineno or '?'}: {type(error).__name__}: {error.msg}" + (f"\n    {text}" if text else "")
        return f"{path}: {type(error).__name__}: {error}"
    except OSError:  # removed since it was seen: the import check decides
        return None
    return None


class _Generation:
    """One pool of workers and the invocations currently using it."""

    def __init__(self, number: int, pool: WorkerPool) -> None:
        self.number, self.pool = number, pool
        self.users = 0
        self.retired = False


class ReloadingWorker:
    """A worker pool that :class:`Reloader` can replace while invocations go on.

    ``factory()`` builds a new, unstarted :class:`WorkerPool` running the current code. Each
    invocation holds the generation it started on until it ends; a retired generation's workers stop
    when its last invocation has ended (at once if none is running)."""

    def __init__(self, factory: Callable[[], WorkerPool], name: str, *, first: WorkerPool | None = None) -> None:
        """``name``: the function's, in messages; ``first``: the first generation's pool (default: a new one)."""
        self.factory, self.name = factory, name
        self._lock = threading.Lock()
        self._current = _Generation(1, first or factory())
        self._draining: list[_Generation] = []  # retired, with invocations still running

    @property
    def description(self) -> str:
        return f"{self._current.pool.description}, replaced when the code changes"

    @property
    def starts(self) -> int:
        return self._current.pool.starts

    @property
    def generation(self) -> int:
        return self._current.number

    def invoke(self, event: Any, timeout: float) -> Outcome:
        with self._lock:
            generation = self._current
            generation.users += 1
        try:
            return generation.pool.invoke(event, timeout)
        finally:
            with self._lock:
                generation.users -= 1
                done = generation.retired and generation.users == 0 and generation in self._draining
                if done:
                    self._draining.remove(generation)
            if done:
                _close_soon(generation.pool)

    def prepare(self, timeout: float) -> tuple[WorkerPool, str | None]:
        """A new pool with one worker started (its handler imported), and None, or why it could not
        start (the caller closes the pool then)."""
        pool = self.factory()
        return pool, pool.start(1, timeout)

    def switch(self, pool: WorkerPool, timeout: float) -> None:
        """From now on invocations go to ``pool``; the previous generation stops once it is unused.
        The new pool starts as many workers as the previous one had, in the background (one at a
        time: on a small machine, starting them side by side would slow the one already serving)."""
        with self._lock:
            old, self._current = self._current, _Generation(self._current.number + 1, pool)
            old.retired = True
            done = old.users == 0
            if not done:
                self._draining.append(old)
        if done:
            _close_soon(old.pool)
        warm = old.pool.started

        def start_the_others() -> None:
            while pool.started < warm and pool.start(pool.started + 1, timeout) is None:
                pass

        threading.Thread(target=start_the_others, daemon=True).start()

    def close(self) -> None:
        """Stop every generation's workers, those still finishing invocations too."""
        with self._lock:
            self._current.retired = True
            generations, self._draining = [self._current, *self._draining], []
        for generation in generations:
            generation.pool.close()


def _close_soon(pool: WorkerPool) -> None:
    """Stop ``pool``'s workers in the background: the answer of the invocation that ended last is not
    held up by its processes being stopped."""
    threading.Thread(target=pool.close, daemon=True).start()


class Reloader:
    """Watches ``package`` and replaces every worker added with :meth:`add` when its code changes.

    ``module``: one this process itself imports from the package (the server reads the HTTP routes
    for its stats and OpenAPI document); it is imported anew once the new workers serve (the
    previous modules stay if it fails here). Messages go to ``out``, one line each."""

    def __init__(self, package: Path, *, module: str | None = None, interval: float = INTERVAL,
                 start_timeout: float = START_TIMEOUT, out: Any = None) -> None:
        self.package, self.module, self.interval, self.start_timeout = package, module, interval, start_timeout
        self.out = out or sys.stdout
        self.workers: list[ReloadingWorker] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unapplied: set[Path] = set()

    def add(self, worker: ReloadingWorker) -> ReloadingWorker:
        self.workers.append(worker)
        return worker

    def start(self) -> None:
        self._files = snapshot(self.package)
        self._thread = threading.Thread(target=self._run, name="reloader", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.start_timeout + 5)

    def _say(self, message: str) -> None:
        print(f"reload: {message}", file=self.out, flush=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            files = snapshot(self.package)
            paths = changed(self._files, files)
            if not paths:
                continue
            seen = time.monotonic()
            while not self._stop.wait(0.05):  # an editor may write a file in several steps: let them land
                settled = snapshot(self.package)
                if settled == files:
                    break
                paths |= changed(files, settled)
                files = settled
            self._files = files
            self._unapplied |= paths
            try:
                self.reload(seen)
            except Exception as error:  # noqa: BLE001 - the watcher outlives any one failed reload
                self._say(f"failed ({type(error).__name__}: {error}); still serving the previous code")

    def reload(self, seen: float) -> bool:
        """Check the files changed since the last replacement and replace the workers: True if done."""
        names = ", ".join(sorted(str(path.relative_to(self.package.parent)) for path in self._unapplied))
        errors = [error for path in sorted(self._unapplied) if path.exists() and (error := compile_error(path))]
        if errors:
            for error in errors:
                self._say(error)
            self._say(f"{names} does not compile; still serving the previous code")
            return False
        prepared: list[tuple[WorkerPool, str | None] | None] = [None] * len(self.workers)

        def prepare(index: int) -> None:  # every function's new workers start side by side
            prepared[index] = self.workers[index].prepare(self.start_timeout)

        threads = [threading.Thread(target=prepare, args=(index,), daemon=True) for index in range(len(self.workers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failed = [(worker.name, done[1]) for worker, done in zip(self.workers, prepared) if done is None or done[1]]
        if failed:
            for done in prepared:
                if done is not None:
                    done[0].close()
            for name, error in failed:
                self._say(f"{name}: {error or 'the new workers did not start'}")
            self._say(f"the new code of {names} does not start; still serving the previous code")
            return False
        for worker, done in zip(self.workers, prepared):
            assert done is not None
            worker.switch(done[0], self.start_timeout)
        self._unapplied.clear()
        serving = time.monotonic() - seen
        self._reimport()
        generation = self.workers[0].generation if self.workers else 0
        self._say(f"{names} changed: generation {generation} serving, {serving:.2f} s after the change was seen")
        return True

    def _reimport(self) -> None:
        """This process's modules from the package forgotten, and :attr:`module` imported anew; if
        that fails here (the workers imported it), the previous modules stay."""
        if self.module is None:
            return
        previous = _forget(self.package)
        try:
            importlib.import_module(self.module)
        except Exception:  # noqa: BLE001 - only the stats and the OpenAPI document read it here
            _put_back(self.package, previous)


def _forget(package: Path) -> dict[str, ModuleType]:
    """Drop this process's modules imported from under ``package`` (the next import reads the files
    again): the dropped ones."""
    root = package.resolve()
    forgotten = {name: module for name, module in list(sys.modules.items())
                 if getattr(module, "__file__", None) and Path(module.__file__).resolve().is_relative_to(root)}
    for name in forgotten:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return forgotten


def _put_back(package: Path, modules: dict[str, ModuleType]) -> None:
    """The modules :func:`_forget` dropped, in place of those imported since."""
    if modules:
        _forget(package)
        sys.modules.update(modules)


def handler_package(handler: str, root: Path) -> Path:
    """The directory of the top-level package of ``handler`` under ``root`` (``a.b.c.fn`` → ``root/a``)."""
    return root / handler.split(".")[0]
