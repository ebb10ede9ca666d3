"""Consumer trade-ins for new-energy vehicles, e-bikes and appliances (FACTS.md §4).

A subsidy per unit lowers the net price of replacing an old product; trade-ins respond with a
constant price elasticity, limited by the stock of old products. Units bought early are missing
later (pull-forward now, payback afterwards). The extra spending reaches the sectors that make the
goods in proportion to the share of final spending that accrues to SRDI suppliers (pass-through).
Subsidies on every trade-in, including those that would have happened anyway, are the fiscal cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from ..settings import UserSettings
from .base import Lever, LeverError, LeverSettings, register_lever

if TYPE_CHECKING:
    from ..model import EnterpriseModel
    from ..parameters import Parameters


MIN_NET_PRICE = 0.05
"""Share of the price a buyer pays at least, whatever the subsidy (keeps the constant-elasticity
response finite when a scaled-up lever would make goods free)."""


class Good(UserSettings):
    """One trade-in programme. Prices and subsidies in yuan, units per year (national)."""

    price: float = Field(gt=0, allow_inf_nan=False, description="Average price of a new unit, yuan.")
    subsidy_rate: float = Field(ge=0, le=1, description="Subsidy as a share of the price.")
    subsidy_cap: float = Field(ge=0, allow_inf_nan=False, description="Subsidy per unit at most, yuan.")
    baseline_units: float = Field(ge=0, allow_inf_nan=False, description="Trade-ins per year without subsidy.")
    elasticity: float = Field(ge=0, le=20, description="Elasticity of trade-ins to their net price.")
    old_stock: float = Field(gt=0, allow_inf_nan=False, description="Old units that could be traded in.")
    pass_through: float = Field(
        ge=0, le=1, description="Share of spending that is revenue of SRDI suppliers in the sector."
    )


def _defaults() -> dict[str, Good]:
    return {
        # 20,000 yuan per scrapped car replaced by an NEV (MOFCOM 2024); 6.6 m trade-ins in 2024
        "nev": Good(
            price=150_000,
            subsidy_rate=1.0,
            subsidy_cap=20_000,
            baseline_units=3.0e6,
            elasticity=4.0,
            old_stock=8.0e7,
            pass_through=0.15,
        ),
        # 15 % capped at 500 yuan; ~2,700 yuan price; stock ~400 m units (MOFCOM Jan 2025; CBA)
        "ebike": Good(
            price=2_700,
            subsidy_rate=0.15,
            subsidy_cap=500,
            baseline_units=2.5e6,
            elasticity=3.0,
            old_stock=4.0e8,
            pass_through=0.3,
        ),
        # 15 % capped at 2,000 yuan per appliance (MOFCOM Aug 2024)
        "appliance": Good(
            price=4_000,
            subsidy_rate=0.15,
            subsidy_cap=2_000,
            baseline_units=4.0e7,
            elasticity=2.5,
            old_stock=1.5e9,
            pass_through=0.3,
        ),
    }


class TradeInSettings(LeverSettings):
    goods: dict[str, Good] = Field(default_factory=_defaults, description="Programmes by good (nev, ebike, appliance).")
    annual_budget: float = Field(
        300_000.0, ge=0, allow_inf_nan=False, description="Budget per year, m yuan (150 bn 2024, 300 bn 2025)."
    )
    payback_quarters: int = Field(
        8, ge=1, description="Quarters over which pulled-forward purchases are missing later."
    )


@register_lever
class TradeIn(Lever):
    """Consumer trade-in subsidies that add demand for the sectors making the goods."""

    name = "trade_in"
    Settings = TradeInSettings

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.pulled_forward: dict[str, float] = dict.fromkeys(self.settings.goods, 0.0)
        """Units bought early and not yet 'paid back', by good."""
        self.spent_by_year: dict[int, float] = {}

    def check(self, parameters: Parameters) -> None:
        sold = {good for sector in parameters.sectors.values() for good in sector.trade_in_goods}
        unsold = [good for good in self.settings.goods if good not in sold]
        if unsold:
            raise LeverError(
                f"lever 'trade_in': no sector makes the goods {unsold} (name them in a sector's "
                f"trade_in_goods; made now: {', '.join(sorted(sold))})"
            )

    def extra_demand(self, model: EnterpriseModel) -> np.ndarray:
        s = self.settings
        extra = np.zeros(len(model.sector_keys))
        strength = self.intensity(model)
        year = int(model.quarter_label()[:4])
        room = max(s.annual_budget * model.scale - self.spent_by_year.get(year, 0.0) * model.scale, 0.0)
        for good, g in s.goods.items():
            sectors = [i for i, sec in enumerate(model.params.sectors.values()) if good in sec.trade_in_goods]
            # however large the lever, a buyer still pays a little: the response is undefined at price 0
            subsidy = min(min(g.subsidy_rate * g.price, g.subsidy_cap) * strength, (1.0 - MIN_NET_PRICE) * g.price)
            depletion = max(0.0, 1.0 - self.pulled_forward[good] / g.old_stock)
            units = g.baseline_units / 4.0 * ((1.0 - subsidy / g.price) ** (-g.elasticity) - 1.0) * depletion
            cost = subsidy * (g.baseline_units / 4.0 + units) / 1e6 * model.scale  # m yuan, model units
            if cost > 0:
                paid = min(cost, room, self.remaining(model))
                units *= paid / cost
                room -= paid
                self.pay(model, None, paid, to="economy", label=f"trade-in subsidies ({good})")
                self.spent_by_year[year] = self.spent_by_year.get(year, 0.0) + paid / model.scale
            payback = 0.0 if strength > 0 else self.pulled_forward[good] / s.payback_quarters
            self.pulled_forward[good] += units - payback
            spending = (units - payback) * g.price / 1e6 * g.pass_through * model.scale
            for i in sectors:
                extra[i] += spending / len(sectors)
        return extra
