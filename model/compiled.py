"""Compiled per-firm loops: the one place that sets how the model's loops are compiled.

Most of a quarter is arithmetic over every active firm. In numpy each operation is a separate pass over
columns far larger than the processor's caches, so a stage of twenty operations reads memory twenty
times. A stage's arithmetic written as one loop over firms and compiled by numba reads each column
once. Loops follow numpy's error model (division by zero gives inf or nan, as in the numpy code they
replace), keep IEEE semantics (no fast-math reordering, so results are the same on every Python
numba supports), and are cached on disk next to the source, so a process compiles them once ever and
then only loads them (about 0.2 s for the first, milliseconds for each after).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numba

F = TypeVar("F", bound=Callable)


def per_firm(function: F) -> F:
    """Compile ``function``, a loop over firms written in plain Python, to machine code."""
    return numba.njit(cache=True, nogil=True, error_model="numpy")(function)

