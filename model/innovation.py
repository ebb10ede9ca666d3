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

from .compiled import maximum, minimum, per_firm
from .draws import uniform_of
from .firm_state import by_kind
from .tabulated import Tabulated, interpolated

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
        spend = p.digital_spend_share * st.revenue[ix] * (1.0 - st.digital[ix])
        subsidy = model.incentives.digital_subsidy[ix]
        if subsidy.any():  # without subsidies the price factor is 1 for every firm
            spend *= (1.0 - np.minimum(subsidy, 0.9)) ** (-p.digital_price_elasticity)
        return spend

    def step(self, model: EnterpriseModel, rows: np.ndarray, digital_spend: np.ndarray) -> None:
        """Productivity draws from this quarter's R&D, imitation, patents and digital maturity."""
        st, p = model.state, model.params.innovation
        ix = st.index(rows)
        quantiles = _beta_quantiles(p.jump_beta)  # sizes of innovations: Beta on [jump_low, jump_high]
        keys = tuple(model.draw_key(purpose) for purpose in ("innovation", "innovation size", "imitation", "patents"))
        with st.editing(ix, "productivity", "patents", "digital") as learning:
            success = _learn(
                st.sector[ix], model.tech_opportunity, len(model.sector_keys), st.rd[ix], st.revenue[ix],
                digital_spend, st.firm_id[ix], keys, quantiles.values, quantiles.low, quantiles.per_unit,
                quantiles.cells,
                p.innovation_rate, p.jump_low, p.jump_high, p.imitation_rate, p.imitation_gap_closed,
                p.patent_cost, p.digital_efficiency, p.digital_decay, *learning,
            )  # fmt: skip
        self.successes = st.per_row(ix, success, False)


@per_firm
def _learn(
    sector: np.ndarray,
    opportunity: np.ndarray,
    n_sectors: int,
    rd: np.ndarray,
    revenue: np.ndarray,
    digital_spend: np.ndarray,
    firm_id: np.ndarray,
    keys: tuple[np.uint64, np.uint64, np.uint64, np.uint64],
    size_quantiles: np.ndarray,
    quantiles_low: float,
    quantiles_per_unit: float,
    quantile_cells: int,
    innovation_rate: float,
    jump_low: float,
    jump_high: float,
    imitation_rate: float,
    gap_closed: float,
    patent_cost: float,
    digital_efficiency: float,
    digital_decay: float,
    productivity: np.ndarray,
    patents: np.ndarray,
    digital: np.ndarray,
) -> np.ndarray:
    """Update in place each firm's log productivity, patent stock and digital maturity; return whether
    its R&D raised its productivity.

    With R&D intensity x (R&D per yuan of revenue, at most 5), a firm innovates with chance
    1 - exp(-innovation_rate * opportunity of its sector * x); the log-productivity step is then a
    quantile of the tabulated ``size_quantiles`` (a Beta distribution on [0, 1]) scaled to
    [``jump_low``, ``jump_high``], kept if positive. It imitates with chance 1 - exp(-imitation_rate * x),
    closing ``gap_closed`` of the gap to the sector frontier, the 90th percentile of a normal fitted to
    the sector's productivities. It keeps the larger of the two gains. The exponential of a chance is
    needed only when the draw is below its argument, an upper bound of the chance (a few per cent of
    firms). Patents granted: R&D times opportunity over ``patent_cost``, rounded up or down at random
    (unbiased). Digital maturity decays and rises with spending per yuan of revenue, less so the more
    mature the firm is, within [0, 1].
    """
    count, total, squares = np.zeros(n_sectors), np.zeros(n_sectors), np.zeros(n_sectors)
    for i in range(sector.size):
        count[sector[i]] += 1.0
        total[sector[i]] += productivity[i]
        squares[sector[i]] += productivity[i] * productivity[i]
    frontier = np.empty(n_sectors)
    for s in range(n_sectors):
        firms = maximum(count[s], 1.0)
        mean = total[s] / firms
        frontier[s] = mean + 1.2816 * np.sqrt(maximum(squares[s] / firms - mean * mean, 0.0))
    innovation_key, size_key, imitation_key, patents_key = keys
    success = np.empty(sector.size, dtype=np.bool_)
    for i in range(sector.size):
        s = sector[i]
        revenue_i = maximum(revenue[i], 1e-9)
        gain = 0.0
        x = innovation_rate * opportunity[s] * minimum(rd[i] / revenue_i, 5.0)
        u = uniform_of(innovation_key, firm_id[i])
        if u < x and u < 1.0 - np.exp(-x):
            u_size = uniform_of(size_key, firm_id[i])
            quantile = interpolated(size_quantiles, quantiles_low, quantiles_per_unit, quantile_cells, u_size)
            gain = maximum(jump_low + (jump_high - jump_low) * quantile, 0.0)
        catch_up = 0.0
        x = imitation_rate * minimum(rd[i] / revenue_i, 5.0)
        u = uniform_of(imitation_key, firm_id[i])
        if u < x and u < 1.0 - np.exp(-x):
            catch_up = gap_closed * maximum(frontier[s] - productivity[i], 0.0)
        success[i] = gain > 0.0
        productivity[i] += maximum(gain, catch_up)
        patents[i] += np.floor(rd[i] * opportunity[s] / patent_cost + uniform_of(patents_key, firm_id[i]))
        uplift = digital_efficiency * digital_spend[i] / revenue_i * (1.0 - digital[i])
        digital[i] = minimum(maximum(digital[i] * (1.0 - digital_decay) + uplift, 0.0), 1.0)
    return success
