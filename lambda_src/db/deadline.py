"""A client-side deadline for a transaction: past it, the connection's socket is shut down.

A statement on a database that stopped answering (a frozen server, a failover caught half-way, a
route silently dropping packets) or simply running long must not keep the function waiting until
Lambda kills it: the client gets a 503 with ``Retry-After`` while there is still time to send one.

**Why on the client, and not PostgreSQL's** ``statement_timeout``. The connection goes through
RDS Proxy and is reused across invocations with different remaining times, and every way of
handing PostgreSQL a timeout costs either pinning or a round trip:

* ``options=-c statement_timeout=…`` in the startup packet: RDS Proxy does not accept the
  ``options`` startup parameter at all (projects moving to the proxy report the login failing
  and had to drop it: dagster-io/dagster#11762, cds-snc/notification-api#1334, n8n-io/n8n#25705);
  and it would be one fixed value for a connection whose invocations each have a different
  remaining time.
* ``SET statement_timeout`` (and ``set_config(…, false)``) pins: AWS's "Avoiding pinning an RDS
  Proxy" lists SET commands and setting or resetting a parameter among the PostgreSQL conditions
  that pin the client connection to one database connection until it disconnects. With one
  connection per container kept for the container's life, that ends multiplexing altogether.
* ``SET LOCAL`` / ``set_config(…, true)`` inside the request's transaction is still "setting a
  parameter" for the proxy's rule (AWS documents no exception for it), and it is a statement of
  its own: psycopg sends parameterised queries with the extended protocol, which takes one
  statement per query, so it could not ride along with the first statement: one more round trip
  on every request.
* A cancel request cannot be relied on either: RDS Proxy sends no ``BackendKeyData`` (so the
  client holds no key to cancel with; pgdogdev/pgdog#918), and a frozen server would not act on
  one anyway.

And none of these helps when the server is frozen: its timer cannot fire while it is stopped,
while the kernel keeps acknowledging the TCP traffic, so keepalives see a healthy peer.

**What happens instead.** :class:`Watchdog` is one daemon thread per container. A transaction
arms it with its connection's socket and its deadline (the invocation's remaining time less a
margin for the response), and disarms it when it ends; nothing is sent to the server, so nothing
pins and no round trip is added. If the deadline passes first, the watchdog shuts the socket down
(``shutdown(2)`` on a duplicate of libpq's descriptor): the call blocked in psycopg wakes with
``OperationalError``, the connection is broken, and :func:`lambda_src.db.connection.transaction`
drops it and answers 503; the next invocation opens a new one. What the server was doing is not
cancelled: a statement cut off this way runs on until it ends (PostgreSQL notices the closed
client only when it next talks to it), its transaction is rolled back then, never committed.
"""
from __future__ import annotations

import os
import socket
import threading
import time

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from collections.abc import Callable


def shut_down(fd: int) -> None:
    """Shut down both directions of the socket behind ``fd`` (libpq's descriptor stays open and
    libpq's to close); a descriptor that is no socket, or not connected, is left alone."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


class Watchdog:
    """Shuts down the socket of a transaction that outlives its deadline.

    :meth:`arm` before the transaction's first round trip, :meth:`disarm` after its last: it
    answers whether the deadline struck in between. One transaction at a time (the container's
    single connection). ``clock`` is :func:`time.monotonic`, the clock deadlines are read on.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._condition = threading.Condition(threading.Lock())
        self._fd: int | None = None
        self._deadline: float | None = None
        self._struck = False
        #: When the thread wakes next by itself (None: only when notified).
        self._wakes_at: float | None = None
        self._thread: threading.Thread | None = None

    def arm(self, fd: int, deadline: float) -> None:
        """Watch socket ``fd`` until ``deadline`` (on :attr:`clock`)."""
        with self._condition:
            self._fd, self._deadline, self._struck = fd, deadline, False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="db-deadline", daemon=True)
                self._thread.start()
            elif self._wakes_at is None or deadline < self._wakes_at:
                # A thread waking by itself before the deadline finds it anyway: no notify, so a
                # warm invocation's transactions (deadlines close together) cost no thread switch.
                self._condition.notify()

    def disarm(self) -> bool:
        """Stop watching; True when the deadline struck (the socket was shut down)."""
        with self._condition:
            struck = self._struck
            self._fd = self._deadline = None
            self._struck = False
            return struck

    def _watch(self) -> None:
        with self._condition:
            while True:
                if self._deadline is None or self._fd is None:
                    self._wakes_at = None
                    self._condition.wait()
                    continue
                left = self._deadline - self.clock()
                if left > 0:
                    self._wakes_at = self._deadline
                    self._condition.wait(left)
                    continue
                shut_down(self._fd)
                self._struck = True
                self._deadline = None


watchdog = Watchdog()

__all__ = ["Watchdog", "shut_down", "watchdog"]
