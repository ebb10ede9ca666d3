"""Central budget support for little giants' technological breakthroughs (FACTS.md §5).

Once a year MOF and MIIT select a batch of about 1,000 "key" little giants (we take those with the
most patents relative to revenue among current little giants not yet supported). Each gets 6 m yuan
over three years: half up front, the rest after a performance review two years on if it is still a
little giant; firms planning less than 20 m yuan of investment get a lower payout. The grant funds
R&D, spread over the three years, on top of the firm's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from ..firm_state import Kind
from .base import Lever, LeverSettings, register_lever

if TYPE_CHECKING:
    from ..model import EnterpriseModel


class GrantSettings(LeverSettings):
    batch_size: int = Field(1_000, ge=0, description="Key little giants per batch, national (MOF+MIIT 2024 No. 148).")
    batches: int = Field(3, ge=0, description="Number of annual batches.")
    grant: float = Field(6.0, ge=0, allow_inf_nan=False, description="Grant per firm over three years, m yuan.")
    upfront_share: float = Field(0.5, ge=0, le=1, description="Share paid on selection; the rest after review.")
    review_after: int = Field(8, ge=1, description="Quarters until the performance review.")
    min_investment: float = Field(
        20.0, ge=0, description="Planned annual investment below which the payout is reduced, m yuan."
    )
    reduced_payout: float = Field(
        0.5, ge=0, le=1, description="Share of the grant paid to firms below min_investment (calibration)."
    )
    support_quarters: int = Field(12, ge=1, description="Quarters over which the grant is spent on R&D.")
    budget: float | None = Field(
        18_000.0, ge=0, allow_inf_nan=False, description="Total budget, m yuan (3 batches x 1,000 x 6 m)."
    )


@register_lever
class LittleGiantGrants(Lever):
    """Annual batches of R&D grants to key little giants."""

    name = "little_giant_grants"
    Settings = GrantSettings

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.batches: list[tuple[int, np.ndarray, np.ndarray]] = []
        """(selection quarter, firm ids, entitlement m yuan) of each batch."""
        self.supported = np.zeros(0, dtype=bool)
        """Whether each firm id has been selected in a batch."""

    def act(self, model: EnterpriseModel) -> None:
        s, st = self.settings, model.state
        if self.supported.size < st.next_id:
            self.supported = np.concatenate([self.supported, np.zeros(st.next_id - self.supported.size, dtype=bool)])
        strength = self.intensity(model)
        since_start = model.quarter - s.start
        if strength > 0 and since_start % 4 == 0 and len(self.batches) < s.batches:
            lg = np.flatnonzero(st.active() & (st.kind == Kind.LITTLE_GIANT) & ~self.supported[st.firm_id])
            x = s.batch_size * model.scale * strength
            n = int(np.floor(x)) + int(self.random(model).random() < x - np.floor(x))
            merit = st.patents[lg] / np.maximum(st.annual_revenue[lg], 1.0)
            chosen = lg[np.argsort(-merit, kind="stable")[:n]]
            planned = 4.0 * st.investment[chosen]
            entitlement = s.grant * np.where(planned >= s.min_investment, 1.0, s.reduced_payout)
            self.supported[st.firm_id[chosen]] = True
            self.pay(model, chosen, s.upfront_share * entitlement, label="little-giant grants")
            self.batches.append((model.quarter, st.firm_id[chosen], entitlement))
        for quarter, ids, entitlement in self.batches:
            age = model.quarter - quarter
            rows, alive = st.find_active(ids)
            if age == s.review_after:
                keep = alive & (st.kind[rows] == Kind.LITTLE_GIANT)
                self.pay(model, rows[keep], (1.0 - s.upfront_share) * entitlement[keep], label="little-giant grants")
            if 0 <= age < s.support_quarters:
                model.incentives.rd_grant[rows[alive]] += entitlement[alive] / s.support_quarters
