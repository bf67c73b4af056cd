// Compiles Python sources to unchecked-hash .pyc with Pyodide (CPython built for WebAssembly), for
// constructs_lib/bytecode.py. Reads one JSON job on standard input:
//
//   {"pyodide": "<node_modules/pyodide>", "bundle": "<dir>", "cache": "<dir>",
//    "snapshot": "<file>" or null,
//    "files": [["<source, relative to bundle>", "<its name in tracebacks>", "<.pyc, relative to cache>"], ...]}
//
// and prints one JSON line on standard output:
//
//   {"python": "3.13.2", "cacheTag": "cpython-313", "magic": "f30d0d0a", "start": "snapshot" | "full" | ...,
//    "compiled": ["<source>", ...], "errors": [["<source>", "<message>"], ...]}
//
// Python's own output goes to standard error. With "snapshot", Pyodide starts from that memory
// snapshot (about 0.4 s instead of 2 s); when it is missing, a full start writes it for next time.
// One that fails to load is removed and a full start made; failures that end the process are
// retried by bytecode.py the same way.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";

// Baseline WebAssembly code only: optimising Pyodide's 8 MB of it in the background costs more CPU
// than a run this short gains from it (a start from the snapshot takes 0.4 s instead of 0.6-0.9 s).
v8.setFlagsFromString("--liftoff-only");

const job = JSON.parse(fs.readFileSync(0, "utf8"));
const { loadPyodide } = await import(pathToFileURL(path.join(job.pyodide, "pyodide.mjs")).href);
const toStderr = (line) => process.stderr.write(line + "\n");
const options = { indexURL: job.pyodide + path.sep, stdout: toStderr, stderr: toStderr };
// imported before a snapshot is taken, so a start from it has them loaded already
const PRELOAD = "import json, os, py_compile";

async function start() {
  if (job.snapshot && fs.existsSync(job.snapshot)) {
    try {
      return [await loadPyodide({ ...options, _loadSnapshot: fs.readFileSync(job.snapshot) }), "snapshot"];
    } catch (error) {
      toStderr(`pyodide_compile: the snapshot ${job.snapshot} did not load (${error}); starting in full`);
      fs.rmSync(job.snapshot, { force: true });
    }
  }
  if (!job.snapshot) {
    return [await loadPyodide(options), "full"];
  }
  const pyodide = await loadPyodide({ ...options, _makeSnapshot: true });
  pyodide.runPython(PRELOAD);
  try {
    const partial = `${job.snapshot}.${process.pid}.partial`;
    fs.mkdirSync(path.dirname(job.snapshot), { recursive: true });
    fs.writeFileSync(partial, pyodide.makeMemorySnapshot());
    fs.renameSync(partial, job.snapshot);
    return [pyodide, "full, snapshot written"];
  } catch (error) {
    toStderr(`pyodide_compile: no snapshot written (${error})`);
    return [pyodide, "full"];
  }
}

const [pyodide, started] = await start();
for (const [mountPoint, root] of [["/bundle", job.bundle], ["/cache", job.cache]]) {
  pyodide.FS.mkdirTree(mountPoint);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root }, mountPoint);
}
pyodide.globals.set("job_files", JSON.stringify(job.files));
const report = pyodide.runPython(`
${PRELOAD}
import importlib.util, sys

compiled, errors = [], []
for source, shown_as, output in json.loads(job_files):
    try:
        py_compile.compile("/bundle/" + source, cfile="/cache/" + output, dfile=shown_as, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        compiled.append(source)
    except Exception as error:  # PyCompileError (syntax, encoding) or OSError: reported per file
        errors.append([source, str(getattr(error, "msg", error)).strip()])
json.dumps({"python": sys.version.split()[0], "cacheTag": sys.implementation.cache_tag,
            "magic": importlib.util.MAGIC_NUMBER.hex(), "compiled": compiled, "errors": errors})
`);
process.stdout.write(JSON.stringify({ ...JSON.parse(report), start: started }) + "\n");
