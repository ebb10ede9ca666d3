"""Memory allocation tuned for the model's working pattern: hundreds of short-lived arrays a quarter.

At national scale every stage makes temporary numpy arrays of a few megabytes (one value per firm).
By default glibc's ``malloc`` serves each from fresh pages of the kernel and returns them when freed,
so every temporary costs hundreds of page faults: about 440,000 in a 40-quarter national run, 15 % of
its time on this machine (``benchmarks/README.md``). Raising glibc's mmap and trim thresholds makes
freed arrays reusable from the heap instead. Peak memory is unchanged (the same arrays are alive at the
peak); the process simply keeps freed memory for its next arrays.

The same goes for the garbage collector: :func:`importing_the_model` keeps it from walking the
objects the imports make, which live as long as the process.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Iterator

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 * 2**20
"""Allocations below this many bytes come from the heap (glibc's default: 128 KiB, adapting up to 32 MiB).
Chosen above the largest per-firm array of the largest population (scale 10: ~3 million firms x 8 bytes)."""
TRIM_THRESHOLD = 512 * 2**20
"""Free memory at the top of the heap kept for reuse, bytes (glibc's default: 128 KiB, adapting).
Chosen about the peak memory of a national run (450 MB), so its temporaries are always reused."""

_done = False


def reuse_freed_memory() -> bool:
    """Set glibc's thresholds once per process; return whether they are set (False off glibc)."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, for instance): keep the defaults
        return False
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done


@contextlib.contextmanager
def importing_the_model() -> Iterator[None]:
    """Import the model (and whatever else lives as long as the process) with the garbage collector
    off, then freeze what was made and turn the collector on again if it was on.

    Those objects live as long as the process, yet the collector would walk all of them in every full
    collection: a few during the imports, twice more in a national run, every few runs of a sweep
    made in this process, at about 90 ms each. Frozen, they are skipped, and a process that forks
    workers (the pool's fork server) does not copy their pages into each worker by collecting them.
    Objects made afterwards are collected as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
