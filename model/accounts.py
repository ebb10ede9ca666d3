"""Stock-flow consistent bookkeeping: every yuan that moves has a source and a sink.

Money sits in accounts: each firm's cash, each bank's reserves, the central bank, the government
(treasury), the rest of the economy (customers, workers, suppliers, depositors) and outside investors
(venture funds, IPO buyers, acquirers, founders). Every payment goes through :meth:`Accounts.transfer`
or its firm variants, which move money between two accounts and record the flow in the quarter's
transaction-flow matrix. Non-money stocks (bank loans, central-bank refinancing, bank equity, firm
capital) are updated alongside and checked against the money flows by :meth:`Accounts.check`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numba import literal_unroll

from .compiled import per_firm
from .firm_state import Status, per_firm_values

if TYPE_CHECKING:
    from .model import EnterpriseModel

SECTOR_ACCOUNTS = ("economy", "investors", "government", "central_bank")
"""Money-holding sectors other than firms and banks."""

INCOME = "income"
"""Flow category that changes a firm's net worth (revenue, costs, interest, taxes, subsidies)."""
FINANCE = "finance"
"""Flow category that swaps assets or liabilities (loans, repayments, investment spending)."""
EQUITY = "equity"
"""Flow category of new outside equity, which raises net worth without being income."""


Flow = tuple[np.ndarray | float, str, str, str]
"""A payment of several firms: (amount m yuan, an array over the firms or one amount for all; the other
account; label; category)."""


class AccountingError(RuntimeError):
    """A stock-flow identity failed: money was created, lost or booked twice."""


class Accounts:
    """The model's money accounts and quarterly flow records."""

    def __init__(self, model: EnterpriseModel, n_banks: int) -> None:
        self.model = model
        self.balance: dict[str, float] = dict.fromkeys(SECTOR_ACCOUNTS, 0.0)
        self.bank_reserves = np.zeros(n_banks)
        self.bank_loans = np.zeros(n_banks)
        self.bank_equity = np.zeros(n_banks)
        self.bank_refinancing = np.zeros(n_banks)
        """Banks' debt to the central bank under re-lending, m yuan."""
        self.central_bank_claims = 0.0
        self.deposits = np.zeros(n_banks)
        """Deposit funding of the banks' opening loan books, m yuan (constant)."""
        self.flows: dict[tuple[str, str, str], float] = defaultdict(float)
        self._income = np.zeros(0)
        self._equity = np.zeros(0)
        self._start_total = 0.0
        self._start_net_worth = np.zeros(0)
        self._start_rows = 0

    # --- the quarter -----------------------------------------------------------------------------
    def begin_quarter(self) -> None:
        """Reset the flow records and, if the model checks its accounts, remember opening stocks."""
        st = self.model.state
        self.flows = defaultdict(float)
        self._income.fill(0.0)  # the whole buffers, so rows of this quarter's entrants start at zero too
        self._equity.fill(0.0)
        self._grow()
        if self.model.check_accounts:  # what the identities compare with (not needed otherwise)
            self._start_rows = st.n
            self._start_net_worth = st.cash + st.capital - st.debt
            self._start_total = self.total_money()

    def _grow(self) -> None:
        """Make the per-firm income and equity buffers cover every row in use (with room to spare, so
        that entrants rarely need a new buffer)."""
        n, size = self.model.state.n, self._income.size
        if size < n:
            for name in ("_income", "_equity"):
                grown = np.zeros(max(n, int(1.5 * size)))
                grown[:size] = getattr(self, name)
                setattr(self, name, grown)

    def total_money(self) -> float:
        """Sum of all money balances; a closed system keeps it constant."""
        st = self.model.state
        return float(st.cash.sum() + st.archived_cash + self.bank_reserves.sum() + sum(self.balance.values()))

    # --- payments --------------------------------------------------------------------------------
    def transfer(self, source: str, sink: str, amount: float, label: str) -> None:
        """Move ``amount`` (m yuan) between two sector accounts."""
        self.balance[source] -= amount
        self.balance[sink] += amount
        self.flows[(source, sink, label)] += amount

    def firms_pay(self, rows: np.ndarray, amounts: np.ndarray, sink: str, label: str, category: str = INCOME) -> None:
        """Firms ``rows`` (unique indices) pay ``amounts`` to account ``sink`` ('banks': their own banks)."""
        self.firm_flows(rows, paid=[(amounts, sink, label, category)])

    def firms_receive(
        self, rows: np.ndarray, amounts: np.ndarray, source: str, label: str, category: str = INCOME
    ) -> None:
        """Firms ``rows`` receive ``amounts`` from sector account ``source`` (or 'banks')."""
        self.firm_flows(rows, received=[(amounts, source, label, category)])

    def firm_flows(
        self,
        rows: np.ndarray,
        received: Sequence[Flow] = (),
        paid: Sequence[Flow] = (),
        by_bank: np.ndarray | None = None,
    ) -> None:
        """Book several payments of firms ``rows`` at once, in one pass over the firm arrays: the firms
        receive the ``received`` flows and pay the ``paid`` ones. ``by_bank``: the net per-bank sums of
        the flows with 'banks' (received minus paid), if the caller has them (saves summing them again)."""
        flows = [(1.0, *flow) for flow in received] + [(-1.0, *flow) for flow in paid]
        if not flows:
            return
        st = self.model.state
        self._grow()
        rows = st.as_rows(rows)
        at, (cash, bank) = st.reading(rows, "cash", "bank")
        n = rows.size
        within = slice(None) if at is not None else slice(0, st.n)  # as the columns from reading()
        # per flow: its amounts, its sign, and 1 or 0 for whether it is income, equity, and summed by bank here
        here = by_bank is None
        amounts, booked, to_banks = [], [], False
        for sign, amount, other, _, category in flows:
            amount = per_firm_values(amount, n)
            banks = here and other == "banks"
            to_banks |= banks
            amounts.append(amount)
            booked.append((amount, sign, float(category == INCOME), float(category == EQUITY), float(banks)))
        reserves_paid = _book(
            n, at, cash, self._income[within], self._equity[within], bank, self.bank_loans.size, tuple(booked)
        )
        if by_bank is not None:
            self.bank_reserves -= by_bank
        elif to_banks:
            self.bank_reserves -= reserves_paid
        for (sign, _, other, label, _), amount in zip(flows, amounts, strict=True):
            total = float(amount.sum())
            if other != "banks":
                self.balance[other] -= sign * total
            key = (other, "firms", label) if sign * total >= 0 else ("firms", other, label)
            self.flows[key] += abs(total)

    def _by_bank(self, rows: np.ndarray, amounts: np.ndarray) -> np.ndarray:
        """Sum ``amounts`` of firms ``rows`` by their bank."""
        st = self.model.state
        weights = per_firm_values(amounts, rows.size)
        return np.bincount(st.bank[st.index(rows)], weights=weights, minlength=self.bank_loans.size)

    def income_of(self, rows: np.ndarray, copy: bool = True) -> np.ndarray:
        """Income booked to firms ``rows`` so far this quarter (their net-worth change other than equity),
        m yuan. ``copy=False``: a view when ``rows`` are every active firm (see ``FirmState.index``), to
        read before more income is booked."""
        self._grow()
        income = self._income[self.model.state.index(rows)]
        return income.copy() if copy else income

    def book_non_cash(self, rows: np.ndarray, amounts: np.ndarray) -> None:
        """Record a non-cash change of net worth (depreciation, write-downs; negative = loss)."""
        self._grow()
        self._income[self.model.state.index(rows)] += amounts

    # --- bank balance sheets ---------------------------------------------------------------------
    def lend(self, rows: np.ndarray, amounts: np.ndarray, label: str = "loans") -> None:
        """Banks lend ``amounts`` to firms: reserves to firm cash, loan book and firm debt up."""
        st = self.model.state
        self.firms_receive(rows, amounts, "banks", label, FINANCE)
        st._data["debt"][rows] += amounts
        self.bank_loans += self._by_bank(rows, amounts)

    def repay(self, rows: np.ndarray, amounts: np.ndarray, label: str = "repayment") -> None:
        """Firms repay principal: firm cash to reserves, loan book and firm debt down."""
        st = self.model.state
        self.firms_pay(rows, amounts, "banks", label, FINANCE)
        st._data["debt"][rows] -= amounts
        self.bank_loans -= self._by_bank(rows, amounts)

    def bank_services(
        self,
        rows: np.ndarray,
        loans: np.ndarray,
        interest: np.ndarray,
        principal: np.ndarray,
        also_paid: Sequence[Flow] = (),
    ) -> None:
        """New loans, interest and principal of firms ``rows`` with their banks, and other payments
        ``also_paid`` by the same firms, in one pass."""
        st = self.model.state
        ix = st.index(rows)
        with st.editing(ix, "debt") as (debt,):
            more_loans, interest_paid = _bank_books(debt, loans, principal, interest, st.bank[ix], self.bank_loans.size)
        self.bank_loans += more_loans
        self.bank_equity += interest_paid
        self.firm_flows(
            rows,
            received=[(loans, "banks", "loans", FINANCE)],
            paid=[(interest, "banks", "interest", INCOME), (principal, "banks", "repayment", FINANCE), *also_paid],
            by_bank=more_loans - interest_paid,
        )

    def write_off(self, rows: np.ndarray, amounts: np.ndarray) -> None:
        """Banks write off unrecoverable loans: loan book, firm debt and bank equity down."""
        st = self.model.state
        st._data["debt"][rows] -= amounts
        lost = self._by_bank(rows, amounts)
        self.bank_loans -= lost
        self.bank_equity -= lost
        self._grow()
        self._income[rows] += amounts  # debt forgiven raises the firm's net worth

    def bank_pays(self, bank: int, amount: float, sink: str, label: str) -> None:
        """Bank ``bank`` pays an expense (funding cost, refinancing interest) to ``sink``."""
        self.bank_reserves[bank] -= amount
        self.bank_equity[bank] -= amount
        self.balance[sink] += amount
        self.flows[(f"bank:{bank}", sink, label)] += amount

    def bank_capital(self, bank: int, amount: float) -> None:
        """Shareholders inject ``amount`` into bank ``bank`` (negative: the bank pays dividends)."""
        self.bank_reserves[bank] += amount
        self.bank_equity[bank] += amount
        self.balance["investors"] -= amount
        key = (
            ("investors", f"bank:{bank}", "bank capital")
            if amount >= 0
            else (f"bank:{bank}", "investors", "bank dividends")
        )
        self.flows[key] += abs(amount)

    def refinance(self, bank: int, amount: float) -> None:
        """The central bank lends ``amount`` to bank ``bank`` (re-lending); negative repays it."""
        self.bank_reserves[bank] += amount
        self.bank_refinancing[bank] += amount
        self.balance["central_bank"] -= amount
        self.central_bank_claims += amount
        key = (
            ("central_bank", f"bank:{bank}", "re-lending")
            if amount >= 0
            else (f"bank:{bank}", "central_bank", "re-lending repaid")
        )
        self.flows[key] += abs(amount)

    # --- identities --------------------------------------------------------------------------------
    def check(self, tol: float = 1e-6) -> None:
        """Verify the stock-flow identities of the quarter; raise :class:`AccountingError` on a breach.

        1. Money is conserved: the sum of all money balances is unchanged.
        2. Each firm's net worth (cash + capital - debt) changed by its income plus new equity.
        3. Each bank's loan book equals the debt of its borrowers.
        4. Each bank's equity equals reserves + loans - refinancing - deposits (balance sheet).
        5. Central-bank claims equal banks' refinancing debt.
        6. No lever has spent beyond its budget.
        """
        st = self.model.state
        scale_tol = tol * max(1.0, abs(self._start_total), float(np.abs(st.cash).sum()))
        total = self.total_money()
        if abs(total - self._start_total) > scale_tol:
            raise AccountingError(f"money not conserved: {total - self._start_total:+.6f} m yuan")
        n0 = self._start_rows
        nw = st.cash + st.capital - st.debt
        change = nw[:n0] - self._start_net_worth
        expected = self._income[:n0] + self._equity[:n0]
        gap = np.abs(change - expected)
        bad = np.flatnonzero(gap > tol * np.maximum(1.0, np.abs(self._start_net_worth)))
        if bad.size:
            r = int(bad[0])
            raise AccountingError(
                f"firm row {r}: net worth changed by {change[r]:.6f} but income+equity was {expected[r]:.6f}"
            )
        new = slice(n0, st.n)
        if st.n > n0:
            nw_new = nw[new]
            exp_new = self._income[new] + self._equity[new]
            if np.any(np.abs(nw_new - exp_new) > tol * np.maximum(1.0, np.abs(nw_new))):
                raise AccountingError("an entrant's net worth does not match the equity it brought")
        book = np.bincount(st.bank, weights=st.debt, minlength=self.bank_loans.size)
        if np.any(np.abs(book - self.bank_loans) > tol * np.maximum(1.0, self.bank_loans)):
            raise AccountingError(f"loan book {self.bank_loans} != borrowers' debt {book}")
        if np.any((st.status != Status.ACTIVE) & (np.abs(st.debt) > tol)):
            raise AccountingError("a firm that left the population still owes its bank")
        balance_sheet = self.bank_reserves + self.bank_loans - self.bank_refinancing - self.deposits
        if np.any(np.abs(balance_sheet - self.bank_equity) > tol * np.maximum(1.0, self.bank_loans)):
            raise AccountingError(f"bank equity {self.bank_equity} != balance sheet {balance_sheet}")
        if abs(self.central_bank_claims - self.bank_refinancing.sum()) > tol * max(1.0, self.central_bank_claims):
            raise AccountingError("central-bank claims differ from banks' refinancing debt")
        for lever in self.model.levers:
            budget = lever.settings.budget
            if budget is not None and lever.spent > budget * (1 + 1e-9):
                raise AccountingError(f"lever '{lever.name}' spent {lever.spent:.3f} over its budget {budget:.3f}")

    def open_banks(self, loans: np.ndarray, capital_ratio: float) -> None:
        """Set the banks' opening balance sheets: loans funded by deposits and equity."""
        self.bank_loans = loans.astype(float).copy()
        self.bank_equity = capital_ratio * self.bank_loans
        self.deposits = self.bank_loans - self.bank_equity

    def flow_matrix(self) -> dict[tuple[str, str, str], float]:
        """This quarter's flows: (source, sink, label) -> m yuan."""
        return dict(self.flows)


@per_firm
def _book(
    n_firms: int,
    rows: np.ndarray | None,
    cash: np.ndarray,
    income: np.ndarray,
    equity: np.ndarray,
    bank: np.ndarray,
    n_banks: int,
    flows: tuple,
) -> np.ndarray:
    """Add the net receipts of ``n_firms`` firms ``rows`` (rows 0 to n_firms - 1 if None) of the
    ``flows`` to their ``cash``, and the income and equity flows among them to ``income`` and
    ``equity``. Each flow is a tuple: its amounts (m yuan, one per firm), its sign (+1 received, -1
    paid), and 1.0 or 0.0 for whether it is income, equity, and to be summed by bank. Returns the
    per-bank sums of the net receipts of the flows to sum by bank (what the banks' reserves lose).

    The flows' signs and flags are tuple members, not an array, so the compiled loop keeps them in
    registers: read from an array, they would be read again for every firm after each write to the
    firm columns (which the compiler cannot tell apart from that array), at more than twice the cost.
    """
    from_banks = np.zeros(n_banks)
    any_income, any_equity, any_banks = False, False, False
    for flow in literal_unroll(flows):
        any_income |= flow[2] != 0.0
        any_equity |= flow[3] != 0.0
        any_banks |= flow[4] != 0.0
    for k in range(n_firms):
        i = k if rows is None else rows[k]
        net = 0.0
        net_income = 0.0
        net_equity = 0.0
        net_banks = 0.0
        for flow in literal_unroll(flows):
            amount = flow[0][k] * flow[1]
            net += amount
            net_income += amount if flow[2] != 0.0 else 0.0  # selections, not branches: the loop vectorises
            net_equity += amount if flow[3] != 0.0 else 0.0
            net_banks += amount if flow[4] != 0.0 else 0.0
        cash[i] += net
        if any_income:
            income[i] += net_income
        if any_equity:
            equity[i] += net_equity
        if any_banks:
            from_banks[bank[i]] += net_banks
    return from_banks


@per_firm
def _bank_books(
    debt: np.ndarray, loans: np.ndarray, principal: np.ndarray, interest: np.ndarray, bank: np.ndarray, n_banks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each firm's debt rises by its new ``loans`` less the ``principal`` it repays; returns the change
    of each bank's loan book and the ``interest`` each bank receives, m yuan."""
    more_loans, interest_paid = np.zeros(n_banks), np.zeros(n_banks)
    for i in range(debt.size):
        new_debt = loans[i] - principal[i]
        debt[i] += new_debt
        more_loans[bank[i]] += new_debt
        interest_paid[bank[i]] += interest[i]
    return more_loans, interest_paid
