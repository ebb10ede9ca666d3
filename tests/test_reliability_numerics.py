"""Numerical robustness: extreme but valid parameters and lever sizes keep every output finite and
the accounts balanced.

Each case runs ``EnterpriseModel(scale=0.02, ..., check_accounts=True).run(8)``: the stock-flow
identities are checked every quarter (money conserved, firm net worth, bank balance sheets,
central-bank claims, budgets never exceeded) and every number in the time series and the run
summary must be finite. The exhaustive version, every numeric parameter at the bounds of its valid
range, is marked slow (``pytest -m slow``).
"""

from __future__ import annotations

import math
import warnings

import annotated_types as at
import numpy as np
import pytest
from smegrowth import EnterpriseModel, Parameters
from smegrowth.levers.base import LEVERS
from smegrowth.scenario import default_parameters

SECTORS = list(Parameters().sectors)
ALL_LEVERS = sorted(LEVERS)


def every_sector(field: str, value: float) -> dict[str, float]:
    return {f"sectors.{s}.{field}": value for s in SECTORS}


CASES = {
    "flat demand: growth 0 and volatility 0 everywhere": dict(
        parameters={**every_sector("demand_growth", 0.0),
                    **every_sector("demand_volatility", 0.0)}),
    "demand collapse: growth -50 %/yr, volatility 0.5": dict(
        parameters={**every_sector("demand_growth", -0.5),
                    **every_sector("demand_volatility", 0.5)}),
    "demand boom: growth 100 %/yr": dict(parameters=every_sector("demand_growth", 1.0)),
    "default probabilities near 1 (pd_intercept +5)": dict(
        parameters={"credit.pd_intercept": 5.0}),
    "default probabilities of 1 (pd_intercept +50)": dict(
        parameters={"credit.pd_intercept": 50.0}),
    "default probabilities of 0 (pd_intercept -50)": dict(
        parameters={"credit.pd_intercept": -50.0}),
    "banks accept any risk (max_pd 1.0)": dict(parameters={"credit.max_pd": 1.0}),
    "any risk and very high default rates": dict(
        parameters={"credit.max_pd": 1.0, "credit.pd_intercept": 5.0}),
    "no entry": dict(parameters={"entry.annual_entrants": 0}),
    "no entry, no venture rounds, no IPO window": dict(
        parameters={"entry.annual_entrants": 0, "venture.round_rate": 0.0,
                    "listing.ipo_capacity": 0.0}),
    "reloan quota 1e9 at scale 20": dict(levers={"reloan": {"quota": 1e9, "scale": 20.0}}),
    "every lever but trade_in at scale 20, unlimited budgets": dict(
        levers={n: {"scale": 20.0, "budget": None} for n in ALL_LEVERS if n != "trade_in"}),
    "every lever with a budget of 0": dict(levers={n: {"budget": 0.0} for n in ALL_LEVERS}),
    "every lever with a budget of 1e15": dict(levers={n: {"budget": 1e15} for n in ALL_LEVERS}),
    "every lever switched off (scale 0)": dict(levers={n: {"scale": 0.0} for n in ALL_LEVERS}),
    "trade_in at scale 6 (subsidies at 90 % of the price of e-bikes and appliances)": dict(
        levers={"trade_in": {"scale": 6.0}}),
}


def run_and_check(parameters=None, levers=None, scale: float = 0.02, quarters: int = 8):
    model = EnterpriseModel(scale=scale, rng=20241014, parameters=parameters, levers=levers,
                            check_accounts=True)
    ts = model.run(quarters)
    numbers = ts.select_dtypes("number")
    bad = [c for c in numbers if not np.isfinite(numbers[c].to_numpy(dtype=float)).all()]
    assert not bad, f"non-finite outcomes: {bad}"
    summary = model.summary()
    bad = [k for k, v in summary.items() if isinstance(v, float) and not math.isfinite(v)]
    assert not bad, f"non-finite summary: {bad}"
    assert len(ts) == quarters + 1
    return ts


@pytest.mark.parametrize("case", list(CASES))
def test_extreme_but_valid_settings_stay_finite_and_balanced(case):
    run_and_check(**CASES[case])


@pytest.mark.parametrize("scale", [6.7, 7.5, 20.0])
def test_trade_in_subsidies_as_large_as_the_price_stay_finite(scale):
    """Scaled so far that the subsidy would reach the price of e-bikes, appliances (6.67) and NEVs
    (7.5), the lever still leaves buyers a minimum net price and everything stays finite."""
    ts = run_and_check(levers={"trade_in": {"scale": scale}})
    assert ts["fiscal_cost"].sum() > 0


def test_smallest_population_runs():
    """A scale at which only a handful of firms are simulated still runs (and stays finite)."""
    run_and_check(scale=2e-5, quarters=8)


# --- slow: every numeric parameter at the bounds of its valid range -------------------------------


def _bounds(name: str) -> list[float]:
    """Values at the edges of a parameter's valid range; 10x its default where it has none."""
    parts = name.split(".")
    obj = Parameters()
    for part in parts[:-1]:
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    field = type(obj).model_fields[parts[-1]]
    default = getattr(obj, parts[-1])  # sector fields have no class default
    low = high = None
    for m in field.metadata:
        if isinstance(m, at.Ge):
            low = m.ge
        elif isinstance(m, at.Gt):
            low = m.gt + (1 if isinstance(default, int) else 1e-6 * max(1.0, abs(m.gt)))
        elif isinstance(m, at.Le):
            high = m.le
        elif isinstance(m, at.Lt):
            high = m.lt - (1 if isinstance(default, int) else 1e-6 * max(1.0, abs(m.lt)))
    if low is None:
        low = -10 * abs(default) if default else -1.0
    if high is None:
        high = 10 * abs(default) if default else 1.0
    return [type(default)(v) for v in (low, high)]


NUMERIC = sorted(k for k, v in default_parameters().items()
                 if isinstance(v, int | float) and not isinstance(v, bool))


@pytest.mark.slow
@pytest.mark.parametrize("name", NUMERIC)
def test_every_parameter_at_its_bounds(name):
    for value in _bounds(name):
        try:
            Parameters().override({name: value})
        except ValueError:
            continue  # outside the valid range after all (e.g. little giants > SRDI firms)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            run_and_check(parameters={name: value}, scale=0.01, quarters=6)
