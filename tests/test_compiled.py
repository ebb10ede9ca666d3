"""Compiled per-firm loops (smegrowth.compiled) behave like the numpy code they replaced: NaN is
propagated, not hidden, and the public calls built on them accept what they accepted before."""

import itertools

import numpy as np
import pytest
from smegrowth import EnterpriseModel
from smegrowth.compiled import maximum, minimum
from smegrowth.investment import InvestmentPlanner

VALUES = [np.nan, -np.inf, -1.5, -0.0, 0.0, 2.0, np.inf]


@pytest.mark.parametrize("a, b", list(itertools.product(VALUES, VALUES)))
def test_maximum_and_minimum_are_numpys_including_nan(a, b):
    for compiled, reference in ((maximum, np.maximum), (minimum, np.minimum)):
        got, want = compiled(a, b), reference(a, b)
        assert (np.isnan(got) and np.isnan(want)) or got == want


def test_a_nan_state_shows_in_the_outcomes_instead_of_being_hidden():
    model = EnterpriseModel(scale=0.01, rng=2)
    model.state.capital[3] = np.nan
    model.run(1)
    assert np.isnan(model.timeseries()["revenue"].iloc[-1])


def test_credit_calls_accept_masks_lists_and_scalar_probabilities():
    model = EnterpriseModel(scale=0.01, rng=2)
    credit, st = model.credit, model.state
    rows = np.flatnonzero(st.active() & (st.debt > 0))[:20]
    mask = np.zeros(st.n, dtype=bool)
    mask[rows] = True
    by_rows = credit.default_probability(model, rows)
    assert np.array_equal(credit.default_probability(model, mask), by_rows)
    assert np.array_equal(credit.default_probability(model, rows.tolist()), by_rows)
    assert np.array_equal(credit.quote(model, rows, pd=0.02), credit.quote(model, rows, pd=np.full(rows.size, 0.02)))


def test_tabulated_rules_keep_the_shape_of_their_input_and_give_nan_for_nan():
    hazard = InvestmentPlanner.renewal_hazard(10.0, 3.0)
    ages = np.array([[0.0, 5.0], [np.nan, 50.0]])
    got = hazard(ages)
    assert got.shape == (2, 2) and np.isnan(got[1, 0]) and np.isfinite(got[0]).all() and got[1, 1] > got[0, 1]
