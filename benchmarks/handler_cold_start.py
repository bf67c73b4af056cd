"""Cold start in a fresh process, ours beside the Powertools version, measured in the same run.

1. import + first GET, no database connect (DB call stubbed): target <= 0.3x Powertools.
2. the same plus the driver import and the first IAM token: target <= 0.5x Powertools + a boto3
   ``rds`` client (generate_db_auth_token) + the same driver.
Each figure is the median of several fresh interpreters (interpreter start-up itself excluded).
The first two rows run as this environment is (the project's modules without ``.pyc``, as in a
Lambda asset bundled without them); the last two with every module precompiled, for both sides.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from _common import PROJECT

RUNS = int(os.environ.get("BENCH_COLD_RUNS", "9"))
PRELUDE = f"""
import os, sys, time, json
sys.path.insert(0, {str(PROJECT)!r}); sys.path.insert(0, {str(PROJECT / 'benchmarks')!r})
os.environ.update(AWS_ACCESS_KEY_ID='AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY='secret', AWS_SESSION_TOKEN='token',
                  AWS_REGION='eu-west-1', AWS_DEFAULT_REGION='eu-west-1', POWERTOOLS_SERVICE_NAME='bench')
os.environ.pop('DATABASE_URL', None)
event = json.load(open({str(PROJECT / 'tests' / 'events' / 'http_api_v2_get.json')!r}))
started = time.perf_counter()
"""

OURS_GET = """
import lambda_src.example.http as h
from lambda_src.db import connection
from _common import stub_transaction
connection.transaction = stub_transaction
assert h.handler(event, None)['statusCode'] == 200
"""
POWERTOOLS_GET = """
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from _common import stub_transaction
app = APIGatewayHttpResolver()
@app.get('/users/<user_id>')
def get_user(user_id):
    row = stub_transaction(lambda tx: tx.one('SELECT', (int(user_id),)))
    return {'id': row[0], 'email': row[1], 'name': row[2], 'createdAt': row[4], 'updatedAt': row[5]}
assert app.resolve(event, None)['statusCode'] == 200
"""
OURS_TOKEN = """
import psycopg
from lambda_src.db import connection
from lambda_src.aws import Credentials
connection.tokens.get(host='prx.proxy-abc.eu-west-1.rds.amazonaws.com', port=5432, user='app_user',
                      region='eu-west-1', credentials=Credentials.from_environment())
"""
BOTO_TOKEN = """
import psycopg, boto3
boto3.client('rds').generate_db_auth_token('prx.proxy-abc.eu-west-1.rds.amazonaws.com', 5432, 'app_user')
"""
EPILOGUE = "\nprint(json.dumps(time.perf_counter() - started))\n"


def measure(body: str, pycache: str | None = None) -> float:
    """Median milliseconds over fresh interpreters.

    Without ``pycache``: as this environment runs it, i.e. whatever ``.pyc`` files exist (installed
    packages have them, the project's own modules do not while PYTHONDONTWRITEBYTECODE is set), which
    is also what a Lambda asset bundled without ``.pyc`` gives. With ``pycache``: every module
    precompiled into that directory by one warm-up run first, for both sides alike.
    """
    env = dict(os.environ)
    if pycache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    command = [sys.executable, "-c", PRELUDE + body + EPILOGUE]
    if pycache:
        subprocess.run(command, capture_output=True, check=True, env=env)
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]) * 1000)
    return statistics.median(samples)


def main() -> None:
    import tempfile

    cases = (("get", OURS_GET, POWERTOOLS_GET, "cold: import + first GET, no DB connect (ms)", "0.30"),
             ("full", OURS_GET + OURS_TOKEN, POWERTOOLS_GET + BOTO_TOKEN, "cold: + driver import + first IAM token (ms)",
              "0.50"))
    print(f"{'measure':<58}{'ours':>9}{'anchor':>9}  ratio")
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as pycache:
        for cache, suffix in ((None, ""), (pycache, ", all .pyc")):
            for _, ours_body, anchor_body, label, target in cases:
                ours, anchor = measure(ours_body, cache), measure(anchor_body, cache)
                print(f"{label.replace(' (ms)', suffix + ' (ms)'):<58}{ours:>9.1f}{anchor:>9.1f}  {ours / anchor:.2f}x"
                      f"  target <= {target}x")


if __name__ == "__main__":
    main()
