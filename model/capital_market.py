"""The capital market: venture rounds and valuations, the IPO window, and mergers and acquisitions.

Neither K+S nor CATS models equity finance, so this mechanism is our own. A venture-backed firm's
valuation is its annual revenue times its sector's price/sales multiple times a log premium ("hype")
that follows a mean-reverting random walk and jumps when its R&D succeeds. Rounds arrive at random and
sell a fixed share of the firm. Each quarter the A-share IPO window admits a random number of listings (an AR(1)
around the baseline rate, of which a share goes to SRDI firms), drawn from eligible firms with weights
that favour little giants; unicorns list (on- or offshore) at their own hazard. Firms are acquired at a small
hazard that is higher for loss-making firms (restructuring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from .accounts import EQUITY
from .compiled import maximum, minimum, per_firm
from .draws import uniform_of
from .firm_state import Kind, Status, by_kind

if TYPE_CHECKING:
    from .model import EnterpriseModel


class CapitalMarket(mesa.Agent):
    """Venture investors, the stock exchanges' IPO window and acquirers."""

    def __init__(self, model: EnterpriseModel) -> None:
        super().__init__(model)
        self.window = 0.0
        """Log deviation of the IPO window from its baseline rate."""
        self.equity_raised = 0.0
        """Venture equity raised this quarter, m yuan (model units)."""
        self.funded = np.zeros(0, dtype=int)
        """Rows that closed a venture round this quarter."""
        self.round_sizes = np.zeros(0)

    def revalue(self, model: EnterpriseModel, rows: np.ndarray) -> None:
        """Valuation: venture firms by multiple and premium, others at the listed price/sales multiple."""
        st = model.state
        ix = st.index(rows)
        backed = np.flatnonzero(st.venture[ix])
        st.valuation[ix] = _valuations(
            backed, st.sector[ix], st.annual_revenue[ix], np.exp(st.hype[ix][backed]), model.valuation_multiple,
            model.params.listing.listed_multiple,
        )  # fmt: skip

    def update_premia(self, model: EnterpriseModel, rows: np.ndarray) -> None:
        """Stage 7: the venture premium random walk, lifted by this quarter's R&D successes."""
        st, p = model.state, model.params.venture
        venture = rows[np.flatnonzero(st.venture[st.index(rows)])]
        success = model.innovation.successes[venture]
        st.hype[venture] += (
            -p.hype_reversion * st.hype[venture]
            + p.hype_volatility * model.normal(venture, "venture premium")
            + p.hype_on_success * success
        )
        st.recent_equity[st.index(rows)] *= 0.875  # raised in the last two years, approximately
        self.revalue(model, rows)

    def venture_rounds(self, model: EnterpriseModel, rows: np.ndarray) -> None:
        """Stage 5: venture rounds for venture-backed firms; investors pay cash for new shares."""
        st, p = model.state, model.params.venture
        venture = rows[np.flatnonzero(st.venture[st.index(rows)])]
        boost = model.incentives.venture_boost[venture]
        gets = model.uniform(venture, "venture round") < np.minimum(p.round_rate * boost, 1.0)
        funded = venture[gets]
        amount = p.dilution * st.valuation[funded] * boost[gets]
        self.equity_raised = float(amount.sum())
        self.funded, self.round_sizes = funded, amount
        st.hype[funded] += p.round_step_up
        if funded.size:
            model.accounts.firms_receive(funded, amount, "investors", "venture rounds", EQUITY)
            st.equity_raised[funded] += amount
            st.recent_equity[funded] += amount

    def ipos(self, model: EnterpriseModel) -> np.ndarray:
        """Stage 7: list SRDI firms through this quarter's A-share window and unicorns at their own
        hazard (on- or offshore); return the rows listed."""
        st, p, rng = model.state, model.params.listing, model.stream("ipo window")
        self.window = p.ipo_capacity_persistence * self.window + p.ipo_capacity_volatility * rng.standard_normal()
        expected = p.ipo_capacity / 4.0 * p.population_share * model.scale * np.exp(self.window)
        expected += model.incentives.ipo_capacity_extra
        candidates, unicorns = _listing_candidates(
            st.status, st.kind, st.annual_revenue, st.annual_profit, p.min_revenue
        )
        n = min(int(rng.poisson(expected)), candidates.size)
        listed = np.zeros(0, dtype=int)
        if n > 0:
            weight = _queue_weights(
                candidates, st.kind, model.incentives.ipo_weight, st.annual_revenue, p.little_giant_priority
            )
            gumbel = -np.log(-np.log(np.maximum(model.uniform(candidates, "ipo queue"), 2.0**-30)))
            keys = np.log(weight) + gumbel  # weighted sampling without replacement
            listed = candidates[np.sort(np.argpartition(-keys, n - 1)[:n])]  # the n largest keys
        hazard = (1.0 - (1.0 - p.unicorn_ipo_rate) ** 0.25) * model.incentives.ipo_weight[unicorns]
        listed = np.concatenate([listed, unicorns[model.uniform(unicorns, "unicorn ipo") < np.minimum(hazard, 1.0)]])
        if listed.size == 0:
            return listed
        proceeds = p.proceeds_share * st.valuation[listed]
        fees = p.listing_cost * (1.0 - model.incentives.listing_cost_cut) * proceeds
        model.accounts.firms_receive(listed, proceeds, "investors", "IPO proceeds", EQUITY)
        model.accounts.firms_pay(listed, fees, "economy", "listing fees")
        st.equity_raised[listed] += proceeds
        model.leave(listed, Status.LISTED)
        return listed

    def acquisitions(self, model: EnterpriseModel) -> np.ndarray:
        """Stage 7: acquisitions at a kind-specific hazard, higher for loss-making firms."""
        st, p = model.state, model.params.listing
        annual = by_kind(p.ma_rate_sme, p.ma_rate_little_giant, p.ma_rate_unicorn)
        acquired = _acquired(
            st.status, st.firm_id, model.draw_key("acquisition"), st.kind, st.annual_profit,
            model.incentives.ma_boost[: st.n], 1.0 - (1.0 - annual) ** 0.25, p.ma_distress_multiplier,
        )  # fmt: skip
        model.leave(acquired, Status.ACQUIRED)
        return acquired


@per_firm
def _valuations(
    backed: np.ndarray,
    sector: np.ndarray,
    annual_revenue: np.ndarray,
    premium: np.ndarray,
    multiple: np.ndarray,
    listed_multiple: float,
) -> np.ndarray:
    """Equity valuation of each firm, m yuan: its annual revenue (if positive) times the
    ``listed_multiple``, except for the venture-backed firms at positions ``backed``, whose revenue is
    valued at their sector's venture ``multiple`` times their ``premium`` (the exponential of their hype,
    one per backed firm)."""
    valuation = np.empty(annual_revenue.size)
    for i in range(annual_revenue.size):
        valuation[i] = listed_multiple * maximum(annual_revenue[i], 0.0)
    for b in range(backed.size):
        i = backed[b]
        valuation[i] = multiple[sector[i]] * maximum(annual_revenue[i], 0.0) * premium[b]
    return valuation


@per_firm
def _listing_candidates(
    status: np.ndarray, kind: np.ndarray, annual_revenue: np.ndarray, annual_profit: np.ndarray, min_revenue: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the active firms that may queue for an A-share listing (not unicorns, with annual
    revenue of at least ``min_revenue`` m yuan and an annual profit), and rows of the active unicorns."""
    candidates = np.empty(status.size, dtype=np.intp)
    unicorns = np.empty(status.size, dtype=np.intp)
    n_candidates = n_unicorns = 0
    for r in range(status.size):
        # every row is written and kept only if it qualifies: no branch for the processor to mispredict
        active = status[r] == Status.ACTIVE
        unicorn = kind[r] == Kind.UNICORN
        unicorns[n_unicorns] = r
        n_unicorns += active & unicorn
        candidates[n_candidates] = r
        n_candidates += active & (not unicorn) & (annual_revenue[r] >= min_revenue) & (annual_profit[r] > 0)
    return candidates[:n_candidates].copy(), unicorns[:n_unicorns].copy()


@per_firm
def _queue_weights(
    candidates: np.ndarray,
    kind: np.ndarray,
    ipo_weight: np.ndarray,
    annual_revenue: np.ndarray,
    little_giant_priority: float,
) -> np.ndarray:
    """Weight of each of the IPO ``candidates`` (rows; the columns are indexed by row) in the listing
    queue: ``little_giant_priority`` for little giants and 1 for others, times its ``ipo_weight``, times
    the square root of its annual revenue (m yuan)."""
    weight = np.empty(candidates.size)
    for c in range(candidates.size):
        r = candidates[c]
        priority = little_giant_priority if kind[r] == Kind.LITTLE_GIANT else 1.0
        weight[c] = priority * ipo_weight[r] * np.sqrt(annual_revenue[r])
    return weight


@per_firm
def _acquired(
    status: np.ndarray,
    firm_id: np.ndarray,
    key: np.uint64,
    kind: np.ndarray,
    annual_profit: np.ndarray,
    ma_boost: np.ndarray,
    quarterly: np.ndarray,
    distress_multiplier: float,
) -> np.ndarray:
    """The rows of the active firms whose draw under ``key`` falls below their acquisition hazard this
    quarter: the ``quarterly`` rate of their kind, times 1 + ``distress_multiplier`` if their annual
    profit is negative, times their ``ma_boost``, at most 1."""
    acquired = np.empty(status.size, dtype=np.intp)
    count = 0
    for r in range(status.size):
        if status[r] != Status.ACTIVE:
            continue
        distress = 1.0 + distress_multiplier if annual_profit[r] < 0 else 1.0
        if uniform_of(key, firm_id[r]) < minimum(quarterly[kind[r]] * distress * ma_boost[r], 1.0):
            acquired[count] = r
            count += 1
    return acquired[:count]
