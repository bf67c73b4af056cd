"""The deployed asset on Python 3.13, the runtime's version: its bytecode loads, and the handler runs.

The host runs another Python, so these run in Pyodide (CPython 3.13 on WebAssembly, pinned in
package.json), loaded once per session. The asset is the API function's code exactly as the
example service synthesizes it.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.bytecode import MAGIC_NUMBERS, UNCHECKED_HASH_FLAGS, pyc_path, python_sources, read_header
from tests.cdk_helpers import SynthesizedService
from tests.lambda_src.events import body_of, v2
from tests.python313 import Python313

#: Distributions that need a native library Pyodide cannot load (libpq, in psycopg_binary's aarch64
#: build), so they cannot be imported there: their bytecode is unmarshalled instead.
NATIVE = ("psycopg", "psycopg_binary")
TASK_ROOT = "/var/task"


@pytest.fixture(scope="module")
def asset(service: SynthesizedService) -> Path:
    """The API function's code asset in the synthesized example (the directory CDK zips and uploads)."""
    found, = (path for path in service.outdir.glob("asset.*") if (path / "example" / "http.py").is_file())
    return found


@pytest.fixture(scope="module")
def on_313(python313: Python313, asset: Path, tmp_path_factory: pytest.TempPathFactory) -> Python313:
    """Python 3.13 with the asset at ``/asset`` and, at ``/var/task``, a copy whose every ``.py`` was
    replaced by a line that raises: a module that imports there ran from its ``.pyc`` alone."""
    task = tmp_path_factory.mktemp("task") / "task"
    shutil.copytree(asset, task, copy_function=os.link)
    for relative in python_sources(task):
        (task / relative).unlink()  # a new file: the asset's, linked, stays as it was
        (task / relative).write_text(f"raise RuntimeError('{relative} ran from source, not from its .pyc')\n")
    python313.mount(asset, "/asset")
    python313.mount(task, TASK_ROOT)
    python313.run(f"import sys; sys.dont_write_bytecode = True; sys.path.insert(0, {TASK_ROOT!r}); '0'")
    return python313


def module_names(root: Path) -> list[str]:
    names = []
    for relative in python_sources(root):
        parts = relative.with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_asset_holds_python_313_bytecode_for_every_source(asset: Path) -> None:
    # GIVEN the synthesized API function's code
    sources = python_sources(asset)
    assert len(sources) > 100 and Path("example/http.py") in sources and Path("psycopg/__init__.py") in sources
    # THEN every .py has its cpython-313 .pyc: the 3.13 magic number and the unchecked-hash flag
    headers = {relative: read_header(asset / pyc_path(relative, "3.13"))
               for relative in sources if (asset / pyc_path(relative, "3.13")).is_file()}
    assert set(headers) == set(sources)
    assert {header.magic for header in headers.values()} == {MAGIC_NUMBERS["3.13"]} == {b"\xf3\x0d\x0d\x0a"}
    assert {header.flags for header in headers.values()} == {UNCHECKED_HASH_FLAGS}


def test_every_pyc_is_313_bytecode_of_the_source_beside_it(on_313: Python313, asset: Path) -> None:
    # WHEN Python 3.13 reads every .pyc of the asset
    found = on_313.run(f"""
import importlib.util, json, marshal, pathlib, types
wrong = []
for relative in {json.dumps([p.as_posix() for p in python_sources(asset)])}:
    source = pathlib.Path("/asset", relative)
    pyc = source.parent / "__pycache__" / (source.stem + ".cpython-313.pyc")
    data = pyc.read_bytes()
    code = marshal.loads(data[16:])
    if data[:4] != importlib.util.MAGIC_NUMBER:
        wrong.append([relative, "magic"])
    elif data[8:16] != importlib.util.source_hash(source.read_bytes()):
        wrong.append([relative, "source hash"])
    elif not isinstance(code, types.CodeType) or code.co_filename != "{TASK_ROOT}/" + relative:
        wrong.append([relative, "code object"])
json.dumps(wrong)
""")
    # THEN each unmarshals to a code object named for its place on Lambda, and was compiled from the
    # very source it ships beside (unchecked-hash .pyc are never compared with the source at import)
    assert found == []


def test_modules_import_from_their_bytecode_alone(on_313: Python313, asset: Path) -> None:
    # GIVEN every module of the asset, with all sources replaced by a line that raises
    names = module_names(asset)
    # WHEN Python 3.13 imports each one
    outcome = on_313.run(f"""
import importlib, json
imported, failed = [], {{}}
for name in {json.dumps(names)}:
    try:
        importlib.import_module(name)
        imported.append(name)
    except Exception as error:
        failed[name] = f"{{type(error).__name__}}: {{error}}"
json.dumps({{"imported": imported, "failed": failed}})
""")
    # THEN every pure-Python module imports (no source ran), the handler package among them
    pure = [name for name in names if name.split(".")[0] not in NATIVE]
    assert {name for name in pure if name in outcome["failed"]} == set()
    assert {"example.http", "lambda_src.web.router", "typing_extensions"} <= set(outcome["imported"])
    # and the driver fails only where it looks for libpq, past its own bytecode
    assert "no pq wrapper available" in outcome["failed"]["psycopg"]
    assert not any("ran from source" in error for error in outcome["failed"].values())


def handler_responses(on_313: Python313, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    responses: list[dict[str, Any]] = on_313.run(f"""
import json
from example import http
json.dumps([http.handler(event, None) for event in json.loads({json.dumps(json.dumps(events))})])
""")
    return responses


def test_http_handler_answers_client_errors_on_313(on_313: Python313) -> None:
    # GIVEN API Gateway HTTP API (2.0) events that need no database
    events = {
        404: v2("GET", "/nowhere"),
        405: v2("DELETE", "/users"),
        400: v2("POST", "/users", raw_body="{not json", headers={"content-type": "application/json"}),
        415: v2("POST", "/users", raw_body="email=ada@example.com", headers={"content-type": "text/plain"}),
        422: v2("POST", "/users", {"email": "not an address", "name": "Ada"}),
    }
    # WHEN the handler, imported from its bytecode, answers them on Python 3.13
    responses = dict(zip(events, handler_responses(on_313, list(events.values()))))
    # THEN each gets its status and the JSON error body clients read
    assert {status: response["statusCode"] for status, response in responses.items()} == {s: s for s in events}
    assert all(response["headers"]["content-type"] == "application/json" for response in responses.values())
    errors = {status: body_of(response)["error"] for status, response in responses.items()}
    assert {status: error["code"] for status, error in errors.items()} == {
        404: "not_found", 405: "method_not_allowed", 400: "bad_request", 415: "unsupported_media_type",
        422: "validation_error"}
    assert responses[405]["headers"]["allow"] == "GET, POST"
    assert errors[400]["message"] == "Malformed JSON: JSONDecodeError"
    assert errors[415]["message"] == "Content-Type 'text/plain' is not accepted; send application/json"
    assert errors[422]["details"] == [{"field": "email", "message": "must be an email address"}]
    assert {error["requestId"] for error in errors.values()} == {"JKJaXmPLvHcESHB="}
