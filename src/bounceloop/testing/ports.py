"""Loopback ports that fail in a known way: refused, or silently timing out.

The delivery engine must tell a refused connection (RST: the host is up, nothing listens)
from a connect timeout (SYNs vanish: firewall, dead host), because both are step 2 errors
with different texts and retry behaviour. These helpers provoke each one for real on
127.0.0.1, without a firewall and without leaving the loopback network.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

__all__ = ["blackhole_port", "closed_port", "free_port"]


def _bound_port(host: str, kind: socket.SocketKind) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago, for a server that must be told its port
    up front (a subprocess, a second listener on another loopback address).

    Prefer binding port 0 and reading the port back when the code allows it: another
    process may take this port between the call and the bind.
    """
    return _bound_port(host, socket.SOCK_STREAM)


def closed_port(host: str = "127.0.0.1") -> int:
    """A TCP port where nothing listens, so a connect fails at once with ECONNREFUSED.

    The port is bound (so the kernel picks one out of the ephemeral range nobody uses)
    and released straight away; connecting to it gets a RST from the loopback stack.
    """
    return _bound_port(host, socket.SOCK_STREAM)


@contextlib.contextmanager
def blackhole_port(host: str = "127.0.0.1", *, max_fillers: int = 8) -> Iterator[int]:
    """Yield a TCP port where a new connect genuinely times out (no RST, no SYN-ACK).

    A listener with ``listen(0)`` that never accepts has room for one established
    connection in its accept queue; non-blocking connects fill it, and from then on Linux
    drops further SYNs on the floor (``tcp_v4_syn_recv_sock``: accept queue full), so the
    client keeps retransmitting its SYN until its own timeout. This is Linux behaviour:
    other kernels may answer RST or queue more, which is why the filling is adaptive (it
    stops at the first filler that does not complete) and the docstring says so.

    Everything is closed when the context exits.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind((host, 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        for _ in range(max_fillers):
            filler = socket.socket(family, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            filler.connect_ex((host, port))
            if not _completes(filler, within=0.05):
                break
        else:
            raise RuntimeError(f"accept queue of {host}:{port} never filled up")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _completes(sock: socket.socket, *, within: float) -> bool:
    """Whether a non-blocking connect finished its handshake within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            sock.getpeername()
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        else:
            return True
