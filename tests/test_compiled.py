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


def test_the_renewal_hazard_by_vintage_is_the_tabulated_hazard_of_the_age_beyond_the_table_too():
    from smegrowth.investment import _hazards

    table = InvestmentPlanner.renewal_hazard(10.0, 3.0)
    quarter = 40
    # equipment from the future (age 0), new, old, at the table's end (40 years), beyond it, and NaN
    vintage = np.array([45.0, 40.0, 12.5, quarter - 160.0, quarter - 160.04, quarter - 300.0, np.nan])
    age = np.maximum(quarter - vintage, 0.0) / 4.0
    hazard, beyond, beyond_age = _hazards(
        vintage, quarter, table.values, table.low, table.per_unit, table.cells, table.high
    )
    assert beyond.tolist() == [4, 5]
    assert np.array_equal(beyond_age, age[beyond])
    hazard[beyond] = table.f(age[beyond])
    assert np.array_equal(hazard, table(age), equal_nan=True)


def test_a_loop_drawing_firm_by_firm_gets_the_models_draws():
    from smegrowth.draws import uniform_of

    model = EnterpriseModel(scale=0.01, rng=4)
    model.run(1)
    rows = model.state.active_rows()
    key = model.draw_key("renewal")
    inline = np.array([uniform_of(key, firm) for firm in model.state.firm_id[rows]], dtype=np.float32)
    assert np.array_equal(inline, model.uniform(rows, "renewal"))
    assert not np.array_equal(inline, model.uniform(rows, "acquisition"))


def test_new_loans_are_priced_and_blend_into_the_borrowers_average_loan_rate():
    from smegrowth.credit import _price

    # five firms; firms 1, 3 and 4 applied (rows 11, 13, 14 of the state); firm 4, without debt, was refused
    ask, rows = np.array([1, 3, 4]), np.array([11, 13, 14])
    granted, project = np.array([10.0, 20.0, 0.0]), np.array([0.0, 5.0, 0.0])
    rate, policy = np.array([0.05, 0.06, 0.07]), np.array([np.nan, 0.02, 0.02])
    debt = np.array([0.0, 30.0, 0.0, 0.0, 0.0])
    loan_rate = np.full(16, 0.04)
    interest, loans, project_loans = _price(5, ask, rows, granted, project, rate, policy, debt, loan_rate)

    # no project rate: all at the market rate; a project rate: the project part at it
    assert np.allclose(interest, [10.0 * 0.05, 15.0 * 0.06 + 5.0 * 0.02, 0.0])
    # the average rate over old debt and new loans (firm 3 had no debt: the new loans' rate)
    assert np.isclose(loan_rate[11], (30.0 * 0.04 + 0.5) / 40.0)
    assert np.isclose(loan_rate[13], (15.0 * 0.06 + 5.0 * 0.02) / 20.0)
    assert np.all(np.delete(loan_rate, [11, 13]) == 0.04)  # refused, or did not apply: unchanged
    assert np.array_equal(loans, [0.0, 10.0, 0.0, 20.0, 0.0])
    assert np.array_equal(project_loans, [0.0, 0.0, 0.0, 5.0, 0.0])


def test_loan_pricing_gives_the_array_formulas_results_to_the_last_bit():
    """The compiled pricing loop against the array formulas it replaced, on random applicants with
    missing project rates, no debt, refusals and no applicants at all: the same bits."""
    from smegrowth.credit import _price

    def by_arrays(n, ask, rows, granted, project, rate, policy, debt, loan_rate):
        project_rate = np.where(np.isnan(policy), rate, policy)
        interest = (granted - project) * rate + project * project_rate
        old = loan_rate[rows]
        blended = (debt[ask] * old + interest) / np.maximum(debt[ask] + granted, 1e-12)
        loan_rate[rows] = np.where(granted > 0, blended, old)
        loans, project_loans = np.zeros(n), np.zeros(n)
        loans[ask], project_loans[ask] = granted, project
        return interest, loans, project_loans

    rng = np.random.default_rng(6)
    for size in (0, 1, 7, 300):
        n = size + 5
        ask = np.sort(rng.choice(n, size, replace=False))
        rows = ask * 2 + 1  # the state has other rows between the firms
        granted = np.where(rng.random(size) < 0.3, 0.0, rng.uniform(0, 50, size))
        project = np.minimum(np.where(rng.random(size) < 0.5, 0.0, rng.uniform(0, 50, size)), granted)
        rate = rng.uniform(0.03, 0.09, size)
        policy = np.where(rng.random(size) < 0.5, np.nan, rng.uniform(0.01, 0.03, size))
        debt = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0, 100, n))
        debt[:2] = 1e-13  # below the floor of the average's denominator
        loan_rate = rng.uniform(0.03, 0.09, 2 * n + 2)
        expected_rate = loan_rate.copy()
        want = by_arrays(n, ask, rows, granted, project, rate, policy, debt, expected_rate)
        got = _price(n, ask, rows, granted, project, rate, policy, debt, loan_rate)
        for a, b in zip((*want, expected_rate), (*got, loan_rate), strict=True):
            assert a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))
