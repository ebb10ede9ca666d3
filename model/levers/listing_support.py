"""Listing, M&A and restructuring support for little giants and unicorns (FACTS.md §6).

Regulators approve more IPOs (extra capacity in the window), put little giants and unicorns ahead in
the queue, cut listing costs, and match firms with acquirers (a higher M&A hazard). The effects come
through equity raised at listing and through exits. Cheaper listing and faster approval are
regulatory changes, so the lever has no fiscal cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from ..firm_state import Kind
from .base import Lever, LeverSettings, register_lever

if TYPE_CHECKING:
    from ..model import EnterpriseModel


class ListingSupportSettings(LeverSettings):
    extra_ipos: float = Field(
        40.0,
        ge=0,
        allow_inf_nan=False,
        description="Additional IPO approvals per year, national (calibration: 2023 saw 313 IPOs vs ~100 in 2024).",
    )
    queue_priority: float = Field(
        1.5, ge=0, allow_inf_nan=False, description="Multiplier on little giants' and unicorns' IPO weight."
    )
    listing_cost_cut: float = Field(0.3, ge=0, le=1, description="Share of listing fees waived or saved.")
    ma_boost: float = Field(
        1.5, ge=0, allow_inf_nan=False, description="Multiplier on little giants' and unicorns' M&A hazard (matching)."
    )


@register_lever
class ListingSupport(Lever):
    """More IPO approvals, priority and cheaper listing, and M&A matching."""

    name = "listing_support"
    Settings = ListingSupportSettings

    def act(self, model: EnterpriseModel) -> None:
        s, inc, st = self.settings, model.incentives, model.state
        strength = self.intensity(model)
        if strength <= 0:
            return
        target = np.flatnonzero(st.active() & np.isin(st.kind, [Kind.LITTLE_GIANT, Kind.UNICORN]))
        inc.ipo_capacity_extra += s.extra_ipos / 4.0 * model.scale * strength
        inc.ipo_weight[target] *= 1.0 + (s.queue_priority - 1.0) * strength
        inc.ma_boost[target] *= 1.0 + (s.ma_boost - 1.0) * strength
        inc.listing_cost_cut = min(1.0, inc.listing_cost_cut + s.listing_cost_cut * strength)
