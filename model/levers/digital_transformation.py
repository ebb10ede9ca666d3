"""Support for SMEs' digital transformation: a share of their digital spending paid by the state.

A fixed set of eligible SMEs (coverage, e.g. those in pilot cities) face a lower net price of digital
transformation; their spending responds through its price elasticity and raises their digital
maturity, which lowers unit costs. The subsidy is paid on realised spending, within the budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from ..firm_state import Kind
from .base import Lever, LeverSettings, register_lever

if TYPE_CHECKING:
    from ..model import EnterpriseModel


class DigitalSettings(LeverSettings):
    coverage: float = Field(
        0.3, ge=0, le=1, description="Share of SRDI SMEs and little giants eligible (calibration: pilot cities)."
    )
    subsidy_share: float = Field(0.3, ge=0, le=0.9, description="Share of digital spending subsidised (calibration).")
    budget: float | None = Field(
        15_000.0,
        ge=0,
        allow_inf_nan=False,
        description="Total budget, m yuan (calibration: order of the MOF/MIIT pilot-city programme).",
    )


@register_lever
class DigitalTransformation(Lever):
    """Subsidised digital transformation for eligible SMEs."""

    name = "digital_transformation"
    Settings = DigitalSettings

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.covered = np.zeros(0, dtype=bool)
        """Whether each firm id is covered by the programme."""

    def _eligible(self, model: EnterpriseModel) -> np.ndarray:
        st = model.state
        if st.next_id > self.covered.size:
            draw = self.random(model).random(st.next_id - self.covered.size)
            self.covered = np.concatenate([self.covered, draw < self.settings.coverage])
        return self.covered[st.firm_id] & st.active() & (st.kind != Kind.UNICORN)

    def act(self, model: EnterpriseModel) -> None:
        eligible = self._eligible(model)
        strength = self.intensity(model)
        if strength > 0 and self.remaining(model) > 0:
            model.incentives.digital_subsidy[eligible] = self.settings.subsidy_share * min(strength, 1.0)

    def settle(self, model: EnterpriseModel) -> None:
        fin = model.last_financing
        if fin is None:
            return
        rate = model.incentives.digital_subsidy[fin.rows]
        paid = rate > 0
        if paid.any():
            self.pay(model, fin.rows[paid], rate[paid] * fin.digital[paid], label="digital-transformation subsidies")
