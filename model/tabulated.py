"""Smooth functions of one variable tabulated once and evaluated by linear interpolation.

Some per-firm rules apply a costly but smooth function to every firm each quarter: the Beta quantile of
an innovation's size, the Weibull renewal hazard of equipment of a given age. Evaluating it on a fine
uniform grid once, then interpolating, costs a handful of array operations: the grid is uniform, so
each point finds its cell by arithmetic, not by search, in one compiled loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .compiled import maximum, minimum, per_firm


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
        self.per_unit = self.cells / (self.high - self.low)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        flat = x.ravel()
        y = _interpolate(self.values, self.low, self.per_unit, self.cells, flat)
        beyond = np.flatnonzero(flat > self.high)
        if beyond.size:
            y[beyond] = self.f(flat[beyond])
        return y.reshape(x.shape)


@per_firm
def interpolated(values: np.ndarray, low: float, per_unit: float, cells: int, x: float) -> float:
    """Linear interpolation at ``x`` in the table ``values`` of a grid starting at ``low`` with
    ``per_unit`` cells per unit of ``x`` (points off the grid get the value at its nearer end); for
    compiled loops that evaluate a tabulated function inline. NaN gives NaN."""
    if x != x:
        return np.nan
    position = minimum(maximum((x - low) * per_unit, 0.0), float(cells))
    cell = minimum(int(position), cells - 1)
    return (position - cell) * (values[cell + 1] - values[cell]) + values[cell]


@per_firm
def _interpolate(values: np.ndarray, low: float, per_unit: float, cells: int, x: np.ndarray) -> np.ndarray:
    y = np.empty(x.size)
    for i in range(x.size):
        y[i] = interpolated(values, low, per_unit, cells, x[i])
    return y
