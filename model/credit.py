"""Bank credit: loans priced by the borrower's risk and rationed by bank capital.

Banks estimate an annual default probability from the borrower's leverage and profit margin (a logit,
after Assenza, Delli Gatti & Grazzini 2015) and price loans at the 1-year LPR plus a base spread plus
the expected loss. They refuse borrowers whose default probability is too high, lend no one more than
their leverage (debt/assets) and debt-to-sales caps allow, and lend no more than their capital allows
under the capital requirement (Delli Gatti et al. 2011), serving applicants in order of net worth to
sales (Dosi et al. 2010). Loans for eligible equipment-renewal projects can be priced at a policy
rate and refinanced by the central bank (the ``reloan`` lever); banks still choose the borrowers and
bear the risk.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from .accounts import INCOME
from .compiled import maximum, minimum, per_firm
from .firm_state import per_firm_values

if TYPE_CHECKING:
    from .model import EnterpriseModel


class Bank(mesa.Agent):
    """A bank group (large state banks, joint-stock banks, city and rural banks)."""

    def __init__(self, model: EnterpriseModel, index: int, name: str) -> None:
        super().__init__(model)
        self.index = index
        self.name = name

    @property
    def loans(self) -> float:
        return float(self.model.accounts.bank_loans[self.index])

    @property
    def equity(self) -> float:
        return float(self.model.accounts.bank_equity[self.index])

    def lending_headroom(self) -> float:
        """New loans the bank can make this quarter without breaching its capital requirement, m yuan."""
        car = self.model.params.credit.capital_requirement
        return max(0.0, self.equity / car - self.loans)


@dataclass
class Financing:
    """What the finance stage did for each firm in ``rows`` (m yuan this quarter)."""

    rows: np.ndarray
    rd: np.ndarray
    digital: np.ndarray
    renewal: np.ndarray
    expansion: np.ndarray
    loans: np.ndarray
    project_loans: np.ndarray
    applied: np.ndarray
    interest: np.ndarray


class CreditMarket:
    """Stage 5: debt service, loan applications, pricing, rationing and the spending they allow."""

    def __init__(self) -> None:
        self.new_lending = 0.0
        self.new_lending_rate = 0.0
        self.applications = 0
        self.approvals = 0
        self.project_lending: Financing | None = None
        self._standing: np.ndarray | None = None

    def lpr(self, model: EnterpriseModel) -> float:
        """The 1-year loan prime rate this quarter."""
        path = model.params.credit.lpr_path
        return path[min(model.quarter, len(path) - 1)]

    def default_probability(
        self, model: EnterpriseModel, rows: np.ndarray, extra_debt: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Annual default probability of ``rows`` if they owed ``extra_debt`` more."""
        st, p = model.state, model.params.credit
        rows = st.as_rows(rows)
        extra = per_firm_values(extra_debt, rows.size)
        at, columns = st.reading(rows, "capital", "cash", "debt", "annual_profit", "annual_revenue")
        z = _default_score(at, *columns, extra, p.pd_intercept, p.pd_leverage, p.pd_margin)
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1.0
        return np.reciprocal(z, out=z)

    def quote(self, model: EnterpriseModel, rows: np.ndarray, pd: np.ndarray | None = None) -> np.ndarray:
        """Annual loan rate offered to ``rows``: LPR + base spread + priced expected loss.

        Without ``pd``, inside :meth:`standing_quotes` the rate is the one quoted when the block began.
        """
        if pd is None and self._standing is not None:
            rates = self._standing[model.state.index(rows)]
            if not np.isnan(rates).any():
                return rates
        p = model.params.credit
        if pd is None:
            pd = self.default_probability(model, rows)
        pd = per_firm_values(pd, model.state.as_rows(rows).size)
        return self.lpr(model) + p.spread_base + p.spread_per_pd * pd * p.loss_given_default

    @contextmanager
    def standing_quotes(self, model: EnterpriseModel, rows: np.ndarray) -> Iterator[None]:
        """Quote ``rows`` once for the whole block: while firms plan, balance sheets do not change, so
        every kind's plan reads the same rates without the banks re-pricing each firm per kind."""
        self._standing = model.state.per_row(model.state.index(rows), self.quote(model, rows), np.nan)
        try:
            yield
        finally:
            self._standing = None

    def finance(
        self,
        model: EnterpriseModel,
        rows: np.ndarray,
        rd: np.ndarray,
        digital: np.ndarray,
        renewal: np.ndarray,
        expansion: np.ndarray,
    ) -> Financing:
        """Serve debt, lend what banks will, and cut plans (expansion first, R&D last) to what is funded.

        Screening, pricing and rationing work on the firms that ask for a loan (a fifth or so of them).
        """
        st, p, acc = model.state, model.params.credit, model.accounts
        inc = model.incentives
        ix = st.index(rows)
        # views when ix is a slice: read before the bookings below change debt and cash
        debt, cash = st.debt[ix], st.cash[ix]
        banks = st.bank[ix]
        interest, principal, need, offer, repaid = _needs(
            debt, cash, st.loan_rate[ix], st.revenue[ix], st.annual_revenue[ix], st.capital[ix], rd, digital, renewal,
            expansion, banks, len(model.banks), p.maturity, p.cash_buffer, p.max_leverage, p.max_debt_to_sales,
        )  # fmt: skip
        applied = need > 0

        # screening: leverage cap, then default probability at the post-loan leverage
        ask = np.flatnonzero(offer > 0)
        asking = rows[ask]
        offer = offer[ask]
        investment = renewal[ask] + expansion[ask]
        pd = self.default_probability(model, asking, offer - principal[ask])
        offer = np.where(pd <= p.max_pd, offer, 0.0)

        policy_rate = inc.project_rate[asking]
        project = self._project_loans(policy_rate, offer, investment, inc.project_quota)
        granted = self._ration(model, asking, banks[ask], offer, repaid)
        project = np.minimum(project, granted)
        new_interest, loans, project_loans = _price(
            rows.size, ask, asking, granted, project, self.quote(model, asking, pd), policy_rate, debt, st.loan_rate
        )
        # spending is cut to the cash there is after debt service and new loans, less the corporate income
        # tax the quarter's income so far will owe (paid after the spending): expansion first, R&D last
        rd_paid, digital_paid, renewal_paid, expansion_paid = _spending(
            cash, loans, interest, principal, acc.income_of(rows, copy=False), model.params.production.tax_rate,
            rd, digital, renewal, expansion,
        )
        acc.bank_services(
            rows,
            loans,
            interest,
            principal,
            [(rd_paid, "economy", "R&D", INCOME), (digital_paid, "economy", "digital transformation", INCOME)],
        )

        self.applications = int(applied.sum())
        self.approvals = int((granted > 0).sum())
        self.new_lending = float(granted.sum())
        self.new_lending_rate = (
            float(new_interest.sum() / self.new_lending) if self.new_lending > 0 else self.lpr(model) + p.spread_base
        )
        result = Financing(
            rows, rd_paid, digital_paid, renewal_paid, expansion_paid, loans, project_loans, applied, interest
        )
        self.project_lending = result
        return result

    @staticmethod
    def _project_loans(
        project_rate: np.ndarray, offer: np.ndarray, investment: np.ndarray, quota: float
    ) -> np.ndarray:
        """Loans for eligible equipment-renewal projects (a policy ``project_rate``, not NaN) at the
        policy rate, largest first within the re-lending ``quota``; m yuan per applicant."""
        project = np.zeros(offer.size)
        eligible = ~np.isnan(project_rate) & (offer > 0)
        if quota <= 0 or not eligible.any():
            return project
        wanted = np.where(eligible, np.minimum(offer, investment), 0.0)
        if wanted.sum() <= quota:
            return wanted
        order = np.argsort(-wanted, kind="stable")
        within = np.cumsum(wanted[order]) <= quota
        project[order[within]] = wanted[order[within]]
        return project

    def _ration(
        self, model: EnterpriseModel, rows: np.ndarray, banks: np.ndarray, offer: np.ndarray, repaid: np.ndarray
    ) -> np.ndarray:
        """Each bank serves its applicants ``rows`` (borrowing from ``banks``) by net worth to sales until
        its capital headroom, plus the principal ``repaid`` to it this quarter, is used; m yuan granted."""
        st = model.state
        granted = np.zeros(rows.size)
        want = offer > 0
        if not want.any():
            return granted
        ranking = _net_worth_to_sales(rows, st.cash, st.capital, st.debt, st.annual_revenue)
        for bank in model.banks:
            mine = np.flatnonzero(want & (banks == bank.index))
            if mine.size == 0:
                continue
            headroom = bank.lending_headroom() + repaid[bank.index]
            if offer[mine].sum() <= headroom:
                granted[mine] = offer[mine]
                continue
            order = mine[np.argsort(-ranking[mine], kind="stable")]
            cum = np.cumsum(offer[order])
            full = cum <= headroom
            granted[order[full]] = offer[order[full]]
            if not full.all():
                first_short = order[np.argmax(~full)]
                granted[first_short] = max(0.0, headroom - (cum[~full][0] - offer[first_short]))
        return granted

    def bank_costs(self, model: EnterpriseModel) -> None:
        """Banks pay their deposit funding cost, then steer their capital ratio towards its target:
        part of any excess is paid out as dividends, part of any shortfall is raised from shareholders
        (retained earnings and rights issues, as Chinese banks do; the speed is a calibration)."""
        acc, p = model.accounts, model.params.credit
        for bank in model.banks:
            i = bank.index
            deposits = max(acc.bank_loans[i] - acc.bank_equity[i] - acc.bank_refinancing[i], 0.0)
            cost = deposits * p.funding_cost / 4.0
            if cost > 0:
                acc.bank_pays(i, cost, "economy", "deposit interest")
            gap = p.initial_capital_ratio * acc.bank_loans[i] - acc.bank_equity[i]
            if abs(gap) > 0:
                acc.bank_capital(i, p.capital_adjustment * gap)


@per_firm
def _default_score(
    rows: np.ndarray | None,
    capital: np.ndarray,
    cash: np.ndarray,
    debt: np.ndarray,
    annual_profit: np.ndarray,
    annual_revenue: np.ndarray,
    extra_debt: np.ndarray,
    intercept: float,
    per_leverage: float,
    per_margin: float,
) -> np.ndarray:
    """The logit score of the default probability of firms ``rows`` of the columns (every row if
    None): intercept + leverage term - margin term, with leverage = debt / assets (cash counted when
    positive) if the firm owed ``extra_debt`` more, and the profit margin clipped to [-1, 1]."""
    z = np.empty(extra_debt.size)
    for k in range(extra_debt.size):
        i = k if rows is None else rows[k]
        assets = maximum(capital[i] + maximum(cash[i], 0.0) + extra_debt[k], 1e-9)
        leverage = (debt[i] + extra_debt[k]) / assets
        margin = minimum(maximum(annual_profit[i] / maximum(annual_revenue[i], 1e-9), -1.0), 1.0)
        z[k] = intercept + per_leverage * leverage - per_margin * margin
    return z


@per_firm
def _net_worth_to_sales(
    rows: np.ndarray, cash: np.ndarray, capital: np.ndarray, debt: np.ndarray, annual_revenue: np.ndarray
) -> np.ndarray:
    """Net worth over annual sales of firms ``rows`` (columns are over all rows), the banks' ranking."""
    ranking = np.empty(rows.size)
    for k in range(rows.size):
        i = rows[k]
        ranking[k] = (cash[i] + capital[i] - debt[i]) / maximum(annual_revenue[i], 1e-9)
    return ranking


@per_firm
def _needs(
    debt: np.ndarray,
    cash: np.ndarray,
    loan_rate: np.ndarray,
    revenue: np.ndarray,
    annual_revenue: np.ndarray,
    capital: np.ndarray,
    rd: np.ndarray,
    digital: np.ndarray,
    renewal: np.ndarray,
    expansion: np.ndarray,
    bank: np.ndarray,
    n_banks: int,
    maturity: float,
    cash_buffer: float,
    max_leverage: float,
    max_debt_to_sales: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per firm, m yuan this quarter: interest and principal due; the loan it needs to pay its debt
    service and plans and keep a cash buffer of ``cash_buffer`` quarters' revenue; the loan it asks for,
    which the leverage cap limits to its assets after the investment times ``max_leverage``, and the
    debt-to-sales cap to its annual revenue times ``max_debt_to_sales``, each less the debt left after
    repayment. Also the principal each bank is repaid."""
    n = debt.size
    interest, principal, need, request = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    repaid = np.zeros(n_banks)
    for i in range(n):
        interest[i] = debt[i] * loan_rate[i] / 4.0
        principal[i] = debt[i] / maturity
        investment = renewal[i] + expansion[i]
        outlays = interest[i] + principal[i] + rd[i] + digital[i] + investment
        need[i] = maximum(outlays + cash_buffer * revenue[i] - cash[i], 0.0)
        assets_after = capital[i] + investment + maximum(cash[i], 0.0)
        remaining = debt[i] - principal[i]
        cap = minimum(max_leverage * assets_after, max_debt_to_sales * annual_revenue[i]) - remaining
        request[i] = minimum(need[i], maximum(cap, 0.0))
        repaid[bank[i]] += principal[i]
    return interest, principal, need, request, repaid


@per_firm
def _price(
    n_firms: int,
    ask: np.ndarray,
    state_rows: np.ndarray,
    granted: np.ndarray,
    project: np.ndarray,
    rate: np.ndarray,
    policy_rate: np.ndarray,
    debt: np.ndarray,
    loan_rate: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Price the loans ``granted`` to the applicants ``ask`` (distinct positions among ``n_firms``
    firms; their distinct rows of the state: ``state_rows``), of which ``project`` are project loans at
    the ``policy_rate`` (the market ``rate`` where it is NaN). Each borrower's ``loan_rate`` (a column
    over all rows) becomes the average over its old ``debt`` (a column over the ``n_firms`` firms) and
    the new loans. Returns the annual interest on the new loans of each applicant, and the loans and
    project loans of each of the ``n_firms`` firms (zero for firms that did not apply), m yuan."""
    new_interest = np.empty(ask.size)
    loans, project_loans = np.zeros(n_firms), np.zeros(n_firms)
    for k in range(ask.size):
        j, i = ask[k], state_rows[k]
        project_rate = rate[k] if policy_rate[k] != policy_rate[k] else policy_rate[k]
        new_interest[k] = (granted[k] - project[k]) * rate[k] + project[k] * project_rate
        if granted[k] > 0:
            loan_rate[i] = (debt[j] * loan_rate[i] + new_interest[k]) / maximum(debt[j] + granted[k], 1e-12)
        loans[j], project_loans[j] = granted[k], project[k]
    return new_interest, loans, project_loans


@per_firm
def _spending(
    cash: np.ndarray,
    loans: np.ndarray,
    interest: np.ndarray,
    principal: np.ndarray,
    income: np.ndarray,
    tax_rate: float,
    rd: np.ndarray,
    digital: np.ndarray,
    renewal: np.ndarray,
    expansion: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What each firm can pay of its R&D, digital, renewal and expansion plans (m yuan, in that order
    of priority) from its cash and new loans after debt service, keeping back the tax (``tax_rate``) on
    its ``income`` so far less the ``interest``, which it pays at the end of the quarter: spending that
    would leave it unable to pay, and so insolvent (R&D and digital spending will lower the tax, so the
    reserve is on the safe side)."""
    n = cash.size
    rd_paid, digital_paid, renewal_paid, expansion_paid = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        tax_due = tax_rate * maximum(income[i] - interest[i], 0.0)
        spendable = maximum(cash[i] + loans[i] - interest[i] - principal[i] - tax_due, 0.0)
        rd_paid[i] = minimum(rd[i], spendable)
        spendable -= rd_paid[i]
        digital_paid[i] = minimum(digital[i], spendable)
        spendable -= digital_paid[i]
        renewal_paid[i] = minimum(renewal[i], spendable)
        spendable -= renewal_paid[i]
        expansion_paid[i] = minimum(expansion[i], spendable)
    return rd_paid, digital_paid, renewal_paid, expansion_paid
