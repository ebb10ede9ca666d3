"""Production, costs and operating cash flow.

A firm's unit cost falls with its efficiency relative to its sector's typical producer: its own log productivity, the
vintage of its equipment (new machines embody the technology frontier) and its digital maturity
(K+S: unit cost = wage / productivity). Intermediate inputs are a sector-wide share of revenue scaled by
relative unit cost; employment follows from labour productivity; overheads are fixed per unit of
capital. Revenue is paid by the rest of the economy; inputs, wages and overheads are paid to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .accounts import INCOME
from .compiled import per_firm

if TYPE_CHECKING:
    from .model import EnterpriseModel


class Production:
    """Stage 3: output, costs and the operating surplus of active firms."""

    def __init__(self) -> None:
        self.costs = np.zeros(0)
        """Operating costs (inputs, wages, overheads) of each row this quarter, m yuan."""

    def efficiency(self, model: EnterpriseModel, rows: np.ndarray) -> np.ndarray:
        """Log efficiency of ``rows``: productivity + embodied vintage + digital gains."""
        st, p = model.state, model.params.innovation
        ix = st.index(rows)
        return _efficiency(
            st.productivity[ix], st.vintage[ix], st.digital[ix], model.quarter, p.frontier_growth, p.embodied_share,
            p.digital_productivity,
        )  # fmt: skip

    def step(self, model: EnterpriseModel, eff: np.ndarray) -> None:
        """Output and costs of active firms, whose log efficiencies are ``eff`` (in the order of
        ``state.active_rows()``)."""
        st, p = model.state, model.params.production
        rows = st.active_rows()
        ix = st.index(rows)
        rev = st.revenue[ix]
        # the sector's price covers the costs of its typical producer (the unweighted mean), so a
        # firm's margin depends on its efficiency relative to that producer
        relative_cost = _cost_exponent(st.sector[ix], len(model.sector_keys), eff, p.productivity_cost_elasticity)
        with st.editing(ix, "employees") as (employees,):
            costs = _costs(
                rev, np.exp(relative_cost, out=relative_cost), np.exp(eff), st.capital[ix], p.materials_share,
                model.params.population.labour_productivity, p.wage, model.wage_index, p.overhead_rate, employees,
            )  # fmt: skip
        self.costs = st.per_row(ix, costs, 0.0)
        model.accounts.firm_flows(
            rows,
            received=[(rev, "economy", "sales", INCOME)],
            paid=[(costs, "economy", "inputs, wages, overheads", INCOME)],
        )


@per_firm
def _efficiency(
    productivity: np.ndarray,
    vintage: np.ndarray,
    digital: np.ndarray,
    quarter: int,
    frontier_growth: float,
    embodied_share: float,
    digital_productivity: float,
) -> np.ndarray:
    """Log efficiency of each firm: its log productivity, plus ``embodied_share`` of the frontier's
    log growth (``frontier_growth`` a year) since its equipment's mean ``vintage``, plus
    ``digital_productivity`` times its digital maturity."""
    eff = np.empty(productivity.size)
    for i in range(productivity.size):
        vintage_gap = (vintage[i] - quarter) / 4.0 * frontier_growth
        eff[i] = productivity[i] + embodied_share * vintage_gap + digital_productivity * digital[i]
    return eff


@per_firm
def _cost_exponent(sector: np.ndarray, n_sectors: int, eff: np.ndarray, elasticity: float) -> np.ndarray:
    """Log unit cost of each firm relative to its sector's typical producer: -``elasticity`` times its
    log efficiency above the sector's unweighted mean."""
    total, count = np.zeros(n_sectors), np.zeros(n_sectors)
    for i in range(sector.size):
        total[sector[i]] += eff[i]
        count[sector[i]] += 1.0
    typical = total / np.maximum(count, 1.0)
    exponent = np.empty(sector.size)
    for i in range(sector.size):
        exponent[i] = -elasticity * (eff[i] - typical[sector[i]])
    return exponent


@per_firm
def _costs(
    revenue: np.ndarray,
    relative_cost: np.ndarray,
    efficiency: np.ndarray,
    capital: np.ndarray,
    materials_share: float,
    labour_productivity: float,
    wage: float,
    wage_index: float,
    overhead_rate: float,
    employees: np.ndarray,
) -> np.ndarray:
    """Each firm's operating costs this quarter, m yuan: intermediate inputs (a share of revenue scaled
    by ``relative_cost``), wages (``wage`` times the ``wage_index``) of the ``employees`` (set in place)
    that annual revenue needs at ``labour_productivity`` times the ``efficiency`` factor (m yuan per
    worker-year), and overheads per unit of capital."""
    costs = np.empty(revenue.size)
    for i in range(revenue.size):
        employees[i] = 4.0 * revenue[i] / (labour_productivity * efficiency[i])
        wages = employees[i] * wage * wage_index
        costs[i] = materials_share * revenue[i] * relative_cost[i] + wages + overhead_rate * capital[i]
    return costs
