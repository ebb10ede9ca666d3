"""Status: little-giant certification by the MIIT criteria and unicorn status by valuation.

Little giants (MIIT 2022 No. 63, FACTS.md §2): once a year MIIT reviews SRDI SMEs against the
criteria — at least 3 years in the niche, main business >= 70 % of revenue, two-year average revenue
growth >= 5 %, debt/assets <= 70 %, >= 10 % of the national niche market, R&D intensity >= 3 % (revenue
>= 100 m yuan) or >= 6 % (50-100 m), or for smaller firms >= 80 m yuan new equity and >= 30 m R&D, and
>= 2 invention patents — and certifies the best-scoring up to a national quota. Status lasts three
years; at re-review a firm keeps it only if it still broadly meets the criteria.

Unicorns: a private firm whose valuation reaches US$1 bn while it is young enough; it loses the status
when its valuation falls below the threshold by a margin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .firm_state import Kind

if TYPE_CHECKING:
    from .model import EnterpriseModel


class Certification:
    """Stage 7: annual little-giant batches and re-reviews; unicorn status each quarter."""

    def __init__(self) -> None:
        self.new_little_giants = 0
        self.lost_little_giants = 0
        self.new_unicorns = np.zeros(0, dtype=int)
        """Rows of the firms that became unicorns this quarter (until the table is compacted)."""
        self.new_unicorn_sectors = np.zeros(0, dtype=int)
        """Their sectors."""

    def criteria_score(
        self, model: EnterpriseModel, rows: np.ndarray, tolerance: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """(meets all criteria, score) for ``rows``; ``tolerance`` < 1 relaxes quantitative thresholds."""
        st, c = model.state, model.params.certification
        t = tolerance
        annual = np.maximum(st.annual_revenue[rows], 1e-9)
        age = (model.quarter - st.born[rows]) / 4.0
        growth = np.sqrt(annual / np.maximum(st.revenue_lag8[rows], 1e-9)) - 1.0
        assets = np.maximum(st.capital[rows] + np.maximum(st.cash[rows], 0.0), 1e-9)
        debt_ratio = st.debt[rows] / assets
        niche_sales = np.bincount(
            st.niche,
            weights=np.where(st.active(), st.annual_revenue, 0.0),
            minlength=int(st.niche.max()) + 1 if st.n else 0,
        )
        niche_share = annual / np.maximum(niche_sales[st.niche[rows]], 1e-9)
        rd_int = st.annual_rd[rows] / annual
        rd_ok = np.where(
            annual >= 100.0,
            rd_int >= c.rd_intensity_large * t,
            np.where(
                annual >= 50.0,
                rd_int >= c.rd_intensity_mid * t,
                (st.recent_equity[rows] >= c.small_equity * t) & (st.annual_rd[rows] >= c.small_rd * t),
            ),
        )
        growth_ok = growth >= (c.min_growth if t >= 1 else c.min_growth - (1 - t) * 0.2)
        ok = (
            (age >= c.min_age_years)
            & (st.specialisation[rows] >= c.min_specialisation * t)
            & growth_ok
            & (debt_ratio <= c.max_debt_ratio / max(t, 1e-9))
            & (niche_share >= c.min_niche_share * t)
            & (st.patents[rows] >= c.min_patents * t)
            & rd_ok
        )
        score = (
            np.log(annual) + 5.0 * niche_share + 2.0 * np.clip(growth, -1, 1) + 10.0 * rd_int + 0.05 * st.patents[rows]
        )
        return ok, score

    def review_little_giants(self, model: EnterpriseModel) -> None:
        """In the review quarter: re-review firms certified three years ago, then certify a new batch."""
        st, c = model.state, model.params.certification
        self.new_little_giants = 0
        self.lost_little_giants = 0
        if model.calendar_quarter != c.review_quarter:
            return
        lg = st.rows_of(Kind.LITTLE_GIANT)
        due = lg[model.quarter - st.lg_since[lg] >= 4 * c.status_years - 1]
        if due.size:
            keep, _ = self.criteria_score(model, due, tolerance=c.review_tolerance)
            st.lg_since[due[keep]] = model.quarter
            lost = due[~keep]
            model.change_kind(lost, Kind.SME)
            self.lost_little_giants = int(lost.size)

        smes = st.rows_of(Kind.SME)
        ok, score = self.criteria_score(model, smes)
        candidates = smes[ok]
        quota = model.stochastic_round(c.batch_quota * model.scale, "little-giant quota")
        chosen = candidates[np.argsort(-score[ok], kind="stable")[:quota]]
        st.lg_since[chosen] = model.quarter
        model.change_kind(chosen, Kind.LITTLE_GIANT)
        self.new_little_giants = int(chosen.size)

    def update_unicorns(self, model: EnterpriseModel) -> None:
        """Firms crossing US$1 bn become unicorns; unicorns far below it lose the status."""
        st, p = model.state, model.params.venture
        rows = np.flatnonzero(st.active() & st.venture)
        age = (model.quarter - st.born[rows]) / 4.0
        is_unicorn = st.kind[rows] == Kind.UNICORN
        rises = rows[~is_unicorn & (st.valuation[rows] >= p.unicorn_threshold) & (age <= p.unicorn_max_age)]
        falls = rows[is_unicorn & (st.valuation[rows] < p.unicorn_exit_ratio * p.unicorn_threshold)]
        st.unicorn_since[rises] = model.quarter
        model.change_kind(rises, Kind.UNICORN)
        back = np.where(
            model.quarter - st.lg_since[falls] < 4 * model.params.certification.status_years,
            Kind.LITTLE_GIANT,
            Kind.SME,
        )
        for kind in (Kind.SME, Kind.LITTLE_GIANT):
            model.change_kind(falls[back == kind], kind)
        self.new_unicorns = rises
        self.new_unicorn_sectors = st.sector[rises]
