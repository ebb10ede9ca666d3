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
        share = st.share[ix]
        n_sec = self.level.size
        sec_share = np.bincount(sec, weights=share, minlength=n_sec)
        mean_eff = np.bincount(sec, weights=share * eff, minlength=n_sec) / np.maximum(sec_share, 1e-300)
        base = st.customer_base[ix]
        grown = base + p.customer_base_growth * (1.0 - base)
        lines = np.maximum(1.0, st.annual_revenue[ix] / p.revenue_per_line)
        sigma = p.line_shock / np.sqrt(lines)
        growth = (
            p.replicator_speed * (eff - mean_eff[sec])
            + np.log(grown / base)
            + sigma * model.normal(rows, "product lines")
            - 0.5 * sigma**2
        )
        st.customer_base[ix] = grown
        share = share * np.exp(growth)
        share /= np.bincount(sec, weights=share, minlength=n_sec)[sec]
        st.share[ix] = share
        capacity = st.capital[ix] / self.capital_intensity[sec] / 4.0
        orders = share * total[sec]
        revenue = np.minimum(orders, capacity)
        st.orders[ix] = orders
        st.revenue[ix] = revenue
        # four-quarter revenue, smoothed: equals 4x revenue in a steady state
        st.annual_revenue[ix] = st.annual_revenue[ix] * 0.75 + revenue
