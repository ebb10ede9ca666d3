"""Compiled per-firm loops: the one place that sets how the model's loops are compiled.

Most of a quarter is arithmetic over every active firm, and it is limited by memory traffic: in numpy
each operation is a separate pass over columns far larger than the processor's caches, so a stage of
twenty operations reads and writes memory twenty times. A stage's arithmetic written as one loop over
firms and compiled by numba reads each column once, and with :meth:`FirmState.editing` writes the
state in place.

Conventions of the loops (``@per_firm`` functions at the end of each stage's module):

- They reproduce the numpy code they replace bit for bit: the same operations in the same order, IEEE
  semantics (no fast-math reordering, so results are the same on every Python numba supports), and
  numpy's error model (division by zero gives inf or nan).
- Exponentials, logarithms and powers over all firms stay in numpy, between loops: numpy's vectorised
  versions are several times faster than the scalar calls a loop makes, and they give the model's
  results to the last bit. A loop may evaluate ``exp`` for the few firms that need it (see
  ``innovation._learn``).
- A loop over a subset of firms reads the columns through row indices (:meth:`FirmState.reading`)
  rather than gathering copies. A loop that compares a draw with each firm's chance computes the
  draw as it goes (``draws.uniform_of`` with the key from ``model.draw_key``): the same draws as
  ``model.uniform``, without a pass writing them to an array and another reading them back.
- Settings a loop reads for every firm are passed as numbers or tuple members, not in an array: the
  compiler cannot tell an array of settings from the firm columns the loop writes, so it would read
  the settings again after every write (``accounts._book`` ran 2.4 times faster when its flows' signs
  and flags moved from an array into tuples). Per-sector or per-kind tables indexed by each firm's
  code are arrays, as they must be.

Large runs use several processors: a loop whose firms are independent of each other (each firm
writes only its own entries, from its own inputs and draws) takes ``start, stop`` as its last
arguments and is called through :func:`in_parts`, which splits the firms into consecutive parts on
a few threads (the loops release Python's lock). Its results are then the same to the last bit
whatever the split, so a seed gives the same run on any machine; sums over firms by sector or bank
stay in loops of their own, over all firms in order. Sweeps that make several runs at once run each
on one thread (:func:`set_threads`), since their processes fill the cores already.

Compiled code is cached on disk: the first run after installing or editing the model compiles the
loops (several seconds, once); after that each process pays numba's start-up (~0.2 s) and loads each
loop from the cache (a few milliseconds) on first use. numba would only recompile a loop when its own
module changes, not when a helper or constant it uses from another module does (``maximum``, the
``Kind`` and ``Status`` codes), so the cache lives in a folder named after a digest of every module
that defines or feeds compiled loops: any edit to them starts a fresh cache (``NUMBA_CACHE_DIR``, if
set, is used instead).
"""

from __future__ import annotations

import hashlib
import operator
import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

import numba

F = TypeVar("F", bound=Callable)


def _cache_folder() -> str | None:
    """A writable folder for this version of the compiled loops: under the package's ``__pycache__``,
    else under the user's cache or temporary folder; None if none is writable (loops are then compiled
    in every process)."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        text = path.read_bytes()
        if b"per_firm" in text or path.name == "firm_state.py":
            digest.update(path.name.encode() + b"\0" + text)
    name = f"compiled-{digest.hexdigest()[:16]}"
    user = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "smegrowth"
    for base in (here / "__pycache__", user, Path(tempfile.gettempdir()) / "smegrowth"):
        folder = base / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return str(folder)
    return None


if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = _cache_folder() or ""


def per_firm(function: F) -> F:
    """Compile ``function``, a loop over firms written in plain Python, to machine code."""
    return numba.njit(cache=True, nogil=True, error_model="numpy")(function)


@per_firm
def maximum(a: float, b: float) -> float:
    """The larger of ``a`` and ``b`` as ``np.maximum`` gives it: NaN if either is NaN (Python's ``max``
    in a compiled loop would drop a NaN in second place)."""
    return a if a >= b or a != a else b


@per_firm
def minimum(a: float, b: float) -> float:
    """The smaller of ``a`` and ``b`` as ``np.minimum`` gives it: NaN if either is NaN."""
    return a if a <= b or a != a else b



def _cores() -> int:
    """Processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


MAX_THREADS = 4
"""The most threads :func:`in_parts` uses by default: the loops are limited by memory traffic, which
more threads do not add to."""
MIN_PART = 50_000
"""The fewest firms :func:`in_parts` gives a thread: handing a part to an idle thread and waiting
for it costs ~60 µs (measured on a 2-core virtual machine), and a loop spends 2-10 ns a firm, of
which a second thread saves only a part (the loops are limited by memory traffic)."""

_threads = min(_cores(), MAX_THREADS)
_pool: tuple[int, ThreadPoolExecutor] | None = None
"""(process id, executor) of the helper threads, made on first use in each process."""
_pool_lock = threading.Lock()


def threads() -> int:
    """How many threads :func:`in_parts` may use in this process."""
    return _threads


def set_threads(count: int | None) -> None:
    """Let :func:`in_parts` use ``count`` threads (None: the processors this process may run on, up
    to :data:`MAX_THREADS`). The setting is process-wide: runs already under way on other threads
    take it at their next loop. ``smegrowth run --threads`` sets it; sweep workers set 1."""
    global _threads, _pool
    if count is None:
        count = min(_cores(), MAX_THREADS)
    elif isinstance(count, bool) or not hasattr(count, "__index__") or operator.index(count) < 1:
        raise ValueError(f"threads must be a whole number of at least 1, not {count!r}")
    count = operator.index(count)
    with _pool_lock:
        if _pool is not None and count != _threads:
            if _pool[0] == os.getpid():  # an executor inherited through a fork is left alone
                _pool[1].shutdown(wait=False)  # parts already queued still run
            _pool = None
        _threads = count


def _helpers() -> ThreadPoolExecutor:
    """This process's helper threads (new after a fork: threads do not survive one)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max(_threads - 1, 1), thread_name_prefix="smegrowth-loops"))
        return _pool[1]


def in_parts(loop: Callable[..., None], n: int, *args: object) -> None:
    """Run the compiled ``loop(*args, start, stop)`` over firms ``[0, n)``: in one call, or, for a
    large population, split into consecutive parts of at least :data:`MIN_PART` firms that run at
    once, on this thread and up to :func:`threads` - 1 helper threads (the loops release the GIL).

    For loops whose firm ``i`` reads anything but writes only entry ``i`` of its outputs (arrays no
    other part writes), from its own inputs and the draws keyed by its id: the results are then the
    same to the last bit however the firms are split. Sums over firms (per sector, per bank) stay in
    loops of their own, over all firms in order. ``in_parts`` returns, or raises the first part's
    error, only once every part has ended.
    """
    parts = min(_threads, n // MIN_PART)
    if parts <= 1:
        loop(*args, 0, n)
        return
    bounds = [n * k // parts for k in range(parts + 1)]
    futures: list[Future] = []
    try:
        helpers = _helpers()
        for k in range(1, parts):
            try:
                futures.append(helpers.submit(loop, *args, bounds[k], bounds[k + 1]))
            except RuntimeError:  # the helpers are shutting down (interpreter exit): run it here
                loop(*args, bounds[k], bounds[k + 1])
        loop(*args, 0, bounds[1])
    finally:  # the other parts write the same arrays: they end before anything else happens
        _wait_for_all(futures)
    for future in futures:
        future.result()


def _wait_for_all(futures: list[Future]) -> None:
    """Wait until every one of ``futures`` is done, through a Ctrl-C too (raised once they are: the
    parts take milliseconds)."""
    interrupted: KeyboardInterrupt | None = None
    while True:
        try:
            wait(futures)
            break
        except KeyboardInterrupt as exc:
            interrupted = exc
    if interrupted is not None:
        raise interrupted
