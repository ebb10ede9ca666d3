"""Smooth functions of one variable tabulated once and evaluated by linear interpolation.

Some per-firm rules apply a costly but smooth function to every firm each quarter: the Beta quantile of
an innovation's size, the Weibull renewal hazard of equipment of a given age. Evaluating it on a fine
uniform grid once, then interpolating, costs a handful of array operations: the grid is uniform, so
each point finds its cell by arithmetic, not by search.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class Tabulated:
    """``f`` on ``[low, high]``, tabulated at ``cells + 1`` evenly spaced points.

    Calling it interpolates linearly between grid points; points above ``high`` get ``f`` evaluated
    exactly, points below ``low`` get ``f(low)``. The error is at most ``h**2 / 8 * max|f''|`` for a
    cell width ``h``.
    """

    def __init__(self, f: Callable[[np.ndarray], np.ndarray], low: float, high: float, cells: int = 4096) -> None:
        self.f = f
        self.low, self.high, self.cells = float(low), float(high), int(cells)
        self.values = np.asarray(f(np.linspace(self.low, self.high, self.cells + 1)), dtype=float)
        self._per_unit = self.cells / (self.high - self.low)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        position = np.asarray(x, dtype=float) - self.low
        position *= self._per_unit
        np.clip(position, 0.0, self.cells, out=position)
        cell = np.minimum(position.astype(np.intp), self.cells - 1)
        low = self.values[cell]
        position -= cell
        position *= self.values[cell + 1] - low
        position += low
        beyond = np.flatnonzero(np.asarray(x) > self.high)
        if beyond.size:
            position[beyond] = self.f(np.asarray(x, dtype=float)[beyond])
        return position
