"""Equipment renewal by vintage and expansion investment.

Firms renew equipment with a hazard that rises with its age (Weibull in years since installation,
scaled by the service life), replacing a share of the capital stock with machines of the current
technology vintage; and they expand towards a desired capital stock proportional to expected sales
plus spare capacity. Both respond to the cost of finance through a user-cost elasticity, so cheaper
project loans (re-lending, interest subsidies) raise investment.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .tabulated import Tabulated

if TYPE_CHECKING:
    from .model import EnterpriseModel


class InvestmentPlanner:
    """Planned renewal and expansion spending of firms (m yuan per quarter)."""

    @staticmethod
    @lru_cache(maxsize=8)
    def renewal_hazard(life: float, shape: float) -> Tabulated:
        """Probability that equipment installed ``age`` years ago is renewed within the next quarter: a
        Weibull hazard with scale ``life`` (years) and ``shape``, tabulated up to four service lives
        (older equipment, rare, gets the formula itself)."""

        def within_quarter(age: np.ndarray) -> np.ndarray:
            return -np.expm1(-(((age + 0.25) / life) ** shape - (age / life) ** shape))

        return Tabulated(within_quarter, 0.0, 4.0 * life)

    def financing_rate(self, model: EnterpriseModel, rows: np.ndarray) -> np.ndarray:
        """The annual rate at which ``rows`` expect to finance a project, net of fiscal subsidies."""
        inc = model.incentives
        market = model.credit.quote(model, rows)
        ix = model.state.index(rows)
        project = inc.project_rate[ix] - inc.interest_subsidy[ix]
        return np.fmin(market, project)  # the market rate where there is no project rate (NaN)

    def plan(self, model: EnterpriseModel, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(renewal, expansion) for ``rows``."""
        st, p = model.state, model.params.investment
        ix = st.index(rows)
        sec = st.sector[ix]
        kappa = model.demand.capital_intensity[sec]
        expected = 4.0 * st.orders[ix] * np.exp(model.demand.trend[sec])
        rate = np.maximum(self.financing_rate(model, rows), 0.005)
        response = np.minimum((p.reference_rate / rate) ** p.user_cost_elasticity, 3.0)
        age = np.maximum(model.quarter - st.vintage[ix], 0.0) / 4.0
        hazard = self.renewal_hazard(p.service_life, p.renewal_shape)(age)
        renew = model.uniform(rows, "renewal") < np.minimum(hazard * response, 1.0)
        renewal = renew * (p.renewal_fraction * st.capital[ix])
        # renewal replaces worn capacity, so only the remaining gap to desired capital is expansion
        desired = kappa * expected * (1.0 + p.capacity_headroom)
        expansion = np.maximum(desired - st.capital[ix] - renewal, 0.0) * p.expansion_speed * response
        return renewal, expansion

    def install(self, model: EnterpriseModel, rows: np.ndarray, renewal: np.ndarray, expansion: np.ndarray) -> None:
        """Pay for and install new equipment of this quarter's vintage; depreciate the stock."""
        st = model.state
        ix = st.index(rows)
        spend = renewal + expansion
        model.accounts.firms_pay(rows, spend, "economy", "equipment", category="finance")
        k_old = st.capital[ix]
        k_new = k_old + spend
        st.vintage[ix] = np.where(
            k_new > 0, (k_old * st.vintage[ix] + spend * model.quarter) / np.maximum(k_new, 1e-12), model.quarter
        )
        depreciation = model.params.production.depreciation * k_new
        st.capital[ix] = k_new - depreciation
        st.investment[ix] = spend
        model.accounts.book_non_cash(rows, -depreciation)
