"""Worker processes that die with the process that started them.

A service killed by SIGKILL (or the OOM killer) shuts no pool down, and a
``ProcessPoolExecutor`` worker then waits for calls forever: multiprocessing gives it both
ends of its call queue's pipe, so no end-of-file ever tells it. Its database connection
and its files stay open. Each such worker calls :func:`guard` first (as the pool's
initializer, or from it).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import threading
import time


def guard(parent: int) -> None:
    """In a worker process: die with ``parent`` (the pid of the process that started it).
    Linux delivers SIGKILL at the parent's death (prctl PR_SET_PDEATHSIG); elsewhere a
    thread watches for the parent to change."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="orphan-guard", daemon=True).start()


__all__ = ["guard"]
