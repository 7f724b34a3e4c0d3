"""The port helpers fail connects the way they promise, seen by asyncio's own connect."""

from __future__ import annotations

import asyncio
import socket
import sys
import time

import pytest

from bounceloop.testing.ports import blackhole_port, closed_port, free_port

LINUX_ONLY = pytest.mark.skipif(
    sys.platform != "linux", reason="dropping SYNs on a full accept queue is Linux behaviour")


async def test_closed_port_refuses_at_once() -> None:
    port = closed_port()
    started = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
    assert time.monotonic() - started < 0.5


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert sock.getsockname()[1] == port


def test_free_port_on_other_loopback_address() -> None:
    # 127.0.0.0/8 is all loopback on Linux: the MX fallback tests bind 127.0.0.2 and .3.
    port = free_port("127.0.0.2")
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", port))


@LINUX_ONLY
async def test_blackhole_port_times_out_instead_of_refusing() -> None:
    with blackhole_port() as port:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 0.3)
        elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.0
    # Once the context is left nothing listens any more: the same port now refuses.
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)


@LINUX_ONLY
def test_blackhole_port_blocks_a_plain_socket_connect_too() -> None:
    with blackhole_port() as port, socket.socket() as sock:
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.connect(("127.0.0.1", port))
