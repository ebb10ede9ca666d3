"""The core model: population counts, outcomes, accounting, reproducibility, library use."""

import numpy as np
import pandas as pd
import pytest
from smegrowth import SME, EnterpriseModel, Kind, LittleGiant, Parameters, Unicorn, outcomes
from smegrowth.accounts import AccountingError
from smegrowth.parameters import ParameterError

REQUIRED = [
    "quarter",
    "smes",
    "little_giants",
    "unicorns",
    "new_little_giants",
    "new_unicorns",
    "ipos",
    "acquisitions",
    "exits",
    "entries",
    "revenue",
    "employment",
    "rd_spending",
    "investment",
    "new_lending",
    "loan_rate",
    "default_rate",
    "fiscal_cost",
]


def test_starting_population_matches_facts_at_national_scale():
    model = EnterpriseModel(scale=1.0, rng=3)
    row = model.timeseries().iloc[0]
    assert row["quarter"] == "2024Q4"
    assert row["little_giants"] == 14_600
    assert row["smes"] + row["little_giants"] == 141_000
    assert 340 <= row["unicorns"] <= 375
    st = model.state
    lg = st.kind == Kind.LITTLE_GIANT
    manufacturing = np.array([s.manufacturing for s in model.params.sectors.values()])
    share_mfg = manufacturing[st.sector[lg]].mean()
    assert 0.85 <= share_mfg <= 0.95  # ~90 % of little giants are manufacturers (FACTS §1)
    uni = st.kind == Kind.UNICORN
    keys = model.sector_keys
    frontier = np.isin(st.sector[uni], [keys.index("ai"), keys.index("semiconductors")])
    assert 0.2 <= frontier.mean() <= 0.33  # AI 14.1 % + semiconductors 12.2 %
    # heavy tail: the largest 1 % of firms hold far more than 1 % of revenue
    rev = np.sort(st.annual_revenue)[::-1]
    assert rev[: rev.size // 100].sum() / rev.sum() > 0.08


def test_scale_draws_a_proportional_sample_reported_at_national_scale():
    row = EnterpriseModel(scale=0.1, rng=3).timeseries().iloc[0]
    assert row["little_giants"] == 14_600
    assert row["smes"] == 126_400
    assert EnterpriseModel(scale=0.1, rng=3).state.n == 14_136


def test_timeseries_has_the_outcome_columns_and_no_nan(small_run):
    ts = small_run.timeseries()
    assert list(ts["quarter"][:3]) == ["2024Q4", "2025Q1", "2025Q2"]
    assert len(ts) == 13
    for col in REQUIRED:
        assert col in ts.columns, col
    assert any(c.startswith("new_unicorns_") for c in ts.columns)
    numeric = ts.drop(columns=["quarter"]).to_numpy(dtype=float)
    assert np.isfinite(numeric).all()


def test_summary_gives_stocks_at_the_end_and_flows_summed_as_pandas_does(small_run):
    """Stocks at the last quarter; flows summed and rates averaged over the quarters after the
    first, skipping missing values, equal to pandas' own sum and mean to the last bit."""
    ts = small_run.timeseries()
    holed = ts.copy()
    holed.loc[[2, 5, 6], "loan_rate"] = np.nan  # a rate and a flow with missing quarters
    holed.loc[[3], "ipos"] = np.nan
    for frame in (ts, holed):
        summary = outcomes.summarise(frame)
        body = frame.iloc[1:]
        assert summary["quarters"] == 12.0
        assert summary["little_giants"] == frame["little_giants"].iloc[-1] and "little_giants_total" not in summary
        assert summary["ipos_total"] == float(body["ipos"].sum())
        assert summary["revenue_total"] == float(body["revenue"].sum())
        assert summary["loan_rate_mean"] == float(body["loan_rate"].mean())
        assert summary["loan_rate"] == frame["loan_rate"].iloc[-1]
    assert small_run.summary() == outcomes.summarise(ts)


def test_dynamics_are_plausible(small_run):
    ts = small_run.timeseries()
    assert ts["little_giants"].iloc[-1] > ts["little_giants"].iloc[0]  # batches outpace losses
    assert ts["new_little_giants"].sum() > 0 and ts["entries"].sum() > 0
    assert ts["revenue"].iloc[-1] > ts["revenue"].iloc[1]  # demand grows
    assert (ts["loan_rate"].iloc[1:] > 0.03).all() and (ts["loan_rate"].iloc[1:] < 0.08).all()


def test_exit_hazard_peaks_among_young_firms():
    """Exits per firm-quarter at risk, by age at the start of the quarter (FACTS §7: the hazard peaks
    3-7 years after founding, then falls)."""
    model = EnterpriseModel(scale=0.1, rng=2)
    ages, exited = [], []
    for _ in range(12):
        rows = np.flatnonzero(model.state.active())
        ages.append((model.quarter - model.state.born[rows]) / 4.0)
        model.step()
        exited.append(np.isin(rows, model.demography.exits))
    age, exit_ = np.concatenate(ages), np.concatenate(exited)
    young = (age >= 3) & (age < 7)
    old = age >= 10
    assert exit_.sum() > 200
    assert exit_[young].mean() > 1.5 * exit_[old].mean()


def test_money_is_conserved_each_quarter(small_run):
    # the fixture ran with check_accounts=True; verify again explicitly and that a breach is caught
    small_run.accounts.begin_quarter()
    small_run.accounts.check()
    small_run.state.cash[0] += 1.0  # a yuan from nowhere
    with pytest.raises(AccountingError):
        small_run.accounts.check()
    small_run.state.cash[0] -= 1.0


def test_same_seed_same_results_other_seed_differs():
    a = EnterpriseModel(scale=0.02, rng=5).run(quarters=6)
    b = EnterpriseModel(scale=0.02, rng=5).run(quarters=6)
    c = EnterpriseModel(scale=0.02, rng=6).run(quarters=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a["revenue"].equals(c["revenue"])


def test_firms_are_mesa_agents_of_their_kind():
    model = EnterpriseModel(scale=0.02, rng=1)
    assert len(model.agents_by_type[LittleGiant]) == round(14_600 * 0.02)
    firm = model.agents_by_type[SME][0]
    assert firm.revenue == model.state.revenue[firm.row]
    model.run(quarters=4)
    active = int(model.state.active().sum())
    n_firms = sum(len(model.agents_by_type.get(k, [])) for k in (SME, LittleGiant, Unicorn))
    assert n_firms == active


class AmbitiousLittleGiant(LittleGiant):
    """The README example: a little giant that spends 50 % more on R&D (per-agent hook)."""

    def rd_intensity(self) -> float:
        return 1.5 * super().rd_intensity()


def test_subclass_overriding_a_per_agent_method_changes_behaviour():
    base = EnterpriseModel(scale=0.03, rng=2)
    base.run(quarters=3)
    custom = EnterpriseModel(scale=0.03, rng=2, kinds={"LittleGiant": AmbitiousLittleGiant})
    custom.run(quarters=3)
    assert any(isinstance(a, AmbitiousLittleGiant) for a in custom.agents)
    lg_b = base.state.kind == Kind.LITTLE_GIANT
    lg_c = custom.state.kind == Kind.LITTLE_GIANT
    ratio = custom.state.rd[lg_c].sum() / custom.state.revenue[lg_c].sum()
    ratio_base = base.state.rd[lg_b].sum() / base.state.revenue[lg_b].sum()
    assert ratio > 1.3 * ratio_base


def test_bad_arguments_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="scale"):
        EnterpriseModel(scale=-1)
    with pytest.raises(ParameterError, match="credit.nonsense"):
        EnterpriseModel(scale=0.01, parameters={"credit.nonsense": 1})
    with pytest.raises(ParameterError, match="credit.capital_requirement"):
        Parameters().override({"credit.capital_requirement": -0.5})
    with pytest.raises(ValueError, match="unknown firm kind"):
        EnterpriseModel(scale=0.01, kinds={"Giant": SME})


def test_non_finite_parameters_are_refused_and_an_empty_population_runs():
    with pytest.raises(ParameterError, match="credit.pd_intercept.*finite"):
        EnterpriseModel(scale=0.01, parameters={"credit.pd_intercept": float("nan")})
    with pytest.raises(ParameterError, match="credit.lpr_path"):
        EnterpriseModel(scale=0.01, parameters={"credit.lpr_path": [float("inf")]})
    empty = {"population.srdi_firms": 0, "population.little_giants": 0, "population.unicorns": 0}
    ts = EnterpriseModel(scale=0.01, rng=3, parameters=empty, check_accounts=True).run(2)
    assert ts["srdi_firms"].iloc[0] == 0 and ts["entries"].iloc[1:].sum() > 0
    assert np.isfinite(ts.drop(columns=["quarter"]).to_numpy(dtype=float)).all()


def test_every_active_firm_is_an_agent_right_after_entry():
    """Entrants added in a quarter are agents when the model is next looked at, even if no firm
    left in between (the made-handle flags must grow with the rows)."""
    model = EnterpriseModel(scale=0.02, rng=4)
    len(model.agents)  # make the starting handles
    model.demography.enter(model)  # entry alone, nobody leaves
    firms = [a for a in model.agents if isinstance(a, SME | LittleGiant | Unicorn)]
    assert len(firms) == int(model.state.active().sum())


def test_freed_memory_is_kept_for_reuse_on_glibc():
    import sys

    from smegrowth import memory

    EnterpriseModel(scale=0.001, rng=1)
    if sys.platform.startswith("linux") and "glibc" in " ".join(__import__("platform").libc_ver()):
        assert memory.reuse_freed_memory() is True  # set by the first model, and idempotent


def test_tabulated_rules_match_their_exact_functions():
    from scipy.stats import beta
    from smegrowth.innovation import _beta_quantiles
    from smegrowth.investment import InvestmentPlanner

    age = np.concatenate([np.linspace(0.0, 60.0, 100_001), [0.0, 39.99, 40.0, 40.01, 75.0]])
    exact = 1.0 - np.exp(-(((age + 0.25) / 10.0) ** 3.0 - (age / 10.0) ** 3.0))
    np.testing.assert_allclose(InvestmentPlanner().renewal_hazard(10.0, 3.0)(age), exact, rtol=0, atol=1e-6)
    u = np.linspace(0.0, 1.0, 100_001)[:-1]
    error = np.abs(_beta_quantiles(2.0)(u) - beta.ppf(u, 2.0, 2.0))
    inner = (u > 0.01) & (u < 0.99)
    assert error[inner].max() < 1e-5 and error.max() < 3e-3  # the quantile function is steep at 0 and 1


def test_compaction_keeps_every_firm_findable_by_id_and_archives_the_departed():
    model = EnterpriseModel(scale=0.02, rng=4)
    handle = model.firms_at(np.array([5]))[0]
    before = model.firm_table().set_index("firm_id")
    model.run(6)
    st = model.state
    after = model.firm_table().set_index("firm_id")
    # every firm ever created appears once, in id order; the departed keep their status and quarter
    assert after.index.tolist() == list(range(st.next_id))
    assert set(before.index) <= set(after.index)
    gone = after[after["status"] != "active"]
    assert len(gone) > 0 and (gone["left"] >= 1).all()
    # the active firms fill rows [0, n) and each id maps to its row
    assert st.active().all() and np.array_equal(st.rows_of_ids(st.firm_id), np.arange(st.n))
    assert (st.rows_of_ids(gone.index.to_numpy()) == -1).all()
    # a handle follows its firm across compactions (or leaves with it)
    if handle.firm_id in gone.index:
        assert handle not in model.agents
    else:
        assert handle.revenue == after.loc[handle.firm_id, "revenue"]
    # money kept by archived firms is still counted
    archived_cash = float(after.loc[gone.index, "cash"].sum())
    assert st.archived_cash == pytest.approx(archived_cash)


def test_editing_columns_in_place_writes_back_whatever_the_rows():
    st = EnterpriseModel(scale=0.02, rng=4).state
    all_rows = st.active_rows()
    some = all_rows[[1, 4, 9]]
    before = st.capital.copy()
    with st.editing(st.index(all_rows), "capital") as (capital,):
        capital *= 2.0  # a view: changes the column directly
    with st.editing(st.index(some), "capital", "cash") as (capital, cash):
        capital += 1.0  # a copy: written back when the block ends
        cash[:] = -1.0
    expected = 2.0 * before
    expected[some] += 1.0
    assert np.array_equal(st.capital, expected) and (st.cash[some] == -1.0).all()


def test_the_handle_of_a_firm_that_left_says_so_instead_of_reading_another_row():
    model = EnterpriseModel(scale=0.02, rng=8)
    handle = model.firms_at(np.array([5]))[0]
    model.run(6)  # with this seed the firm leaves within six quarters
    assert handle not in model.agents and not handle.active
    with pytest.raises(LookupError, match="has left the population"):
        _ = handle.revenue


def test_a_copied_or_pickled_firm_table_keeps_its_columns_tied_to_it():
    import copy
    import pickle

    model = EnterpriseModel(scale=0.02, rng=4)
    model.run(2)
    st = model.state
    cash = st.cash.copy()
    for twin in (copy.deepcopy(st), pickle.loads(pickle.dumps(st))):
        twin.cash[0] = 1e9  # through the attribute, into the copy's own table
        assert twin._data["cash"][0] == 1e9 and twin.cash.size == twin.n == st.n
        rows = twin.add(3)
        assert twin.cash.size == twin.n == st.n + 3 and (twin.cash[rows] == 0.0).all()
    assert np.array_equal(st.cash, cash)  # the original is untouched
