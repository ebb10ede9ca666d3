"""Firm demography: exit on insolvency and entry of newly certified SRDI SMEs.

A firm that cannot pay what it owes this quarter, even after borrowing what banks allow and cutting
its investment, R&D and digital spending, or whose debts exceed its assets, is insolvent and exits.
Its equipment is sold at a fraction of its value, the bank recovers what cash there is and writes off
the rest, and unpaid suppliers and workers absorb any remaining shortfall. Young, small firms exit
more because they have fewer product lines to diversify demand shocks, thinner cash buffers and lower
productivity — the model is not told so.

Entrants are innovative SMEs newly certified as SRDI from a pipeline of > 600,000 (FACTS.md §1): young,
small, slightly less productive than their sector, funded by their founders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import draws
from .accounts import EQUITY, FINANCE
from .compiled import per_firm
from .firm_state import Kind, Status
from .population import customer_base, place_in_niches, sample_ages, sample_sizes

if TYPE_CHECKING:
    from .model import EnterpriseModel


class Demography:
    """Stage 7 (exit on insolvency) and stage 8 (entry)."""

    def __init__(self) -> None:
        self.exits = np.zeros(0, dtype=int)
        self.entries = np.zeros(0, dtype=int)
        self.defaulted_debt = 0.0
        """Debt of the firms that became insolvent this quarter, m yuan."""
        self.defaulted_borrowers = 0

    def insolvencies(self, model: EnterpriseModel) -> np.ndarray:
        """Firms that cannot pay (negative cash after the finance stage) or whose debts exceed their
        assets (negative net worth) exit; return their rows."""
        st, acc = model.state, model.accounts
        rows = _insolvent(st.status, st.cash, st.capital, st.debt)
        self.defaulted_debt = float(st.debt[rows].sum())
        self.defaulted_borrowers = int(np.count_nonzero(st.debt[rows] > 0))
        if rows.size:
            fire_sale = model.params.production.liquidation_value * st.capital[rows]
            acc.firms_receive(rows, fire_sale, "economy", "liquidation sales", FINANCE)
            acc.book_non_cash(rows, fire_sale - st.capital[rows])
            st.capital[rows] = 0.0
            recovered = np.minimum(np.maximum(st.cash[rows], 0.0), st.debt[rows])
            acc.repay(rows, recovered, "recoveries")
            acc.write_off(rows, st.debt[rows])
            shortfall = np.maximum(-st.cash[rows], 0.0)
            acc.firms_receive(rows, shortfall, "economy", "unpaid bills absorbed")
            model.leave(rows, Status.EXITED)
        self.exits = rows
        return rows

    def enter(self, model: EnterpriseModel) -> np.ndarray:
        """New SRDI SMEs certified this quarter; their founders pay for their cash and equipment."""
        params, rng = model.params, model.stream("entry")
        e, pop = params.entry, params.population
        n = int(rng.poisson(e.annual_entrants / 4.0 * model.scale))
        if n == 0:
            self.entries = np.zeros(0, dtype=int)
            return self.entries
        st = model.state
        rows = st.add(n)
        new = slice(rows[0], rows[0] + n)  # entrants are appended: their rows are one block
        model.incentives.extend(st.n)
        sectors = list(params.sectors.values())
        weights = np.array([s.share_srdi for s in sectors])
        sec = draws.categories(rng, weights, n)
        st.sector[new] = sec
        st.kind[new] = Kind.SME
        st.born[new] = model.quarter - 4.0 * sample_ages(rng, n, e.age_min, e.age_mean)
        st.customer_base[new] = customer_base(params, (model.quarter - st.born[new]) / 4.0)
        annual = sample_sizes(
            rng,
            n,
            e.revenue_median,
            pop.revenue_sigma,
            pop.tail_share / 2,
            pop.tail_alpha,
            pop.min_revenue,
            pop.max_revenue,
        )
        st.annual_revenue[new] = annual
        st.revenue_lag4[new] = annual / 1.2
        st.revenue_lag8[new] = annual / 1.44
        incumbents = slice(0, new.start)  # every row before the entrants
        active_incumbents, summed_productivity = _sector_productivity(
            st.sector[incumbents], st.status[incumbents], st.productivity[incumbents], len(sectors)
        )
        sector_mean = summed_productivity / np.maximum(active_incumbents, 1)
        st.productivity[new] = sector_mean[sec] - e.productivity_gap + e.productivity_sd * rng.standard_normal(n)
        kappa = model.demand.capital_intensity[sec]
        headroom = 1.0 + params.investment.capacity_headroom
        capital = kappa * annual * headroom * np.exp(0.15 * rng.standard_normal(n))
        cash = pop.cash_to_revenue * annual * np.exp(0.4 * rng.standard_normal(n))
        st.vintage[new] = model.quarter - 4.0 * rng.uniform(0.0, 3.0, n)
        st.specialisation[new] = rng.beta(8, 2, n)
        st.digital[new] = rng.beta(2, 5, n)
        st.patents[new] = rng.poisson(1.0, n)
        sd = params.innovation.rd_taste_sigma
        st.rd_taste[new] = np.exp(sd * rng.standard_normal(n) - 0.5 * sd**2)
        st.annual_rd[new] = model.innovation.rd_norm(model, rows) * annual
        st.employees[new] = annual / pop.labour_productivity
        prone = np.array([s.frontier or s.valuation_multiple >= 8 for s in sectors])
        st.venture[new] = rng.random(n) < pop.venture_share * np.where(prone[sec], 2.0, 0.3)
        multiple = model.valuation_multiple[sec]
        ceiling = np.log(0.9 * params.venture.unicorn_threshold / (multiple * annual))
        st.hype[new] = np.where(st.venture[new], np.minimum(rng.normal(0.0, 0.7, n), ceiling), 0.0)
        shares = np.asarray(params.credit.bank_shares)
        st.bank[new] = draws.categories(rng, shares, n)

        st.orders[new] = annual / 4.0
        model.demand.add_firms(model, rows)

        place_in_niches(model, rows, rng, active_incumbents + np.bincount(sec, minlength=len(sectors)))
        borrows = rng.random(n) < e.with_loans
        debt = np.where(borrows, pop.sme_debt_to_capital * capital, 0.0)
        model.accounts.firms_receive(rows, cash + capital - debt, "investors", "founders' equity", EQUITY)
        model.accounts.lend(rows, debt)
        model.accounts.firms_pay(rows, capital, "economy", "equipment", FINANCE)
        st.capital[new] = capital
        st.loan_rate[new] = model.credit.quote(model, rows)
        st.equity_raised[new] = cash + capital - debt
        model.capital_market.revalue(model, rows)
        self.entries = rows
        return rows


@per_firm
def _insolvent(status: np.ndarray, cash: np.ndarray, capital: np.ndarray, debt: np.ndarray) -> np.ndarray:
    """Rows of the active firms that cannot pay (cash below zero, beyond a rounding tolerance of
    1e-9 m yuan) or whose debts exceed their assets (negative net worth, cash + capital - debt)."""
    rows = np.empty(status.size, dtype=np.intp)
    found = 0
    for i in range(status.size):
        if status[i] == Status.ACTIVE and (cash[i] < -1e-9 or cash[i] + capital[i] - debt[i] < 0):
            rows[found] = i
            found += 1
    return rows[:found].copy()


@per_firm
def _sector_productivity(
    sector: np.ndarray, status: np.ndarray, productivity: np.ndarray, n_sectors: int
) -> tuple[np.ndarray, np.ndarray]:
    """Number of active firms in each sector and the sum of their log productivities, in one pass
    (summed in row order, as ``np.bincount`` does)."""
    count, total = np.zeros(n_sectors), np.zeros(n_sectors)
    for i in range(sector.size):
        if status[i] == Status.ACTIVE:
            count[sector[i]] += 1.0
            total[sector[i]] += productivity[i]
    return count, total
