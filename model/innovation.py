"""Innovation and productivity: R&D as draws of productivity jumps, imitation, patents, digital maturity.

Following Dosi, Fagiolo & Roventini (2010), each quarter a firm's R&D gives it a chance
1 - exp(-zeta * opportunity * R&D intensity) of drawing a new technology whose log-productivity step
is Beta-distributed on [jump_low, jump_high]; it adopts the draw only if it is an improvement. A second
chance lets it imitate, closing part of the gap to its sector's frontier. R&D yields invention patents
at a cost per patent. Digital spending raises digital maturity, which lowers unit costs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import betaincinv

from .compiled import per_firm
from .firm_state import by_kind
from .tabulated import Tabulated

if TYPE_CHECKING:
    from .model import EnterpriseModel


@lru_cache(maxsize=8)
def _beta_quantiles(shape: float) -> Tabulated:
    """The quantile function of Beta(shape, shape), tabulated on [0, 1]."""
    return Tabulated(lambda q: betaincinv(shape, shape, q), 0.0, 1.0)


class Innovation:
    """Stage 6 and the R&D and digital norms that firms' plans start from."""

    def __init__(self) -> None:
        self.successes = np.zeros(0, dtype=bool)
        """Rows whose R&D yielded a productivity jump this quarter."""

    def _beta_quantile(self, shape: float, u: np.ndarray) -> np.ndarray:
        """Quantiles of Beta(shape, shape) at ``u``, interpolated on a fine grid of probabilities
        (exact to ~1e-5 inside the outer 1 % of probabilities, where the quantile function is steep)."""
        return _beta_quantiles(shape)(u)

    def rd_norm(self, model: EnterpriseModel, rows: np.ndarray) -> np.ndarray:
        """R&D per yuan of revenue that ``rows`` plan by default: the mean intensity of each firm's kind
        times the firm's own R&D taste."""
        p, st = model.params.innovation, model.state
        intensity = by_kind(p.rd_intensity_sme, p.rd_intensity_little_giant, p.rd_intensity_unicorn)
        ix = st.index(rows)
        return intensity[st.kind[ix]] * st.rd_taste[ix]

    def digital_demand(self, model: EnterpriseModel, rows: np.ndarray) -> np.ndarray:
        """Digital spending: a share of revenue that falls with maturity and rises with subsidies."""
        st, p = model.state, model.params.innovation
        ix = st.index(rows)
        net_price = 1.0 - np.minimum(model.incentives.digital_subsidy[ix], 0.9)
        return (
            p.digital_spend_share
            * st.revenue[ix]
            * (1.0 - st.digital[ix])
            * net_price ** (-p.digital_price_elasticity)
        )

    def step(self, model: EnterpriseModel, rows: np.ndarray, digital_spend: np.ndarray) -> None:
        """Productivity draws from this quarter's R&D, imitation, patents and digital maturity."""
        st, p = model.state, model.params.innovation
        ix = st.index(rows)
        sec = st.sector[ix]
        rd, revenue = st.rd[ix], st.revenue[ix]
        innovate = _chance_taken(
            model.uniform(rows, "innovation"), p.innovation_rate, model.tech_opportunity, sec, rd, revenue
        )
        gain = np.zeros(rows.size)
        hit = np.flatnonzero(innovate)
        size = model.uniform(rows[hit], "innovation size")  # drawn only for the firms that innovate
        jump = p.jump_low + (p.jump_high - p.jump_low) * self._beta_quantile(p.jump_beta, size)
        gain[hit] = np.maximum(jump, 0.0)
        imitation, patent_draws = model.uniform(rows, "imitation"), model.uniform(rows, "patents")
        with st.editing(ix, "productivity", "patents", "digital") as learning:
            _learn(
                sec, model.tech_opportunity, len(model.sector_keys), rd, revenue, digital_spend, gain, imitation,
                patent_draws, p.imitation_rate, p.imitation_gap_closed, p.patent_cost, p.digital_efficiency,
                p.digital_decay, *learning,
            )  # fmt: skip
        self.successes = st.per_row(ix, gain > 0, False)


@per_firm
def _chance_taken(
    u: np.ndarray, rate: float, opportunity: np.ndarray, sector: np.ndarray, rd: np.ndarray, revenue: np.ndarray
) -> np.ndarray:
    """Whether each firm's R&D draw succeeds: ``u`` < 1 - exp(-rate * opportunity of its sector * R&D
    intensity), the intensity being R&D per yuan of revenue, at most 5. The exponential is needed only
    when ``u`` is below its argument, an upper bound of the probability (a few per cent of firms)."""
    success = np.zeros(u.size, dtype=np.bool_)
    for i in range(u.size):
        x = rate * opportunity[sector[i]] * min(rd[i] / max(revenue[i], 1e-9), 5.0)
        success[i] = u[i] < x and u[i] < 1.0 - np.exp(-x)
    return success


@per_firm
def _learn(
    sector: np.ndarray,
    opportunity: np.ndarray,
    n_sectors: int,
    rd: np.ndarray,
    revenue: np.ndarray,
    digital_spend: np.ndarray,
    gain: np.ndarray,
    u_imitation: np.ndarray,
    u_patents: np.ndarray,
    imitation_rate: float,
    gap_closed: float,
    patent_cost: float,
    digital_efficiency: float,
    digital_decay: float,
    productivity: np.ndarray,
    patents: np.ndarray,
    digital: np.ndarray,
) -> None:
    """Update in place each firm's log productivity, patent stock and digital maturity.

    Imitation (chance 1 - exp(-imitation_rate * R&D intensity)) closes ``gap_closed`` of the gap to the
    sector frontier, the 90th percentile of a normal fitted to the sector's productivities; a firm keeps
    the larger of its R&D ``gain`` and its catch-up. Patents granted: R&D times opportunity over
    ``patent_cost``, rounded up or down at random (unbiased). Digital maturity decays and rises with
    spending per yuan of revenue, less so the more mature the firm is, within [0, 1].
    """
    count, total, squares = np.zeros(n_sectors), np.zeros(n_sectors), np.zeros(n_sectors)
    for i in range(sector.size):
        count[sector[i]] += 1.0
        total[sector[i]] += productivity[i]
        squares[sector[i]] += productivity[i] * productivity[i]
    frontier = np.empty(n_sectors)
    for s in range(n_sectors):
        firms = max(count[s], 1.0)
        mean = total[s] / firms
        frontier[s] = mean + 1.2816 * np.sqrt(max(squares[s] / firms - mean * mean, 0.0))
    for i in range(sector.size):
        revenue_i = max(revenue[i], 1e-9)
        x = imitation_rate * min(rd[i] / revenue_i, 5.0)
        catch_up = 0.0
        if u_imitation[i] < x and u_imitation[i] < 1.0 - np.exp(-x):
            catch_up = gap_closed * max(frontier[sector[i]] - productivity[i], 0.0)
        productivity[i] += max(gain[i], catch_up)
        patents[i] += np.floor(rd[i] * opportunity[sector[i]] / patent_cost + u_patents[i])
        uplift = digital_efficiency * digital_spend[i] / revenue_i * (1.0 - digital[i])
        digital[i] = min(max(digital[i] * (1.0 - digital_decay) + uplift, 0.0), 1.0)
