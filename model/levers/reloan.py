"""Central-bank re-lending for technical transformation and equipment renewal (FACTS.md §3).

Firms whose projects are on the MIIT/NDRC candidate lists (little giants likelier) can borrow for
equipment renewal and expansion at a policy rate 25 bp below the 1-year LPR; the central bank
refinances 60 % of each such loan at 1.75 % up to the quota; the budget pays a 1.5 pp interest
subsidy on the principal for two years. Banks still screen and ration these loans with their own
capital and bear the credit risk. Loans already signed (the seed's 150 bn yuan) are disbursed in the
first quarters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from ..firm_state import Kind
from .base import Lever, LeverSettings, register_lever

if TYPE_CHECKING:
    from ..model import EnterpriseModel


class ReloanSettings(LeverSettings):
    quota: float = Field(
        400_000.0,
        ge=0,
        allow_inf_nan=False,
        description="Re-lending quota for project loans, m yuan (400 bn tranche, PBoC 2024-04-07).",
    )
    signed_backlog: float = Field(
        150_000.0,
        ge=0,
        allow_inf_nan=False,
        description="Project loans already signed, disbursed first, m yuan (Xinhua 2024-10-14).",
    )
    backlog_quarters: int = Field(2, ge=1, description="Quarters over which the signed loans are disbursed.")
    refinanced_share: float = Field(0.6, ge=0, le=1, description="Share of each eligible loan refinanced by the PBoC.")
    refinancing_rate: float = Field(0.0175, ge=0, le=0.2, description="PBoC rate to banks, per year.")
    rate_below_lpr: float = Field(
        0.0025,
        ge=-0.05,
        le=0.05,
        description="Project-loan rate below the 1-year LPR (3.1 % avg., 25 bp below; NDRC 2024-09-23).",
    )
    interest_subsidy: float = Field(
        0.015, ge=0, le=0.1, description="Fiscal interest subsidy, per year of principal (1.5 pp, Jul 2024)."
    )
    subsidy_quarters: int = Field(8, ge=0, description="Quarters the interest subsidy is paid on each loan (2 years).")
    eligible_share_sme: float = Field(
        0.06,
        ge=0,
        le=1,
        description="Share of SRDI SMEs with a listed project (calibration: ~13,000 projects by Sep 2024).",
    )
    eligible_share_little_giant: float = Field(
        0.12, ge=0, le=1, description="Share of little giants with a listed project (> 1,100 among borrowers)."
    )
    budget: float | None = Field(
        20_000.0, ge=0, allow_inf_nan=False, description="Interest-subsidy budget, m yuan (20 bn, MOF 2024)."
    )


@register_lever
class Reloan(Lever):
    """Re-lending with a fiscal interest subsidy for equipment-renewal and upgrading projects."""

    name = "reloan"
    Settings = ReloanSettings

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.quota_used = 0.0
        """Project loans made so far, m yuan (model units)."""
        self.listed = np.zeros(0, dtype=bool)
        """Whether each firm id has a listed project."""
        self.cohorts: list[tuple[int, np.ndarray, np.ndarray]] = []
        """(quarter, firm ids, amounts m yuan) of the project loans made each quarter."""
        self.backlog_paid = 0.0

    def _eligible(self, model: EnterpriseModel) -> np.ndarray:
        """Active firms with a project on the candidate lists (a mask over rows); new firms join at the
        same rates."""
        st, s = model.state, self.settings
        n_old = self.listed.size
        if st.next_id > n_old:
            draw = self.random(model).random(st.next_id - n_old)
            rows = st.rows_of_ids(np.arange(n_old, st.next_id))
            little_giant = (rows >= 0) & (st.kind[rows] == Kind.LITTLE_GIANT)
            p = np.where(little_giant, s.eligible_share_little_giant, s.eligible_share_sme)
            self.listed = np.concatenate([self.listed, draw < p])
        return self.listed[st.firm_id] & st.active()

    def act(self, model: EnterpriseModel) -> None:
        s, inc = self.settings, model.incentives
        strength = self.intensity(model)
        eligible = self._eligible(model)
        if strength <= 0:
            return
        rows = np.flatnonzero(eligible)
        inc.project_rate[rows] = model.credit.lpr(model) - s.rate_below_lpr
        if self.remaining(model) > 0:
            inc.interest_subsidy[rows] = s.interest_subsidy * min(strength, 1.0)
        quota = (s.quota + s.signed_backlog) * strength * model.scale
        inc.project_quota = max(quota - self.quota_used, 0.0)
        # signed loans: disbursed to listed firms in proportion to their capital, as renewal
        if model.quarter < s.start + s.backlog_quarters:
            tranche = s.signed_backlog * strength * model.scale / s.backlog_quarters
            weight = model.state.capital[rows]
            inc.signed_projects[rows] = tranche * weight / max(weight.sum(), 1e-12)

    def settle(self, model: EnterpriseModel) -> None:
        s, acc = self.settings, model.accounts
        fin = model.credit.project_lending
        if fin is not None and fin.project_loans.any():
            rows = fin.rows[fin.project_loans > 0]
            amounts = fin.project_loans[fin.project_loans > 0]
            self.quota_used += float(amounts.sum())
            banks = model.state.bank[rows]
            for b, amount in enumerate(np.bincount(banks, weights=amounts, minlength=len(model.banks))):
                if amount > 0:
                    acc.refinance(b, s.refinanced_share * amount)
            self.cohorts.append((model.quarter, model.state.firm_id[rows], amounts))
        # refinancing: interest to the PBoC and repayment as the loans amortise
        maturity = model.params.credit.maturity
        for b in range(len(model.banks)):
            outstanding = acc.bank_refinancing[b]
            if outstanding > 0:
                acc.bank_pays(b, outstanding * s.refinancing_rate / 4.0, "central_bank", "re-lending interest")
                acc.refinance(b, -outstanding / maturity)
        # fiscal interest subsidy on principal still outstanding, for subsidy_quarters
        self.cohorts = [c for c in self.cohorts if model.quarter - c[0] < s.subsidy_quarters]
        for quarter, ids, amounts in self.cohorts:
            rows, alive = model.state.find_active(ids)
            outstanding = amounts * (1.0 - 1.0 / maturity) ** (model.quarter - quarter)
            self.pay(
                model, rows[alive], outstanding[alive] * s.interest_subsidy / 4.0, label="re-lending interest subsidy"
            )
