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
        vintage_gap = (st.vintage[ix] - model.quarter) / 4.0 * p.frontier_growth
        return st.productivity[ix] + p.embodied_share * vintage_gap + p.digital_productivity * st.digital[ix]

    def step(self, model: EnterpriseModel, eff: np.ndarray) -> None:
        """Output and costs of active firms, whose log efficiencies are ``eff`` (in the order of
        ``state.active_rows()``)."""
        st, p = model.state, model.params.production
        rows = st.active_rows()
        ix = st.index(rows)
        sec = st.sector[ix]
        n_sec = len(model.sector_keys)
        rev = st.revenue[ix]
        # the sector's price covers the costs of its typical producer (the unweighted mean), so a
        # firm's margin depends on its efficiency relative to that producer
        typical = np.bincount(sec, weights=eff, minlength=n_sec) / np.maximum(np.bincount(sec, minlength=n_sec), 1)
        relative_cost = np.exp(-p.productivity_cost_elasticity * (eff - typical[sec]))
        materials = p.materials_share * rev * relative_cost
        employees = 4.0 * rev / (model.params.population.labour_productivity * np.exp(eff))
        wages = employees * p.wage * model.wage_index
        overhead = p.overhead_rate * st.capital[ix]
        st.employees[ix] = employees
        costs = materials + wages + overhead
        self.costs = st.per_row(ix, costs, 0.0)
        model.accounts.firm_flows(
            rows,
            received=[(rev, "economy", "sales", INCOME)],
            paid=[(costs, "economy", "inputs, wages, overheads", INCOME)],
        )
