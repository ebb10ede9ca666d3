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
- For the same reason a loop allocates the arrays it returns itself (``np.empty`` inside the loop)
  rather than filling arrays it is given: the compiler then knows they share memory with no input
  and can vectorise the loop. A copy of ``credit._spending``'s loop over 230,000 firms took
  0.39-0.57 ms so, and 1.07-1.6 ms with its four outputs passed in (``benchmarks/README.md``,
  session 9).

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
import os
import tempfile
from collections.abc import Callable
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
