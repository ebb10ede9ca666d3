"""Support for future industries: the frontier sectors MIIT named in October 2024.

Government guidance funds co-invest in venture rounds of firms in the low-altitude economy, smart
manufacturing, biomedicine (brain-computer interfaces) and 6G: rounds come more often and are larger,
with the state's share paid in as equity; eligible firms that had no venture backing can attract it.
A cost subsidy covers part of eligible firms' operating costs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from .base import Lever, LeverError, LeverSettings, register_lever

if TYPE_CHECKING:
    from ..model import EnterpriseModel
    from ..parameters import Parameters


class FutureIndustriesSettings(LeverSettings):
    sectors: list[str] = Field(
        ["low_altitude", "smart_manufacturing", "biomedicine", "telecom_6g"],
        description="Sector keys supported (MIIT 14 Oct 2024: low-altitude, smart manufacturing, BCI, 6G).",
    )
    venture_boost: float = Field(1.5, ge=1, le=10, description="Multiplier on round chance and size (calibration).")
    fund_share: float = Field(0.3, ge=0, le=1, description="Share of each boosted round paid by guidance funds.")
    new_venture_rate: float = Field(
        0.01, ge=0, le=1, description="Quarterly chance an eligible firm without venture backing gains it."
    )
    cost_subsidy: float = Field(0.01, ge=0, le=0.5, description="Share of operating costs subsidised (calibration).")
    budget: float | None = Field(
        100_000.0,
        ge=0,
        allow_inf_nan=False,
        description="Total budget, m yuan (calibration: order of national guidance funds' frontier tranche).",
    )


@register_lever
class FutureIndustries(Lever):
    """Guidance-fund equity and cost subsidies for frontier sectors."""

    name = "future_industries"
    Settings = FutureIndustriesSettings

    def check(self, parameters: Parameters) -> None:
        unknown = [s for s in self.settings.sectors if s not in parameters.sectors]
        if unknown:
            raise LeverError(
                f"lever 'future_industries': unknown sectors {unknown} (known: {', '.join(parameters.sectors)})"
            )

    def _eligible(self, model: EnterpriseModel) -> np.ndarray:
        codes = [model.sector_keys.index(s) for s in self.settings.sectors]
        return model.state.active() & np.isin(model.state.sector, codes)

    def act(self, model: EnterpriseModel) -> None:
        s, st = self.settings, model.state
        strength = self.intensity(model)
        eligible = self._eligible(model)
        if strength <= 0 or self.remaining(model) <= 0:
            return
        candidates = np.flatnonzero(eligible & ~st.venture)
        draws = model.uniform(candidates, "future industries: venture backing")  # keyed by firm, like the model's
        joins = candidates[draws < s.new_venture_rate * strength]
        st.venture[joins] = True
        model.incentives.venture_boost[eligible] *= 1.0 + (s.venture_boost - 1.0) * strength

    def settle(self, model: EnterpriseModel) -> None:
        s = self.settings
        strength = self.intensity(model)
        if strength <= 0:
            return
        cm = model.capital_market
        boost = model.incentives.venture_boost[cm.funded]
        boosted = cm.funded[boost > 1.0]
        if boosted.size:
            self.pay(
                model, boosted, s.fund_share * cm.round_sizes[boost > 1.0], label="guidance-fund equity", equity=True
            )
        fin = model.last_financing
        rows = fin.rows[self._eligible(model)[fin.rows]]
        self.pay(
            model,
            rows,
            s.cost_subsidy * strength * model.production.costs[rows],
            label="future-industry cost subsidies",
        )
