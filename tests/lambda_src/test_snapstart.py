"""SnapStart: nothing captured at init survives a restore (connection, IAM tokens)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cdk_helpers import PROJECT

#: Stands in for the module the Lambda 3.12+ runtime provides, recording the hooks registered.
FAKE_RUNTIME_MODULE = '''
hooks = []
def register_after_restore(hook, *args, **kwargs):
    hooks.append((hook, args, kwargs))
def register_before_snapshot(hook, *args, **kwargs):
    pass
'''

SCRIPT = '''
import json, sys
import snapshot_restore_py
import lambda_src.example.http as h
from lambda_src.db import connection
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import v2

# GIVEN a function initialised (and snapshotted) with a warm connection and its cached IAM token
assert h.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
pid_before = connection.get().info.backend_pid
assert connection.tokens._tokens and connection.tokens.generations == 1
# WHEN the runtime restores the snapshot and runs the after-restore hooks
for hook, args, kwargs in snapshot_restore_py.hooks:
    hook(*args, **kwargs)
dropped = connection._connection is None and not connection.tokens._tokens
# THEN the next request opens a new connection, with a new token the proxy accepts
assert h.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
print(json.dumps({"hooks": len(snapshot_restore_py.hooks), "dropped": dropped,
                  "new_connection": connection.get().info.backend_pid != pid_before,
                  "new_token": connection.tokens.generations == 2}))
'''


def test_after_restore_hook_drops_connection_and_tokens(db: str, tmp_path: Path) -> None:
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_RUNTIME_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(PROJECT)]),  # IAM settings from ``db``
           "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}
    completed = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=PROJECT,
                               timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == {"hooks": 1, "dropped": True,
                                                                    "new_connection": True, "new_token": True}


def test_without_snapstart_the_runtime_module_is_not_imported(db: str, tmp_path: Path) -> None:
    # GIVEN an on-demand init (the module is available, as on the 3.12+ runtimes)
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_RUNTIME_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(PROJECT)]),
           "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}
    script = "import sys, lambda_src.example.http, lambda_src.example.worker, lambda_src.example.schedule; print('snapshot_restore_py' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=PROJECT,
                               timeout=60)
    # THEN the handler imports without paying for it
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"


def test_snapstart_init_without_the_module_still_imports(db: str) -> None:
    # GIVEN SnapStart declared but no snapshot_restore_py (an older runtime) THEN import works
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}
    script = ("import sys; sys.modules['snapshot_restore_py'] = None\n"
              "import lambda_src.example.http\nfrom lambda_src.db import connection\n"
              "assert connection.register_snapstart_hooks() is False")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=PROJECT,
                               timeout=60)
    assert completed.returncode == 0, completed.stderr
