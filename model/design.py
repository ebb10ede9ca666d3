"""Experimental designs: the sample points of a sweep's uncertainties.

* ``grid``: every combination of the listed values (the first uncertainty varies slowest);
* ``zip``: the i-th value of every list together;
* ``lhs``: a Latin hypercube of ``samples`` points in the ``{low, high}`` box (scipy.stats.qmc);
* ``sobol``: Saltelli's extension of a Sobol sequence (SALib), ``samples x (D + 2)`` points
  (``x (2D + 2)`` with ``second_order``), in SALib's order so that ``SALib.analyze.sobol`` can read
  the outcomes back by sample index;
* ``morris``: ``samples`` Morris trajectories (SALib) of ``D + 1`` points each on a grid of ``levels``
  levels, each point one parameter away from the last, for ``SALib.analyze.morris``'s elementary
  effects; the sample matrix is kept in the problem (``X``).

Integer parameters sampled from bounds are rounded to the nearest integer. The sampler's seed comes
from the scenario's root seed (:func:`smegrowth.seeds.design_seed`), so a design is reproducible.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .scenario import Scenario, Uncertainty
from .seeds import design_seed

MORRIS_LEVELS = 4
"""Levels of a morris design's grid unless the design gives ``levels`` (SALib's default)."""


@dataclass(frozen=True)
class DesignPoints:
    """The sample points of a sweep: one mapping ``uncertainty name -> value`` per point."""

    names: list[str]
    points: list[dict[str, Any]]
    problem: dict[str, Any] | None = field(default=None)
    """SALib problem definition (names, bounds) for lhs and sobol designs, for later analysis."""


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so points serialise to JSON and YAML cleanly."""
    return value.item() if isinstance(value, np.generic) else value


def _scaled(unit: np.ndarray, axes: list[Uncertainty]) -> list[dict[str, Any]]:
    from scipy.stats import qmc

    lows = np.array([u.low for u in axes], dtype=float)
    highs = np.array([u.high for u in axes], dtype=float)
    values = qmc.scale(unit, lows, highs) if unit.size else unit
    return _as_points(values, axes)


def _as_points(values: np.ndarray, axes: list[Uncertainty]) -> list[dict[str, Any]]:
    points = []
    for row in values:
        point = {}
        for u, v in zip(axes, row, strict=True):
            point[u.name] = int(round(float(v))) if u.integer else float(v)
        points.append(point)
    return points


def sample_points(scenario: Scenario) -> DesignPoints:
    """The design's sample points (one empty point when the scenario has no uncertainties)."""
    design = scenario.design
    axes = scenario.uncertainties()
    names = [u.name for u in axes]
    if design is None or not axes:
        return DesignPoints(names, [{}])
    if design.type in ("grid", "zip"):
        lists = [u.values or () for u in axes]
        combos = itertools.product(*lists) if design.type == "grid" else zip(*lists, strict=True)
        points = [{n: _plain(v) for n, v in zip(names, combo, strict=True)} for combo in combos]
        return DesignPoints(names, points)
    problem = {
        "num_vars": len(axes),
        "names": names,
        "bounds": [[u.low, u.high] for u in axes],
    }
    seed = design_seed(scenario.seed)
    # imported here: scipy.stats and SALib take ~0.6 s to import, which every sweep worker would pay
    from SALib.sample import morris as salib_morris
    from SALib.sample import sobol as salib_sobol
    from scipy.stats import qmc

    if design.type == "lhs":
        sampler = qmc.LatinHypercube(d=len(axes), rng=np.random.default_rng(seed))
        unit = sampler.random(design.samples)
        return DesignPoints(names, _scaled(unit, axes), problem)
    if design.type == "morris":
        levels = design.levels or MORRIS_LEVELS
        values = salib_morris.sample(problem, int(design.samples or 0), num_levels=levels, seed=seed)
        problem = {**problem, "num_levels": levels, "samples": design.samples, "X": values.tolist()}
        return DesignPoints(names, _as_points(values, axes), problem)
    values = salib_sobol.sample(problem, int(design.samples or 0),
                                calc_second_order=design.second_order, scramble=True, seed=seed)
    problem = {**problem, "calc_second_order": design.second_order, "samples": design.samples}
    return DesignPoints(names, _as_points(values, axes), problem)
