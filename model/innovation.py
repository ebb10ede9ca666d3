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
        opportunity = model.tech_opportunity[sec]
        revenue = np.maximum(st.revenue[ix], 1e-9)
        intensity = np.minimum(st.rd[ix] / revenue, 5.0)

        innovate = model.uniform(rows, "innovation") < 1.0 - np.exp(-p.innovation_rate * opportunity * intensity)
        gain = np.zeros(rows.size)
        hit = np.flatnonzero(innovate)
        size = model.uniform(rows[hit], "innovation size")  # drawn only for the firms that innovate
        jump = p.jump_low + (p.jump_high - p.jump_low) * self._beta_quantile(p.jump_beta, size)
        gain[hit] = np.maximum(jump, 0.0)

        # imitation closes part of the gap to the sector frontier, the 90th percentile of a normal
        # fitted to the sector's productivities
        imitate = model.uniform(rows, "imitation") < 1.0 - np.exp(-p.imitation_rate * intensity)
        prod = st.productivity[ix]
        n_sec = len(model.sector_keys)
        count = np.maximum(np.bincount(sec, minlength=n_sec), 1)
        mean = np.bincount(sec, weights=prod, minlength=n_sec) / count
        var = np.maximum(np.bincount(sec, weights=prod * prod, minlength=n_sec) / count - mean**2, 0.0)
        frontier = mean + 1.2816 * np.sqrt(var)
        catch_up = imitate * (p.imitation_gap_closed * np.maximum(frontier[sec] - prod, 0.0))
        st.productivity[ix] = prod + np.maximum(gain, catch_up)
        self.successes = st.per_row(ix, gain > 0, False)
        # patents: the expected number, rounded up or down at random (unbiased)
        expected = st.rd[ix] * opportunity / p.patent_cost
        st.patents[ix] += np.floor(expected + model.uniform(rows, "patents"))
        uplift = p.digital_efficiency * digital_spend / revenue * (1.0 - st.digital[ix])
        st.digital[ix] = np.clip(st.digital[ix] * (1.0 - p.digital_decay) + uplift, 0.0, 1.0)
