"""The sectors of China's SRDI / little-giant / unicorn population and their default characteristics.

Each sector has a demand process (annual real growth and quarterly volatility), an exposure to the
consumer trade-in programmes, a capital intensity, a technological opportunity and its shares in the
starting population. Shares come from docs/FACTS.md §1 where a figure exists (little giants ~90 %
manufacturing; unicorns AI 14.1 %, semiconductors 12.2 %, ~70 % frontier tech) and are otherwise a
stated calibration. All defaults can be overridden from YAML as ``sectors.<key>.<field>``.
"""

from __future__ import annotations

from pydantic import Field

from .settings import UserSettings


class SectorParams(UserSettings):
    """Characteristics of one sector. Money in million yuan, rates per year unless stated."""


    name: str = Field(description="Human-readable name.")
    manufacturing: bool = Field(description="Counts as manufacturing (MIIT little-giant statistics).")
    frontier: bool = Field(
        description="A 'future industry' / frontier field named by MIIT (AI, low-altitude, BCI, 6G...)."
    )
    demand_growth: float = Field(ge=-0.5, le=1.0, description="Trend growth of nominal sector demand, per year.")
    demand_volatility: float = Field(ge=0.0, le=0.5, description="Std. dev. of the quarterly log demand shock.")
    capital_intensity: float = Field(gt=0.0, le=10.0, description="Desired capital stock per yuan of annual revenue.")
    tech_opportunity: float = Field(
        gt=0.0, le=5.0, description="Multiplier on the chance that R&D yields a productivity jump."
    )
    valuation_multiple: float = Field(
        gt=0.0, le=200.0, description="Venture valuation per yuan of annual revenue (price/sales)."
    )
    trade_in_goods: list[str] = Field(
        default_factory=list,
        description="Consumer trade-in programmes whose goods this sector makes (nev, ebike, appliance).",
    )
    share_srdi: float = Field(ge=0.0, le=1.0, description="Share of SRDI SMEs (non little giants).")
    share_little_giants: float = Field(ge=0.0, le=1.0, description="Share of little giants.")
    share_unicorns: float = Field(ge=0.0, le=1.0, description="Share of unicorns.")


def _s(**kw: object) -> SectorParams:
    return SectorParams(**kw)  # type: ignore[arg-type]


# Demand growth: NEV sales +35.5 % in 2024 (CAAM) — the trend is set lower (18 %/yr) because the
# 2024 figure includes the trade-in boost; appliances +12.3 % in 2024 with trade-ins (NBS) — trend 4 %.
# Other growth rates, volatilities, capital intensities and multiples are calibrations chosen so that the
# baseline reproduces the tier counts and unicorn flows of FACTS.md §1 (see experiments/validate).
DEFAULT_SECTORS: dict[str, SectorParams] = {
    "nev_battery": _s(
        name="New-energy vehicles and batteries",
        manufacturing=True,
        frontier=False,
        demand_growth=0.18,
        demand_volatility=0.03,
        capital_intensity=0.9,
        tech_opportunity=1.2,
        valuation_multiple=8.0,
        trade_in_goods=["nev"],
        share_srdi=0.07,
        share_little_giants=0.08,
        share_unicorns=0.12,
    ),
    "consumer_durables": _s(
        name="Consumer durables (e-bikes, appliances)",
        manufacturing=True,
        frontier=False,
        demand_growth=0.04,
        demand_volatility=0.03,
        capital_intensity=0.6,
        tech_opportunity=0.7,
        valuation_multiple=2.5,
        trade_in_goods=["ebike", "appliance"],
        share_srdi=0.08,
        share_little_giants=0.06,
        share_unicorns=0.03,
    ),
    "semiconductors": _s(
        name="Semiconductors",
        manufacturing=True,
        frontier=False,
        demand_growth=0.12,
        demand_volatility=0.04,
        capital_intensity=1.4,
        tech_opportunity=1.3,
        valuation_multiple=12.0,
        share_srdi=0.05,
        share_little_giants=0.07,
        share_unicorns=0.122,
    ),
    "ai": _s(
        name="Artificial intelligence",
        manufacturing=False,
        frontier=True,
        demand_growth=0.25,
        demand_volatility=0.05,
        capital_intensity=0.4,
        tech_opportunity=1.6,
        valuation_multiple=20.0,
        share_srdi=0.05,
        share_little_giants=0.05,
        share_unicorns=0.141,
    ),
    "smart_manufacturing": _s(
        name="Smart manufacturing and equipment",
        manufacturing=True,
        frontier=True,
        demand_growth=0.08,
        demand_volatility=0.03,
        capital_intensity=0.8,
        tech_opportunity=1.0,
        valuation_multiple=4.0,
        share_srdi=0.28,
        share_little_giants=0.30,
        share_unicorns=0.08,
    ),
    "new_materials": _s(
        name="New materials",
        manufacturing=True,
        frontier=False,
        demand_growth=0.07,
        demand_volatility=0.03,
        capital_intensity=1.0,
        tech_opportunity=0.9,
        valuation_multiple=4.0,
        share_srdi=0.16,
        share_little_giants=0.17,
        share_unicorns=0.04,
    ),
    "biomedicine": _s(
        name="Biomedicine incl. brain-computer interfaces",
        manufacturing=True,
        frontier=True,
        demand_growth=0.10,
        demand_volatility=0.04,
        capital_intensity=0.8,
        tech_opportunity=1.3,
        valuation_multiple=10.0,
        share_srdi=0.08,
        share_little_giants=0.09,
        share_unicorns=0.10,
    ),
    "telecom_6g": _s(
        name="Next-generation telecom (6G)",
        manufacturing=True,
        frontier=True,
        demand_growth=0.08,
        demand_volatility=0.03,
        capital_intensity=0.9,
        tech_opportunity=1.2,
        valuation_multiple=6.0,
        share_srdi=0.04,
        share_little_giants=0.05,
        share_unicorns=0.04,
    ),
    "low_altitude": _s(
        name="Low-altitude economy (drones, eVTOL)",
        manufacturing=True,
        frontier=True,
        demand_growth=0.20,
        demand_volatility=0.05,
        capital_intensity=0.8,
        tech_opportunity=1.3,
        valuation_multiple=10.0,
        share_srdi=0.02,
        share_little_giants=0.02,
        share_unicorns=0.03,
    ),
    "digital_services": _s(
        name="Enterprise software and digital services",
        manufacturing=False,
        frontier=False,
        demand_growth=0.08,
        demand_volatility=0.04,
        capital_intensity=0.3,
        tech_opportunity=1.0,
        valuation_multiple=8.0,
        share_srdi=0.05,
        share_little_giants=0.03,
        share_unicorns=0.297,
    ),
    "other_manufacturing": _s(
        name="Other manufacturing",
        manufacturing=True,
        frontier=False,
        demand_growth=0.04,
        demand_volatility=0.03,
        capital_intensity=0.8,
        tech_opportunity=0.7,
        valuation_multiple=2.5,
        share_srdi=0.12,
        share_little_giants=0.08,
        share_unicorns=0.03,
    ),
}
