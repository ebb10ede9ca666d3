"""Behavioural and calibration parameters of the model, each with its default and its source.

Parameters are grouped by the economic mechanism they belong to. Every field can be overridden from a
scenario file by its dotted name (``credit.capital_requirement: 0.12``); see :meth:`Parameters.override`.
Money is in million yuan, time in quarters unless a field says "per year". "Calibration" means the value
was chosen so the baseline reproduces the targets of docs/FACTS.md (see experiments/validate).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, model_validator

from .sectors import DEFAULT_SECTORS, SectorParams
from .settings import UserSettings, first_error

US_DOLLAR = 7.1
"""Yuan per US dollar, 2024 (FACTS.md preamble)."""


class _Group(UserSettings):
    """A group of parameters (``population``, ``credit``...)."""


class PopulationParams(_Group):
    """The synthetic starting population of 2024 Q4 (FACTS.md §1)."""

    srdi_firms: int = Field(141_000, ge=0, description="SRDI SMEs incl. little giants, Oct 2024 (Xinhua 2024-10-14).")
    little_giants: int = Field(14_600, ge=0, description="Little giants, Oct 2024 (Xinhua 2024-10-14).")
    unicorns: int = Field(
        358,
        ge=0,
        description="Unicorns at start: between Hurun 343 (Jan 2025) and GEI 372-375 (2023-24).",
    )
    srdi_revenue_median: float = Field(
        60.0, gt=0, description="Median annual revenue of SRDI SMEs, m yuan (calibration; SRDI floor is 10 m)."
    )
    lg_revenue_median: float = Field(
        260.0,
        gt=0,
        description=(
            "Median annual revenue of little giants, m yuan (calibration; listed LGs average 1.3 bn, FACTS §6)."
        ),
    )
    revenue_sigma: float = Field(
        0.9, gt=0, le=5, description="Log-s.d. of the lognormal body of revenues (calibration)."
    )
    tail_share: float = Field(0.10, ge=0, le=0.5, description="Share of firms drawn from the Pareto upper tail.")
    tail_alpha: float = Field(
        1.05, gt=0.5, le=3, description="Pareto tail exponent of firm size (Axtell 2001: 0.99-1.06; FACTS §8)."
    )
    min_revenue: float = Field(10.0, gt=0, description="SRDI revenue floor, m yuan per year (MIIT No. 63, FACTS §2).")
    max_revenue: float = Field(
        5_000.0,
        gt=0,
        description=(
            "Largest starting revenue, m yuan per year (calibration: SRDI firms are SMEs; listed LGs average 1.3 bn)."
        ),
    )
    srdi_age_mean: float = Field(12.0, gt=0, description="Mean firm age of SRDI SMEs, years (calibration).")
    lg_age_mean: float = Field(
        16.0, gt=0, description="Mean firm age of little giants, years (calibration; >= 3 by rule)."
    )
    unicorn_age_mean: float = Field(
        7.0, gt=0, description="Mean age of unicorns, years (GEI: <= 10 years; 4.3 years to status)."
    )
    unicorn_valuation_alpha: float = Field(
        1.36,
        gt=1,
        description=(
            "Pareto exponent of unicorn valuations so that the mean is US$3.8 bn over a US$1 bn floor (derived, FACTS "
            "§1)."
        ),
    )
    labour_productivity: float = Field(
        1.2, gt=0, description="Annual revenue per employee at sector-average productivity, m yuan (calibration)."
    )
    venture_share: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of SRDI SMEs that are venture-backed (fitted by experiments/calibrate.py to unicorn births)",
    )
    lg_with_loans: float = Field(
        0.70, ge=0, le=1, description="Share of little giants with bank loans (PBoC 2021, FACTS §7)."
    )
    lg_loan_balance: float = Field(
        75.0, ge=0, description="Average loan balance of indebted little giants, m yuan (PBoC 2021)."
    )
    sme_debt_to_capital: float = Field(
        0.35, ge=0, le=2, description="Debt per yuan of capital of indebted SMEs (calibration)."
    )
    cash_to_revenue: float = Field(0.25, ge=0, description="Starting cash per yuan of annual revenue (calibration).")
    niche_size: int = Field(
        12,
        ge=1,
        description="SRDI firms per national niche market (calibration: ~10 % niche share is attainable by a few).",
    )


class DemandParams(_Group):
    """Sector demand and market shares by competitiveness (replicator dynamics, Dosi et al. 2010)."""

    customer_base_growth: float = Field(
        0.1,
        ge=0,
        le=1,
        description=(
            "Share of the gap to a full customer base a young firm closes per quarter: demand is built up "
            "over years (Foster, Haltiwanger & Syverson 2016; calibration to young firms' faster growth)."
        ),
    )

    replicator_speed: float = Field(
        0.15,
        ge=0,
        le=2,
        description="Quarterly change of share per unit of relative competitiveness (K+S chi; calibration).",
    )
    line_shock: float = Field(
        0.20,
        ge=0,
        le=1,
        description="S.d. of the quarterly demand shock to one product line (calibration to Laplace growth rates).",
    )
    revenue_per_line: float = Field(
        15.0,
        gt=0,
        description=(
            "Annual revenue carried by one product line, m yuan: firms are portfolios of lines (Buldyrev et al. 2007; "
            "calibration to beta ~ 0.2)."
        ),
    )


class ProductionParams(_Group):
    """Costs, profit and taxes."""

    materials_share: float = Field(
        0.60,
        gt=0,
        lt=1,
        description=(
            "Intermediate-input cost per yuan of revenue at sector-average productivity (calibration to a ~6 % median "
            "net margin; NBS industrial profit margin 5.4 % in 2024)."
        ),
    )
    wage: float = Field(
        0.026,
        gt=0,
        description="Wage per employee per quarter, m yuan (NBS 2023 urban non-private manufacturing ~104k yuan/yr).",
    )
    overhead_rate: float = Field(
        0.012, ge=0, description="Fixed overhead per quarter per yuan of capital (calibration: operating leverage)."
    )
    depreciation: float = Field(
        0.025, ge=0, le=0.2, description="Capital depreciation per quarter (10 %/yr for equipment)."
    )
    wage_growth: float = Field(
        0.05, ge=-0.5, le=1, description="Nominal wage growth per year (NBS: urban wages grew ~5-6 %/yr in 2023-24)."
    )
    liquidation_value: float = Field(
        0.35,
        ge=0,
        le=1,
        description=(
            "Share of an insolvent firm's capital recovered in a fire sale (calibration; China's NPL recovery rates "
            "are around 30-40 %)."
        ),
    )
    tax_rate: float = Field(
        0.15, ge=0, lt=1, description="Corporate income tax for high-tech enterprises (15 %, PRC CIT Law art. 28)."
    )
    productivity_cost_elasticity: float = Field(
        1.0, ge=0, le=3, description="Elasticity of unit cost to relative productivity (K+S: unit cost = w/A)."
    )


class InnovationParams(_Group):
    """R&D as draws of productivity jumps and imitation (Dosi, Fagiolo & Roventini 2010), patents, digital."""

    rd_intensity_sme: float = Field(
        0.05, ge=0, le=1, description="R&D/revenue of SRDI SMEs (MIIT rule >= 3 %; calibration)."
    )
    rd_intensity_little_giant: float = Field(
        0.075, ge=0, le=1, description="R&D/revenue of little giants (> 7 % unlisted, FACTS §7)."
    )
    rd_intensity_unicorn: float = Field(
        0.15, ge=0, le=2, description="R&D/revenue of unicorns (calibration: venture-funded burn)."
    )
    rd_taste_sigma: float = Field(
        0.35, ge=0, le=2, description="Log-s.d. of firms' R&D intensity around their kind's mean (calibration)."
    )
    innovation_rate: float = Field(
        3.0,
        ge=0,
        description="zeta in P(jump) = 1 - exp(-zeta * opportunity * R&D intensity), per quarter (K+S; calibration).",
    )
    jump_low: float = Field(
        -0.04, ge=-1, le=0, description="Lower end of the productivity jump, log points (K+S Beta support)."
    )
    jump_high: float = Field(0.10, ge=0, le=1, description="Upper end of the productivity jump, log points.")
    jump_beta: float = Field(3.0, gt=0, description="Shape of the symmetric Beta(b, b) draw on [low, high].")
    imitation_rate: float = Field(2.0, ge=0, description="zeta2 for imitation of the sector frontier (K+S).")
    imitation_gap_closed: float = Field(
        0.2, ge=0, le=1, description="Share of the gap to the sector frontier an imitator closes."
    )
    patent_cost: float = Field(
        6.0,
        gt=0,
        description=(
            "R&D per invention patent, m yuan (calibration: LGs hold 22-27 patents, spend > 30 m/yr, FACTS §7)."
        ),
    )
    frontier_growth: float = Field(
        0.02, ge=-0.1, le=0.2, description="Growth of the technology frontier embodied in new equipment, per year."
    )
    embodied_share: float = Field(
        0.4, ge=0, le=1, description="Weight of capital vintage in productivity (calibration)."
    )
    digital_spend_share: float = Field(
        0.008, ge=0, le=0.5, description="Digital spending per yuan of revenue of a non-digital firm (calibration)."
    )
    digital_efficiency: float = Field(
        4.0,
        ge=0,
        description=(
            "Rise of digital maturity per yuan of digital spending per yuan of quarterly revenue (calibration)."
        ),
    )
    digital_productivity: float = Field(
        0.10,
        ge=0,
        le=1,
        description="Log-productivity gain of full digital maturity (calibration; MIIT pilot claims ~10-20 %).",
    )
    digital_price_elasticity: float = Field(
        1.0, ge=0, le=5, description="Elasticity of digital spending to its net price (calibration)."
    )
    digital_decay: float = Field(0.01, ge=0, le=1, description="Quarterly obsolescence of digital maturity.")


class InvestmentParams(_Group):
    """Equipment renewal by vintage and expansion investment."""

    service_life: float = Field(
        10.0, gt=0, le=100, description="Equipment service life, years (renewal hazard rises with age)."
    )
    renewal_shape: float = Field(3.0, gt=0, description="Weibull shape of the renewal hazard (calibration).")
    renewal_fraction: float = Field(
        0.3, gt=0, le=1, description="Share of the capital stock replaced by one renewal project."
    )
    expansion_speed: float = Field(
        0.25, ge=0, le=1, description="Share of the gap to desired capital closed per quarter."
    )
    capacity_headroom: float = Field(0.1, ge=0, le=1, description="Desired spare capacity.")
    user_cost_elasticity: float = Field(
        1.0,
        ge=0,
        le=5,
        description=(
            "Elasticity of investment to the loan rate (between Chirinko et al. 1999, 0.25, and Zwick & Mahon 2017, "
            "1.6 for small firms)."
        ),
    )
    reference_rate: float = Field(
        0.044,
        gt=0,
        description=(
            "Loan rate at which planned investment is at its reference level (new inclusive loan rate H1 2024, FACTS "
            "§7)."
        ),
    )


class CreditParams(_Group):
    """Banks: risk pricing (Assenza et al. 2015) and rationing by capital (Delli Gatti et al. 2011)."""

    bank_names: list[str] = Field(
        ["large_state", "joint_stock", "city_rural"], min_length=1, description="Bank groups lending to the population."
    )
    bank_shares: list[float] = Field(
        [0.42, 0.20, 0.38],
        min_length=1,
        description="Shares of SME lending by bank group (calibration to NFRA inclusive-loan data).",
    )
    capital_requirement: float = Field(
        0.105, gt=0, lt=1, description="Minimum capital per yuan of loans (NFRA: 8 % + 2.5 % conservation buffer)."
    )
    initial_capital_ratio: float = Field(
        0.15, gt=0, lt=1, description="Banks' capital ratio at start and their target (commercial banks ~15.7 %, 2024)."
    )
    capital_adjustment: float = Field(
        0.5,
        ge=0,
        le=1,
        description=(
            "Share of the gap to the target capital ratio closed per quarter by dividends or new capital (calibration)."
        ),
    )
    lpr_path: list[float] = Field(
        [0.0310, 0.0310, 0.0300],
        min_length=1,
        description="1-year LPR by quarter from 2024Q4, the last value held (PBoC: 3.10 % Oct 2024, 3.00 % May 2025).",
    )
    funding_cost: float = Field(0.018, ge=0, description="Banks' cost of deposit funding, per year (calibration).")
    spread_base: float = Field(
        0.006, ge=0, description="Spread over the LPR for a riskless borrower, per year (calibration)."
    )
    spread_per_pd: float = Field(
        1.0, ge=0, description="Spread per unit of annual default probability (expected-loss pricing)."
    )
    pd_intercept: float = Field(
        -4.8,
        description="Logit intercept of the annual default probability (fitted to the loan rate and exits, 2025-26).",
    )
    pd_leverage: float = Field(
        4.0, ge=0, description="Logit slope on debt/assets (Assenza et al. 2015: PD rises with leverage)."
    )
    pd_margin: float = Field(15.0, ge=0, description="Logit slope on the negative of the profit margin.")
    max_pd: float = Field(
        0.03,
        gt=0,
        le=1,
        description=(
            "Highest annual default probability a bank accepts (fitted to the share of firms with loans and "
            "exits, 2025-26; PBoC: 46.9 % of registered tech SMEs had loans at end-2024)."
        ),
    )
    max_leverage: float = Field(
        0.7, gt=0, le=1.5, description="Highest debt/assets after the loan (MIIT LG rule 70 %)."
    )
    max_debt_to_sales: float = Field(
        1.0,
        gt=0,
        le=10,
        description=(
            "Highest debt per yuan of annual sales after the loan: banks size SME credit on sales (CBRC 2010 "
            "working-capital loan rules; the loan-to-sales cap of Dosi, Fagiolo & Roventini 2010). Hand-set just "
            "above the 99.9th percentile of debt/sales in the starting population (0.94)."
        ),
    )
    loss_given_default: float = Field(
        0.65, ge=0, le=1, description="Share of a defaulted loan not recovered (calibration)."
    )
    maturity: float = Field(8.0, ge=1, description="Average loan maturity, quarters (1-3 years).")
    cash_buffer: float = Field(
        0.15, ge=0, description="Cash a firm keeps per yuan of quarterly revenue before borrowing."
    )


class VentureParams(_Group):
    """Venture rounds and valuations (no precedent in K+S/CATS: our own equity mechanism)."""

    round_rate: float = Field(
        0.08, ge=0, le=1, description="Quarterly chance of a round for a venture-backed firm (calibration)."
    )
    round_step_up: float = Field(
        0.05, ge=0, le=2, description="Rise of the log valuation premium at each round (up-rounds; calibration)."
    )
    dilution: float = Field(
        0.15, gt=0, lt=1, description="Share of the firm sold per round (calibration: 15-25 % typical)."
    )
    hype_volatility: float = Field(
        0.12, ge=0, le=2, description="Quarterly s.d. of the log valuation premium (calibration to unicorn births)."
    )
    hype_on_success: float = Field(0.08, ge=0, le=2, description="Rise of the log premium when R&D yields a jump.")
    hype_reversion: float = Field(0.03, ge=0, le=1, description="Quarterly mean reversion of the premium.")
    unicorn_threshold: float = Field(1_000 * US_DOLLAR, gt=0, description="US$1 bn in m yuan (Hurun/GEI definition).")
    unicorn_exit_ratio: float = Field(
        0.8,
        gt=0,
        le=1,
        description=(
            "A unicorn loses its status when its valuation falls below this share of US$1 bn (hysteresis so that "
            "firms near the line do not flicker; calibration)."
        ),
    )
    unicorn_max_age: float = Field(
        15.0,
        gt=0,
        description="Age above which a firm is no longer eligible to become a unicorn, years (GEI: 10; calibration).",
    )
    unicorn_burn_rate: float = Field(
        0.06, ge=0, le=1, description="Quarterly cost overrun of unicorns per yuan of revenue (calibration)."
    )


class ListingParams(_Group):
    """IPO window and M&A (FACTS §6)."""

    ipo_capacity: float = Field(
        116.0,
        ge=0,
        description="A-share IPOs per year in the baseline window (2024: 64 LG IPOs were 55 %, so ~116; FACTS §6).",
    )
    ipo_capacity_persistence: float = Field(
        0.8, ge=0, lt=1, description="AR(1) persistence of the quarterly IPO window."
    )
    ipo_capacity_volatility: float = Field(0.2, ge=0, le=2, description="S.d. of log shocks to the IPO window.")
    population_share: float = Field(
        0.75,
        ge=0,
        le=1,
        description="Share of A-share IPOs taken by SRDI SMEs (LGs alone 55 %, FACTS §6; calibration).",
    )
    min_revenue: float = Field(
        150.0, ge=0, description="Annual revenue needed to list, m yuan (simplified ChiNext/STAR/BSE)."
    )
    little_giant_priority: float = Field(
        6.0,
        ge=0,
        description=(
            "IPO queue weight of little giants relative to other SRDI SMEs (calibration: LGs took 64 of 2024's IPOs)."
        ),
    )
    unicorn_ipo_rate: float = Field(
        0.05, ge=0, le=1, description="Annual chance a unicorn lists, on- or offshore (GEI 2023: 19 IPO exits of 375)."
    )
    proceeds_share: float = Field(0.25, gt=0, le=1, description="IPO proceeds per yuan of valuation.")
    listing_cost: float = Field(
        0.08, ge=0, lt=1, description="Underwriting and listing fees per yuan of proceeds (calibration)."
    )
    listed_multiple: float = Field(
        4.0,
        gt=0,
        description=(
            "Valuation per yuan of annual revenue for firms without venture valuation (listed LGs: 6.7 bn / 1.3 bn)."
        ),
    )
    ma_rate_sme: float = Field(0.002, ge=0, le=1, description="Annual chance an SRDI SME is acquired (calibration).")
    ma_rate_little_giant: float = Field(
        0.0026,
        ge=0,
        le=1,
        description=(
            "Annual chance a little giant is acquired (fitted: with distressed firms' higher hazard it gives "
            "~45-56 deals a year; 62 deals in 2024, FACTS §6)."
        ),
    )
    ma_rate_unicorn: float = Field(
        0.01, ge=0, le=1, description="Annual chance a unicorn is acquired (Hurun: ~1/3 of exits by M&A)."
    )
    ma_distress_multiplier: float = Field(
        1.0, ge=0, description="Extra M&A hazard of loss-making firms (restructuring)."
    )


class CertificationParams(_Group):
    """Little-giant certification by the MIIT criteria (MIIT 2022 No. 63, FACTS §2)."""

    review_quarter: int = Field(3, ge=1, le=4, description="Calendar quarter in which a batch is announced.")
    batch_quota: int = Field(3_671, ge=0, description="National quota per batch (5th batch 2023: 3,671).")
    min_age_years: float = Field(3.0, ge=0, description="Years in the niche.")
    min_growth: float = Field(0.05, description="Average annual revenue growth over two years.")
    max_debt_ratio: float = Field(0.70, ge=0, description="Debt/assets.")
    min_niche_share: float = Field(0.10, ge=0, le=1, description="Share of the national niche market.")
    min_specialisation: float = Field(0.70, ge=0, le=1, description="Main business share of revenue.")
    min_patents: float = Field(2.0, ge=0, description="Core (invention) patents.")
    rd_intensity_large: float = Field(0.03, ge=0, description="R&D/revenue if revenue >= 100 m yuan.")
    rd_intensity_mid: float = Field(0.06, ge=0, description="R&D/revenue if revenue is 50-100 m yuan.")
    small_equity: float = Field(80.0, ge=0, description="New equity for firms under 50 m yuan revenue, m yuan.")
    small_rd: float = Field(30.0, ge=0, description="R&D for firms under 50 m yuan revenue, m yuan (annual).")
    status_years: float = Field(3.0, gt=0, description="Years before re-review.")
    review_tolerance: float = Field(
        0.40,
        ge=0,
        le=1,
        description=(
            "At re-review a little giant keeps its status if it meets this share of each quantitative threshold "
            "(fitted to little-giant net growth by experiments/calibrate.py)."
        ),
    )


class EntryParams(_Group):
    """New SRDI certifications from the pipeline of > 600,000 innovative SMEs (FACTS §1)."""

    annual_entrants: float = Field(
        30_000.0, ge=0, description="New SRDI SMEs per year at scale 1 (derived: 124k Apr 2024 -> 141k Oct 2024)."
    )
    revenue_median: float = Field(25.0, gt=0, description="Median annual revenue of entrants, m yuan (calibration).")
    age_min: float = Field(2.0, ge=0, description="Minimum age of an entrant, years (SRDI: >= 2 years in the niche).")
    age_mean: float = Field(5.0, gt=0, description="Mean age of an entrant, years (calibration).")
    productivity_gap: float = Field(
        0.05, ge=0, le=2, description="Entrants' log-productivity below the sector mean (calibration)."
    )
    productivity_sd: float = Field(
        0.25,
        ge=0,
        le=2,
        description=(
            "S.d. of entrants' log-productivity: young firms are more heterogeneous than incumbents (0.15), and "
            "selection among them makes exit hazards fall with age (Jovanovic 1982; calibration)."
        ),
    )
    with_loans: float = Field(0.6, ge=0, le=1, description="Share of entrants that borrow from a bank (calibration).")
    customer_base: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of its eventual customer base a firm has at the SRDI minimum age of 2 years (calibration).",
    )


class Parameters(_Group):
    """All behavioural parameters of :class:`smegrowth.EnterpriseModel`."""

    population: PopulationParams = Field(default_factory=PopulationParams)
    demand: DemandParams = Field(default_factory=DemandParams)
    production: ProductionParams = Field(default_factory=ProductionParams)
    innovation: InnovationParams = Field(default_factory=InnovationParams)
    investment: InvestmentParams = Field(default_factory=InvestmentParams)
    credit: CreditParams = Field(default_factory=CreditParams)
    venture: VentureParams = Field(default_factory=VentureParams)
    listing: ListingParams = Field(default_factory=ListingParams)
    certification: CertificationParams = Field(default_factory=CertificationParams)
    entry: EntryParams = Field(default_factory=EntryParams)
    sectors: dict[str, SectorParams] = Field(
        default_factory=lambda: {k: v.model_copy() for k, v in DEFAULT_SECTORS.items()}
    )

    @model_validator(mode="after")
    def _consistent(self) -> Parameters:
        if len(self.credit.bank_names) != len(self.credit.bank_shares):
            raise ValueError("credit.bank_names and credit.bank_shares must have the same length")
        if self.population.little_giants > self.population.srdi_firms:
            raise ValueError("population.little_giants cannot exceed population.srdi_firms")
        if not self.sectors:
            raise ValueError("sectors: at least one sector is needed")
        pop = self.population
        if pop.min_revenue > pop.max_revenue:
            raise ValueError(
                f"population.min_revenue ({pop.min_revenue:g}) must not exceed population.max_revenue "
                f"({pop.max_revenue:g})"
            )
        # each kind of firm there is, at the start or among entrants, needs a sector to be in
        firms = {
            "share_srdi": pop.srdi_firms - pop.little_giants + self.entry.annual_entrants,
            "share_little_giants": pop.little_giants,
            "share_unicorns": pop.unicorns,
        }
        for share, count in firms.items():
            if count > 0 and sum(getattr(s, share) for s in self.sectors.values()) <= 0:
                raise ValueError(f"sectors: {share} is zero in every sector, so its firms have no sector")
        if min(self.credit.bank_shares) < 0:
            raise ValueError(f"credit.bank_shares: a share cannot be negative, got {self.credit.bank_shares}")
        if sum(self.credit.bank_shares) <= 0:
            raise ValueError("credit.bank_shares: the shares add up to zero")
        return self

    def override(self, overrides: dict[str, Any]) -> Parameters:
        """A validated copy with ``{"group.field": value}`` overrides applied.

        Raises:
            ParameterError: naming the dotted key and what is wrong with it.
        """
        data = self.model_dump()
        for key, value in overrides.items():
            parts = key.split(".")
            node: Any = data
            for i, part in enumerate(parts):
                if not isinstance(node, dict) or part not in node:
                    known = ", ".join(sorted(node)) if isinstance(node, dict) else "none"
                    where = ".".join(parts[: i + 1])
                    raise ParameterError(key, f"unknown parameter '{where}' (known here: {known})")
                if i == len(parts) - 1:
                    node[part] = value
                else:
                    node = node[part]
        try:
            return Parameters.model_validate(data)
        except ValidationError as exc:
            err = first_error(exc)
            loc = ".".join(str(p) for p in err["loc"]) or key
            raise ParameterError(loc, err["msg"].removeprefix("Value error, ")) from None

    @staticmethod
    def names() -> list[str]:
        """Every overridable dotted parameter name (sectors included)."""
        out: list[str] = []

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else k, v)
            else:
                out.append(prefix)

        walk("", Parameters().model_dump())
        return out


class ParameterError(ValueError):
    """A parameter override that does not exist or is out of range."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"parameter '{key}': {reason}")
        self.key = key
        self.reason = reason
