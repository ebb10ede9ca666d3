"""Validation of smegrowth against stylised facts of firm dynamics and the 2024 calibration targets.

- :mod:`smegrowth.validation.stats`: estimators for the stylised facts (Pareto tail by maximum
  likelihood, growth-rate shape, volatility scaling with size, growth and exit by age).
- :mod:`smegrowth.validation.targets`: the published targets (``targets.yaml``) and their comparison
  with model statistics collected over replicate runs.
- :mod:`smegrowth.validation.simulate`: every target statistic from one model run
  (:func:`model_statistics`), from annual firm panels recorded while the model steps.
- :mod:`smegrowth.validation.report`: replicate runs on a process pool, the validation table and
  the figure panel (:func:`run_validation`; the ``smegrowth validate`` command).
"""

from smegrowth.validation.report import run_validation
from smegrowth.validation.simulate import model_statistics, record_run, run_replicate
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
    "model_statistics",
    "record_run",
    "run_replicate",
    "run_validation",
    "pareto_tail",
    "volatility_scaling",
    "young_vs_old",
]
