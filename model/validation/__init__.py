"""Validation of smegrowth against stylised facts of firm dynamics and the 2024 calibration targets.

- :mod:`smegrowth.validation.stats`: estimators for the stylised facts (Pareto tail by maximum
  likelihood, growth-rate shape, volatility scaling with size, growth and exit by age).
- :mod:`smegrowth.validation.targets`: the published targets (``targets.yaml``) and their comparison
  with model statistics collected over replicate runs.
"""

from smegrowth.validation.stats import (
    GrowthShape,
    TailFit,
    VolatilityFit,
    by_age,
    growth_rates,
    growth_shape,
    pareto_tail,
    volatility_scaling,
    young_vs_old,
)
from smegrowth.validation.targets import Target, compare, load_targets

__all__ = [
    "GrowthShape",
    "TailFit",
    "Target",
    "VolatilityFit",
    "by_age",
    "compare",
    "growth_rates",
    "growth_shape",
    "load_targets",
    "pareto_tail",
    "volatility_scaling",
    "young_vs_old",
]
