"""Sector demand and firms' market shares by competitiveness.

Nominal demand of each sector follows a geometric random walk with drift (its trend growth and
volatility), plus any consumer spending the levers add (trade-in subsidies). Within a sector, market
shares evolve by replicator dynamics on relative efficiency (Dosi, Fagiolo & Roventini 2010, "K+S"),
young firms build up their customer base over years (Foster, Haltiwanger &
Syverson 2016), and each firm's demand is hit by independent shocks to its product lines, so that small
firms with few lines are more volatile than large ones (Buldyrev et al. 2007). Revenue is the firm's share of
sector demand, capped by its productive capacity. "Sector demand" is the market of the population:
newly certified firms bring their sales into it, and firms that list or are acquired take theirs out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .compiled import maximum, minimum, per_firm

if TYPE_CHECKING:
    from .model import EnterpriseModel


class DemandMarket:
    """Sector demand (m yuan per quarter, model units) and the allocation of it to firms."""

    def __init__(self, model: EnterpriseModel) -> None:
        sectors = list(model.params.sectors.values())
        self.trend = np.log1p(np.array([s.demand_growth for s in sectors])) / 4.0
        self.volatility = np.array([s.demand_volatility for s in sectors])
        self.capital_intensity = np.array([s.capital_intensity for s in sectors])
        self.level = np.zeros(len(sectors))
        """Underlying (private) sector demand, m yuan per quarter."""
        self.extra = np.zeros(len(sectors))
        """Demand added by levers this quarter, m yuan."""

    def open(self, model: EnterpriseModel) -> None:
        """Set sector demand to the sales of the starting population."""
        st = model.state
        self.level = np.bincount(st.sector, weights=st.revenue, minlength=self.level.size).astype(float)

    def add_firms(self, model: EnterpriseModel, rows: np.ndarray) -> None:
        """Newly certified firms bring the sales they already had: the population's market grows by
        their orders, and their shares are set so that the next renormalisation keeps those orders."""
        st = model.state
        sec = st.sector[rows]
        st.share[rows] = st.orders[rows] / np.maximum(self.level[sec], 1e-12)
        self.level += np.bincount(sec, weights=st.orders[rows], minlength=self.level.size)

    def remove_firms(self, model: EnterpriseModel, rows: np.ndarray) -> None:
        """Firms that list or are acquired leave the population with their sales (an insolvent
        firm's customers, by contrast, turn to its competitors)."""
        st = model.state
        lost = np.bincount(st.sector[rows], weights=st.orders[rows], minlength=self.level.size)
        self.level = np.maximum(self.level - lost, 0.0)

    def step(self, model: EnterpriseModel, eff: np.ndarray) -> None:
        """Stage 2: new sector demand, market shares and revenues of active firms, whose log
        efficiencies are ``eff`` (in the order of ``state.active_rows()``)."""
        st, rng, p = model.state, model.stream("sector demand"), model.params.demand
        shock = self.volatility * rng.standard_normal(self.level.size)
        self.level *= np.exp(self.trend + shock - 0.5 * self.volatility**2)
        self.extra = model.government.extra_demand()
        total = self.level + self.extra

        rows = st.active_rows()
        ix = st.index(rows)
        sec = st.sector[ix]
        # replicator dynamics on relative efficiency, customer-base growth and product-line shocks
        with st.editing(ix, "customer_base") as (base,):
            base_growth = _grow_customer_base(base, p.customer_base_growth)
        growth = _share_growth(
            sec, self.level.size, st.share[ix], eff, np.log(base_growth, out=base_growth), st.annual_revenue[ix],
            model.normal(rows, "product lines"), p.replicator_speed, p.revenue_per_line, p.line_shock,
        )  # fmt: skip
        np.exp(growth, out=growth)
        with st.editing(ix, "share", "orders", "revenue", "annual_revenue") as sales:
            _sell(sec, self.level.size, growth, total, st.capital[ix], self.capital_intensity, *sales)


@per_firm
def _grow_customer_base(base: np.ndarray, speed: float) -> np.ndarray:
    """Each firm's customer base closes ``speed`` of its gap to a full base (in place); returns the
    growth factors (new over old)."""
    factor = np.empty(base.size)
    for i in range(base.size):
        grown = base[i] + speed * (1.0 - base[i])
        factor[i] = grown / base[i]
        base[i] = grown
    return factor


@per_firm
def _share_growth(
    sector: np.ndarray,
    n_sectors: int,
    share: np.ndarray,
    eff: np.ndarray,
    base_growth: np.ndarray,
    annual_revenue: np.ndarray,
    shock: np.ndarray,
    replicator_speed: float,
    revenue_per_line: float,
    line_shock: float,
) -> np.ndarray:
    """Log growth of each firm's market share: ``replicator_speed`` times its log efficiency above its
    sector's share-weighted mean, plus the log growth of its customer base, plus a normal ``shock`` with
    standard deviation ``line_shock`` over the square root of its product lines (one per
    ``revenue_per_line`` of annual revenue), less half its variance (so the mean factor is 1)."""
    sector_share, weighted = np.zeros(n_sectors), np.zeros(n_sectors)
    for i in range(sector.size):
        sector_share[sector[i]] += share[i]
        weighted[sector[i]] += share[i] * eff[i]
    mean_eff = weighted / np.maximum(sector_share, 1e-300)
    growth = np.empty(sector.size)
    for i in range(sector.size):
        sigma = line_shock / np.sqrt(maximum(1.0, annual_revenue[i] / revenue_per_line))
        growth[i] = (
            replicator_speed * (eff[i] - mean_eff[sector[i]]) + base_growth[i] + sigma * shock[i] - 0.5 * sigma**2
        )
    return growth


@per_firm
def _sell(
    sector: np.ndarray,
    n_sectors: int,
    factor: np.ndarray,
    demand: np.ndarray,
    capital: np.ndarray,
    capital_intensity: np.ndarray,
    share: np.ndarray,
    orders: np.ndarray,
    revenue: np.ndarray,
    annual_revenue: np.ndarray,
) -> None:
    """Update in place each firm's market share (times its growth ``factor``, renormalised within its
    sector), orders (its share of sector ``demand``), revenue (orders up to the quarter's capacity:
    capital over the sector's annual capital intensity) and smoothed annual revenue (4x revenue in a
    steady state); m yuan."""
    total = np.zeros(n_sectors)
    for i in range(sector.size):
        share[i] *= factor[i]
        total[sector[i]] += share[i]
    for i in range(sector.size):
        s = sector[i]
        share[i] /= total[s]
        orders[i] = share[i] * demand[s]
        revenue[i] = minimum(orders[i], capital[i] / capital_intensity[s] / 4.0)
        annual_revenue[i] = annual_revenue[i] * 0.75 + revenue[i]
