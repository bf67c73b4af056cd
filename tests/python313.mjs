// Python 3.13 for the tests: Pyodide (CPython 3.13 on WebAssembly), loaded once, running what the
// test session sends. One JSON request per line on standard input, one JSON answer per line on
// standard output:
//
//   {"mount": "<host directory>", "at": "/var/task"}  ->  {"ok": true}
//   {"run": "<Python code whose last expression is a str>"}  ->  {"ok": true, "result": "<that str>"}
//
// A failure answers {"ok": false, "error": "<traceback>"}. Python's own output goes to standard error.
// Usage: node python313.mjs <node_modules/pyodide>
import path from "node:path";
import readline from "node:readline";
import { pathToFileURL } from "node:url";

const pyodideDir = process.argv[2];
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const toStderr = (line) => process.stderr.write(line + "\n");
const pyodide = await loadPyodide({ indexURL: pyodideDir + path.sep, stdout: toStderr, stderr: toStderr });

function answer(request) {
  if (request.mount !== undefined) {
    pyodide.FS.mkdirTree(request.at);
    pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: request.mount }, request.at);
    return { ok: true };
  }
  return { ok: true, result: pyodide.runPython(request.run) };
}

process.stdout.write(JSON.stringify({ ok: true, ready: true }) + "\n");
for await (const line of readline.createInterface({ input: process.stdin })) {
  let reply;
  try {
    reply = answer(JSON.parse(line));
  } catch (error) {
    reply = { ok: false, error: String(error) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
