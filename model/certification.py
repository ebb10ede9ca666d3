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

from .compiled import maximum, minimum, per_firm
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
        # most rows (all SMEs): score every row in use from the columns themselves, one vectorised pass,
        # and pick ``rows`` after; fewer: gather their columns first
        every_row = 2 * rows.size > st.n
        ix = slice(0, st.n) if every_row else rows
        niche_sales = np.bincount(
            st.niche,
            weights=np.where(st.active(), st.annual_revenue, 0.0),
            minlength=int(st.niche.max()) + 1 if st.n else 0,
        )
        log_revenue = np.log(np.maximum(st.annual_revenue[ix], 1e-9))
        ok, score = _criteria(
            model.quarter, st.born[ix], st.annual_revenue[ix], st.revenue_lag8[ix], st.capital[ix], st.cash[ix],
            st.debt[ix], st.specialisation[ix], st.patents[ix], st.annual_rd[ix], st.recent_equity[ix],
            niche_sales[st.niche[ix]], log_revenue, c.min_age_years,
            c.min_specialisation * t, c.min_growth if t >= 1 else c.min_growth - (1 - t) * 0.2,
            c.max_debt_ratio / max(t, 1e-9), c.min_niche_share * t, c.min_patents * t, c.rd_intensity_large * t,
            c.rd_intensity_mid * t, c.small_equity * t, c.small_rd * t,
        )  # fmt: skip
        return (ok[rows], score[rows]) if every_row else (ok, score)

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
        rises, falls = _unicorn_changes(
            st.active(), st.venture, st.kind, st.valuation, st.born, model.quarter, p.unicorn_threshold,
            p.unicorn_exit_ratio * p.unicorn_threshold, p.unicorn_max_age,
        )  # fmt: skip
        st.unicorn_since[rises] = model.quarter
        model.change_kind(rises, Kind.UNICORN)
        if falls.size:  # back to little giants while their certification lasts, else SMEs
            certified = model.quarter - st.lg_since[falls] < 4 * model.params.certification.status_years
            model.change_kind(falls[~certified], Kind.SME)
            model.change_kind(falls[certified], Kind.LITTLE_GIANT)
        self.new_unicorns = rises
        self.new_unicorn_sectors = st.sector[rises]


@per_firm
def _criteria(
    quarter: int,
    born: np.ndarray,
    annual_revenue: np.ndarray,
    revenue_lag8: np.ndarray,
    capital: np.ndarray,
    cash: np.ndarray,
    debt: np.ndarray,
    specialisation: np.ndarray,
    patents: np.ndarray,
    annual_rd: np.ndarray,
    recent_equity: np.ndarray,
    niche_sales: np.ndarray,
    log_revenue: np.ndarray,
    min_age: float,
    min_specialisation: float,
    min_growth: float,
    max_debt_ratio: float,
    min_niche_share: float,
    min_patents: float,
    rd_intensity_large: float,
    rd_intensity_mid: float,
    small_equity: float,
    small_rd: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each firm meets every little-giant criterion, and its score. The criteria: age at least
    ``min_age`` years, main-business share, two-year average annual revenue growth, debt over assets (cash
    counted when positive), share of the annual sales of its niche (``niche_sales``, m yuan), invention
    patents, and R&D: annual R&D per yuan of annual revenue of at least ``rd_intensity_large`` (revenue
    >= 100 m yuan) or ``rd_intensity_mid`` (50-100 m yuan), or for smaller firms recent equity of at least
    ``small_equity`` and annual R&D of at least ``small_rd`` m yuan. The score adds the log of annual
    revenue (``log_revenue``), 5 x niche share, 2 x growth (within +-1), 10 x R&D intensity and 0.05 x
    patents. Written with selections, not branches, so that the compiler vectorises it."""
    ok, score = np.empty(born.size, dtype=np.bool_), np.empty(born.size)
    for i in range(born.size):
        annual = maximum(annual_revenue[i], 1e-9)
        growth = np.sqrt(annual / maximum(revenue_lag8[i], 1e-9)) - 1.0
        debt_ratio = debt[i] / maximum(capital[i] + maximum(cash[i], 0.0), 1e-9)
        niche_share = annual / maximum(niche_sales[i], 1e-9)
        rd_intensity = annual_rd[i] / annual
        small_firm_ok = (recent_equity[i] >= small_equity) & (annual_rd[i] >= small_rd)
        smaller_firm_ok = (rd_intensity >= rd_intensity_mid) if annual >= 50.0 else small_firm_ok
        rd_ok = (rd_intensity >= rd_intensity_large) if annual >= 100.0 else smaller_firm_ok
        ok[i] = (
            ((quarter - born[i]) / 4.0 >= min_age)
            & (specialisation[i] >= min_specialisation)
            & (growth >= min_growth)
            & (debt_ratio <= max_debt_ratio)
            & (niche_share >= min_niche_share)
            & (patents[i] >= min_patents)
            & rd_ok
        )
        score[i] = (
            log_revenue[i] + 5.0 * niche_share + 2.0 * minimum(maximum(growth, -1.0), 1.0) + 10.0 * rd_intensity
            + 0.05 * patents[i]
        )  # fmt: skip
    return ok, score


@per_firm
def _unicorn_changes(
    active: np.ndarray,
    venture: np.ndarray,
    kind: np.ndarray,
    valuation: np.ndarray,
    born: np.ndarray,
    quarter: int,
    threshold: float,
    exit_valuation: float,
    max_age: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the active venture-backed firms that become unicorns (valuation at least ``threshold``
    m yuan at most ``max_age`` years after founding) and of the unicorns that lose the status (valuation
    below ``exit_valuation``)."""
    rises, falls = np.empty(active.size, dtype=np.intp), np.empty(active.size, dtype=np.intp)
    n_rises = n_falls = 0
    for r in range(active.size):
        if not (venture[r] and active[r]):
            continue
        if kind[r] == Kind.UNICORN:
            if valuation[r] < exit_valuation:
                falls[n_falls] = r
                n_falls += 1
        elif valuation[r] >= threshold and (quarter - born[r]) / 4.0 <= max_age:
            rises[n_rises] = r
            n_rises += 1
    return rises[:n_rises], falls[:n_falls]
