"""Cold start with the database: import + the first ``GET /users/{id}`` answered from a real PostgreSQL.

Three programs, each run as a fresh interpreter, several times, interleaved (``_common``'s rounds):

* **ours**: ``lambda_src.example.http.handler``;
* **Powertools**: an ``APIGatewayHttpResolver`` app with boto3's ``generate_db_auth_token`` and psycopg;
* **floor**: what no handler can avoid, written by hand: ``import psycopg``, connect, one query,
  the response dict (and, for IAM, a SigV4 token in twenty lines of hashlib/hmac).

Two ways in, as deployed and as in local development:

* **IAM**: through the local RDS Proxy stand-in (``devtools.rds_proxy``): TLS verify-full
  and an IAM token checked as RDS Proxy checks it;
* **password**: ``DATABASE_URL`` straight to the server's Unix socket.

Each with and without bytecode for the asset's modules. The host is Python 3.11 while Lambda runs
3.13, so the host's own 3.11 bytecode stands in for the 3.13 bytecode the asset ships: each program
runs from a directory laid out like ``/var/task`` (the handler package, psycopg, Powertools, copied
from this environment), once without any ``.pyc`` (every module compiled at each start, as Lambda
does for an asset without them, its ``/var/task`` being read-only) and once precompiled with
``compileall --invalidation-mode unchecked-hash``. The standard library and boto3/botocore (the
runtime's, not the asset's) keep their ``.pyc`` in both.

Target: ours <= 1.15x the floor. The figure is the median of in-process time from the first import to
the response (interpreter start-up, the same for all, excluded).
"""
from __future__ import annotations

import compileall
import json
import os
import py_compile
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from _common import PROJECT, copy_without_caches

RUNS = int(os.environ.get("BENCH_COLD_RUNS", "9"))
TARGET = 1.15
#: What the asset holds for each program (Powertools' app would ship Powertools; boto3 is the runtime's).
ASSET_PACKAGES = ("psycopg", "psycopg_binary", "psycopg_binary.libs", "typing_extensions.py", "aws_lambda_powertools")
#: Lambda's credentials, as the tests give them (the stand-in trusts exactly these).
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
               "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEJr//session+token/=", "AWS_REGION": "eu-west-1",
               "AWS_DEFAULT_REGION": "eu-west-1"}

PRELUDE = """
import os, sys, time, json
event = json.loads(os.environ['BENCH_EVENT'])
started = time.perf_counter()
"""
EPILOGUE = """
assert response['statusCode'] == 200 and json.loads(response['body'])['id'] == 1, response
print(json.dumps(time.perf_counter() - started))
"""
OURS = """
import lambda_src.example.http
response = lambda_src.example.http.handler(event, None)
"""
POWERTOOLS = """
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
import psycopg

app = APIGatewayHttpResolver()
connection = None

def connect():
    if os.environ.get('DATABASE_URL'):
        return psycopg.connect(os.environ['DATABASE_URL'], autocommit=True)
    import boto3
    host, port, user = os.environ['DB_HOST'], int(os.environ['DB_PORT']), os.environ['DB_USER']
    token = boto3.client('rds').generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user)
    return psycopg.connect(host=host, port=port, dbname=os.environ['DB_NAME'], user=user, password=token,
                           sslmode='verify-full', sslrootcert=os.environ['DB_SSL_ROOT_CERT'], autocommit=True)

@app.get('/users/<user_id>')
def get_user(user_id):
    global connection
    connection = connection or connect()
    row = connection.execute("SELECT id, email, name, bio, to_char(created_at, 'YYYY-MM-DD\\"T\\"HH24:MI:SS'), "
                             "to_char(updated_at, 'YYYY-MM-DD\\"T\\"HH24:MI:SS') FROM users WHERE id = %s",
                             (int(user_id),)).fetchone()
    return {'id': row[0], 'email': row[1], 'name': row[2], 'bio': row[3], 'createdAt': row[4], 'updatedAt': row[5]}

response = app.resolve(event, None)
"""
FLOOR = """
import psycopg

def iam_token(host, port, user):
    import hashlib, hmac
    from urllib.parse import quote
    now = time.gmtime()
    stamp, day, region = time.strftime('%Y%m%dT%H%M%SZ', now), time.strftime('%Y%m%d', now), os.environ['AWS_REGION']
    scope = f'{day}/{region}/rds-db/aws4_request'
    query = sorted([('Action', 'connect'), ('DBUser', user), ('X-Amz-Algorithm', 'AWS4-HMAC-SHA256'),
                    ('X-Amz-Credential', os.environ['AWS_ACCESS_KEY_ID'] + '/' + scope), ('X-Amz-Date', stamp),
                    ('X-Amz-Expires', '900'), ('X-Amz-Security-Token', os.environ['AWS_SESSION_TOKEN']),
                    ('X-Amz-SignedHeaders', 'host')])
    query = '&'.join(quote(k, safe='-_.~') + '=' + quote(v, safe='-_.~') for k, v in query)
    request = f'GET\\n/\\n{query}\\nhost:{host}:{port}\\n\\nhost\\n' + hashlib.sha256(b'').hexdigest()
    to_sign = f'AWS4-HMAC-SHA256\\n{stamp}\\n{scope}\\n' + hashlib.sha256(request.encode()).hexdigest()
    key = ('AWS4' + os.environ['AWS_SECRET_ACCESS_KEY']).encode()
    for part in (day, region, 'rds-db', 'aws4_request'):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return f'{host}:{port}/?{query}&X-Amz-Signature=' + hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()

if os.environ.get('DATABASE_URL'):
    connection = psycopg.connect(os.environ['DATABASE_URL'], autocommit=True)
else:
    host, port, user = os.environ['DB_HOST'], int(os.environ['DB_PORT']), os.environ['DB_USER']
    connection = psycopg.connect(host=host, port=port, dbname=os.environ['DB_NAME'], user=user,
                                 password=iam_token(host, port, user), sslmode='verify-full',
                                 sslrootcert=os.environ['DB_SSL_ROOT_CERT'], autocommit=True)
user_id = int(event['rawPath'].rsplit('/', 1)[1])
row = connection.execute("SELECT id, email, name, bio, to_char(created_at, 'YYYY-MM-DD\\"T\\"HH24:MI:SS'), "
                         "to_char(updated_at, 'YYYY-MM-DD\\"T\\"HH24:MI:SS') FROM users WHERE id = %s",
                         (user_id,)).fetchone()
response = {'statusCode': 200, 'headers': {'content-type': 'application/json'},
            'body': json.dumps({'id': row[0], 'email': row[1], 'name': row[2], 'bio': row[3],
                                'createdAt': row[4], 'updatedAt': row[5]})}
"""
PROGRAMS = {"ours": OURS, "Powertools": POWERTOOLS, "floor": FLOOR}


def task_root(directory: Path, *, bytecode: bool) -> Path:
    """A directory laid out like ``/var/task``: the handler package and the assets' dependencies,
    from this environment, without any ``.pyc`` or (``bytecode``) with unchecked-hash ones."""
    site = Path(sysconfig.get_paths()["purelib"])
    copy_without_caches(PROJECT / "lambda_src", directory / "lambda_src")
    for name in ASSET_PACKAGES:
        copy_without_caches(site / name, directory / name)
    if bytecode:
        assert compileall.compile_dir(directory, quiet=2, workers=0,
                                      invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return directory


def run_once(program: str, env: dict[str, str]) -> float:
    completed = subprocess.run([sys.executable, "-c", PRELUDE + PROGRAMS[program] + EPILOGUE], env=env,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{program} failed:\n{completed.stderr[-3000:]}")
    return float(json.loads(completed.stdout.strip().splitlines()[-1])) * 1000


def main() -> None:
    sys.path.insert(0, str(PROJECT))
    from devtools.iam_login import IamLoginCheck
    from devtools.rds_proxy import LocalRdsProxy
    from lambda_src.migrate import migrate
    from tests.lambda_src import pg

    event = (PROJECT / "tests" / "events" / "http_api_v2_get.json").read_text()
    with tempfile.TemporaryDirectory(prefix="bench-cold-db-") as scratch, pg.fresh_database("bench") as dsn:
        migrate(dsn)
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as connection:
            user_id, = connection.execute("INSERT INTO users (email, name) VALUES ('ada@example.com', 'Ada') RETURNING id").fetchone()
            assert user_id == 1, user_id
        login = IamLoginCheck(access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"], secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                              session_token=CREDENTIALS["AWS_SESSION_TOKEN"], region=CREDENTIALS["AWS_REGION"])
        with LocalRdsProxy(dsn, login=login) as proxy:
            base = {key: value for key, value in os.environ.items() if not key.startswith(("DB_", "DATABASE_URL"))}
            base.update(CREDENTIALS, PYTHONDONTWRITEBYTECODE="1", BENCH_EVENT=event)
            parts = urlsplit(dsn)
            ways = {
                "IAM": {"DB_HOST": proxy.host, "DB_PORT": str(proxy.port), "DB_NAME": parts.path.lstrip("/"),
                        "DB_USER": "app_user", "DB_SSL_ROOT_CERT": proxy.ca_file},
                "password": {"DATABASE_URL": dsn.replace(f"{parts.username}@", "app_user@", 1)
                             if parts.username else dsn},
            }
            roots = {mode: task_root(Path(scratch) / mode, bytecode=mode == "bytecode")
                     for mode in ("source", "bytecode")}
            print(f"{RUNS} fresh interpreters per figure, median ms from the first import to the response")
            print(f"{'case':<44}{'ours':>8}{'Powertools':>12}{'floor':>8}{'ours/floor':>12}{'Powertools/floor':>18}")
            for way, settings in ways.items():
                for mode, root in roots.items():
                    env = {**base, **settings, "PYTHONPATH": str(root)}
                    samples: dict[str, list[float]] = {program: [] for program in PROGRAMS}
                    for program in PROGRAMS:  # one untimed run each: the server's and the OS's caches
                        run_once(program, env)
                    for round_number in range(RUNS):  # interleaved, the order turning each round
                        order = list(PROGRAMS)[round_number % 3:] + list(PROGRAMS)[:round_number % 3]
                        for program in order:
                            samples[program].append(run_once(program, env))
                    medians = {program: statistics.median(values) for program, values in samples.items()}
                    ratio = medians["ours"] / medians["floor"]
                    label = f"{way}, {'3.11 .pyc (stand-in)' if mode == 'bytecode' else 'no .pyc'}"
                    print(f"{label:<44}{medians['ours']:>8.1f}{medians['Powertools']:>12.1f}{medians['floor']:>8.1f}"
                          f"{ratio:>11.2f}x{medians['Powertools'] / medians['floor']:>17.2f}x"
                          f"  {'OK' if ratio <= TARGET else 'OVER'} (target <= {TARGET}x)")


if __name__ == "__main__":
    main()
