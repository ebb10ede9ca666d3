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

from .compiled import maximum, minimum, per_firm
from .draws import uniform_of
from .tabulated import Tabulated, interpolated

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
        ix = model.state.index(rows)
        market = model.credit.quote(model, rows)
        project = inc.project_rate[ix] - inc.interest_subsidy[ix]
        return np.fmin(market, project)  # the market rate where there is no project rate (NaN)

    def plan(self, model: EnterpriseModel, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(renewal, expansion) for ``rows``."""
        st, p = model.state, model.params.investment
        ix = st.index(rows)
        table = self.renewal_hazard(p.service_life, p.renewal_shape)
        hazard, beyond, beyond_age = _hazards(
            st.vintage[ix], model.quarter, table.values, table.low, table.per_unit, table.cells, table.high
        )
        if beyond.size:  # equipment older than the table (rare): the hazard itself
            hazard[beyond] = table.f(beyond_age)
        # the response to the cost of finance (at least 0.5 %): the user-cost elasticity, at most tripled
        response = p.reference_rate / np.maximum(self.financing_rate(model, rows), 0.005)
        response **= p.user_cost_elasticity
        return _plans(
            st.sector[ix], model.demand.capital_intensity, np.exp(model.demand.trend), st.orders[ix],
            st.capital[ix], response, hazard, st.firm_id[ix], model.draw_key("renewal"), p.renewal_fraction,
            p.capacity_headroom, p.expansion_speed,
        )  # fmt: skip

    def install(self, model: EnterpriseModel, rows: np.ndarray, renewal: np.ndarray, expansion: np.ndarray) -> None:
        """Pay for and install new equipment of this quarter's vintage; depreciate the stock."""
        st = model.state
        ix = st.index(rows)
        spend = renewal + expansion
        model.accounts.firms_pay(rows, spend, "economy", "equipment", category="finance")
        with st.editing(ix, "capital", "vintage") as (capital, vintage):
            loss = _install(capital, vintage, spend, model.quarter, model.params.production.depreciation)
        st.investment[ix] = spend
        model.accounts.book_non_cash(rows, loss)


@per_firm
def _install(
    capital: np.ndarray, vintage: np.ndarray, spend: np.ndarray, quarter: int, depreciation_rate: float
) -> np.ndarray:
    """Install ``spend`` (m yuan) of this ``quarter``'s vintage and depreciate at ``depreciation_rate`` a
    quarter, updating each firm's ``capital`` and its capital-weighted mean ``vintage`` (quarter number)
    in place; returns the depreciation as a (negative) change of net worth, m yuan."""
    loss = np.empty(capital.size)
    for i in range(capital.size):
        installed = capital[i] + spend[i]
        if installed > 0:
            vintage[i] = (capital[i] * vintage[i] + spend[i] * quarter) / maximum(installed, 1e-12)
        else:
            vintage[i] = quarter
        depreciation = depreciation_rate * installed
        capital[i] = installed - depreciation
        loss[i] = -depreciation
    return loss


@per_firm
def _hazards(
    vintage: np.ndarray, quarter: int, values: np.ndarray, low: float, per_unit: float, cells: int, high: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The renewal hazard of each firm's equipment, of mean installation quarter ``vintage``, at its age
    in years, from the tabulated hazard (``values`` on a grid from ``low`` to ``high``); and the
    positions and ages of the firms whose equipment is older than ``high``, whose hazard is left to
    the caller."""
    hazard = np.empty(vintage.size)
    beyond = np.empty(vintage.size, dtype=np.intp)
    beyond_age = np.empty(vintage.size)
    count = 0
    for i in range(vintage.size):
        age = maximum(quarter - vintage[i], 0.0) / 4.0
        if age > high:
            beyond[count] = i
            beyond_age[count] = age
            count += 1
        hazard[i] = interpolated(values, low, per_unit, cells, age)
    return hazard, beyond[:count].copy(), beyond_age[:count].copy()


@per_firm
def _plans(
    sector: np.ndarray,
    capital_intensity: np.ndarray,
    trend_factor: np.ndarray,
    orders: np.ndarray,
    capital: np.ndarray,
    cost_response: np.ndarray,
    hazard: np.ndarray,
    firm_id: np.ndarray,
    key: np.uint64,
    renewal_fraction: float,
    headroom: float,
    expansion_speed: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each firm's renewal and expansion spending this quarter, m yuan. Its response to the cost of
    finance (its ``cost_response``, at most 3) scales its chance of renewal and its expansion. It renews
    ``renewal_fraction`` of its capital if its draw under ``key`` is below the renewal ``hazard`` so
    scaled; it expands ``expansion_speed`` of the way to the capital that next year's expected orders
    (this quarter's, grown at the sector trend) need with spare capacity ``headroom``, beyond its capital
    and renewal."""
    n = sector.size
    renewal, expansion = np.empty(n), np.empty(n)
    for i in range(n):
        s = sector[i]
        response = minimum(cost_response[i], 3.0)
        renew = uniform_of(key, firm_id[i]) < minimum(hazard[i] * response, 1.0)
        renewal[i] = (1.0 if renew else 0.0) * (renewal_fraction * capital[i])
        desired = capital_intensity[s] * (4.0 * orders[i] * trend_factor[s]) * (1.0 + headroom)
        expansion[i] = maximum(desired - capital[i] - renewal[i], 0.0) * expansion_speed * response
    return renewal, expansion
