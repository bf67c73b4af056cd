"""Connection attempts that fit one time budget, however many addresses the endpoint resolves to.

libpq, and psycopg after it, give *each* address of a host name the whole ``connect_timeout``: an
RDS Proxy endpoint with three addresses, all unreachable (a security group, a network ACL), would
wait three timeouts, long enough for Lambda to kill the invocation instead of the client getting a
503. Here the endpoint is resolved once, and each address gets its share of what is left of a single
deadline (never less than psycopg's 2 s minimum); an address that refuses at once leaves its time
to the next. The host name still goes to libpq with each address, so TLS verifies the certificate
against the name, not the address.
"""
from __future__ import annotations

import socket
import time

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")

#: psycopg raises any smaller ``connect_timeout`` to 2 s.
MIN_ATTEMPT_SECONDS = 2
#: An attempt overruns its timeout by a few milliseconds; the next still starts within this much
#: (the caller keeps a margin of the invocation's time for the response anyway).
SLACK_SECONDS = 0.25


def resolve(host: str, port: int) -> list[str]:
    """The IP addresses of ``host`` in resolver order, without repeats; none for a socket directory."""
    if host.startswith("/"):
        return []
    found: list[str] = []
    for *_, address in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP, type=socket.SOCK_STREAM):
        if address[0] not in found:
            found.append(address[0])
    return found


def connect_within(connect: Callable[[str | None, int], T], addresses: list[str], budget: float, *,
                   retry_on: tuple[type[BaseException], ...], clock: Callable[[], float] = time.monotonic) -> T:
    """``connect(address, timeout)`` for each address in turn until one succeeds, all within ``budget``.

    With no addresses (a Unix socket directory) there is one attempt, ``connect(None, budget)``.
    The last failure is raised when every address failed or the budget ran out.
    """
    deadline = clock() + budget
    targets: list[str | None] = list(addresses) or [None]
    failure: BaseException | None = None
    for index, address in enumerate(targets):
        left = deadline - clock()
        timeout = max(MIN_ATTEMPT_SECONDS, int(left / (len(targets) - index)))
        if failure is not None and timeout > left + SLACK_SECONDS:
            break  # no room for another whole attempt
        try:
            return connect(address, timeout)
        except retry_on as error:
            failure = error
    assert failure is not None
    raise failure
