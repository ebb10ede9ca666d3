"""Each lever's first-order effect, with common random numbers (same seeds, baseline vs lever)."""

import numpy as np
import pandas as pd
import pytest
from smegrowth import LEVERS, EnterpriseModel, Lever, LeverSettings, register_lever
from smegrowth.firm_state import Kind
from smegrowth.levers import LeverError

SEEDS = (1, 2, 3)
SCALE = 0.03
QUARTERS = 6


def paired(lever: dict, outcome, seeds=SEEDS, quarters=QUARTERS):
    """outcome(model) for baseline and lever runs with the same seeds; returns the two arrays."""
    base, treat = [], []
    for seed in seeds:
        b = EnterpriseModel(scale=SCALE, rng=seed)
        b.run(quarters)
        t = EnterpriseModel(scale=SCALE, rng=seed, levers=lever, check_accounts=True)
        t.run(quarters)
        base.append(outcome(b))
        treat.append(outcome(t))
    return np.array(base), np.array(treat)


def matched(b: EnterpriseModel, t: EnterpriseModel, flagged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows in ``b`` and in ``t`` of the same firms: active in both runs and ``flagged`` (by firm id)."""
    ids = np.intersect1d(b.state.firm_id[b.state.active()], t.state.firm_id[t.state.active()])
    ids = ids[ids < flagged.size]  # firms that entered after the lever last acted are not flagged yet
    ids = ids[flagged[ids]]
    return b.state.rows_of_ids(ids), t.state.rows_of_ids(ids)


def test_all_six_levers_are_registered():
    assert {
        "reloan",
        "trade_in",
        "listing_support",
        "little_giant_grants",
        "digital_transformation",
        "future_industries",
    } <= set(LEVERS)


def test_reloan_raises_investment_and_lending_and_lowers_rates_of_eligible_firms():
    for seed in SEEDS:
        b = EnterpriseModel(scale=SCALE, rng=seed)
        b.run(QUARTERS)
        t = EnterpriseModel(scale=SCALE, rng=seed, levers={"reloan": {}}, check_accounts=True)
        t.run(QUARTERS)
        rb, rt = matched(b, t, t.levers[0].listed)
        assert rb.size > 10
        # equipment (capital stock) and borrowing of firms with listed projects rise ...
        assert t.state.capital[rt].sum() > 1.03 * b.state.capital[rb].sum()
        assert t.state.debt[rt].sum() > 1.1 * b.state.debt[rb].sum()

        # ... at a lower average rate on their debt
        def rate(m, rows):
            return np.average(m.state.loan_rate[rows], weights=m.state.debt[rows] + 1e-12)

        assert rate(t, rt) < rate(b, rb) - 0.003
        assert t.timeseries()["project_lending"].sum() > 0 and t.timeseries()["fiscal_cost_reloan"].sum() > 0


def test_trade_in_raises_revenue_of_nev_and_consumer_durables_while_it_runs():
    sectors = ["revenue_nev_battery", "revenue_consumer_durables"]
    b, t = paired({"trade_in": {"duration": 4}}, lambda m: m.timeseries()[sectors].iloc[1:5].sum().to_numpy())
    assert (t > b).all()


def test_listing_support_raises_ipos_and_acquisitions():
    b, t = paired(
        {"listing_support": {}},
        lambda m: m.timeseries()[["ipos", "acquisitions"]].iloc[1:].sum().to_numpy(),
        seeds=(1, 2, 3, 4),
        quarters=8,
    )
    assert t[:, 0].sum() > b[:, 0].sum()
    assert t[:, 1].sum() > b[:, 1].sum()


def test_little_giant_grants_raise_rd_and_productivity_of_supported_firms():
    for seed in (1, 2):
        t = EnterpriseModel(scale=SCALE, rng=seed, levers={"little_giant_grants": {}}, check_accounts=True)
        t.run(QUARTERS)
        b = EnterpriseModel(scale=SCALE, rng=seed)
        b.run(QUARTERS)
        rb, rt = matched(b, t, t.levers[0].supported)
        assert rb.size > 5
        assert t.state.annual_rd[rt].sum() > b.state.annual_rd[rb].sum()
        assert t.state.productivity[rt].mean() >= b.state.productivity[rb].mean()


def test_digital_transformation_raises_digital_adoption():
    b, t = paired({"digital_transformation": {}}, lambda m: m.timeseries()["digital_maturity"].iloc[-1])
    assert (t > b).all()


def test_future_industries_raise_venture_funding_and_unicorns_in_their_sectors():
    frontier = ["low_altitude", "smart_manufacturing", "biomedicine", "telecom_6g"]

    def funding(m):
        st = m.state
        codes = [m.sector_keys.index(s) for s in frontier]
        return st.equity_raised[np.isin(st.sector, codes) & (st.kind != Kind.UNICORN)].sum()

    b, t = paired({"future_industries": {}}, funding)
    assert (t > b).all()
    cols = [f"new_unicorns_{s}" for s in frontier]
    b2, t2 = paired(
        {"future_industries": {}}, lambda m: m.timeseries()[cols].sum().sum(), seeds=(1, 2, 3, 4, 5), quarters=8
    )
    assert t2.sum() >= b2.sum()


@pytest.mark.parametrize(
    "name",
    ["reloan", "trade_in", "listing_support", "little_giant_grants", "digital_transformation", "future_industries"],
)
def test_lever_of_size_zero_reproduces_the_baseline_exactly(name):
    base = EnterpriseModel(scale=0.02, rng=9).run(5)
    zero = EnterpriseModel(scale=0.02, rng=9, levers={name: {"scale": 0}}).run(5)
    cols = [c for c in base.columns if not c.startswith("fiscal_cost")]
    pd.testing.assert_frame_equal(base[cols], zero[cols])
    assert zero["fiscal_cost"].sum() == 0


@pytest.mark.parametrize(
    "name,settings",
    [
        ("reloan", {"budget": 50.0}),
        ("digital_transformation", {"budget": 30.0}),
        ("little_giant_grants", {"budget": 100.0}),
        ("trade_in", {"budget": 1000.0}),
        ("future_industries", {"budget": 500.0}),
    ],
)
def test_spending_never_exceeds_the_budget(name, settings):
    m = EnterpriseModel(scale=0.05, rng=2, levers={name: settings}, check_accounts=True)
    ts = m.run(8)
    assert ts["fiscal_cost"].sum() <= settings["budget"] * (1 + 1e-9)
    assert ts["fiscal_cost"].sum() > 0


def test_a_user_lever_registered_from_outside_the_package_runs():
    class VoucherSettings(LeverSettings):
        per_firm: float = 0.5

    @register_lever
    class Vouchers(Lever):
        name = "test_vouchers"
        Settings = VoucherSettings

        def act(self, model):
            rows = model.firm_rows(kinds=("SME",))
            self.pay(model, rows, self.intensity(model) * self.settings.per_firm)

    m = EnterpriseModel(scale=0.02, rng=1, levers={"test_vouchers": {"budget": 1000}}, check_accounts=True)
    ts = m.run(3)
    assert 0 < ts["fiscal_cost_test_vouchers"].sum() <= 1000
    LEVERS.pop("test_vouchers")


def test_bad_lever_settings_name_the_lever_and_key():
    with pytest.raises(LeverError, match="unknown lever 'nope'"):
        EnterpriseModel(scale=0.01, levers={"nope": {}})
    with pytest.raises(LeverError, match="reloan.*quota"):
        EnterpriseModel(scale=0.01, levers={"reloan": {"quota": -1}})
    with pytest.raises(LeverError, match=r"future_industries.*unknown sectors \['nosuch'\]"):
        EnterpriseModel(scale=0.01, levers={"future_industries": {"sectors": ["nosuch"]}})


def test_a_user_lever_cannot_take_a_registered_name():
    with pytest.raises(LeverError, match=r"is named 'reloan', the name of smegrowth\.levers\.reloan\.Reloan"):

        @register_lever
        class Impostor(Lever):
            name = "reloan"

    assert LEVERS["reloan"].__module__ == "smegrowth.levers.reloan"
