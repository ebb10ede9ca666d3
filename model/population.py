"""The synthetic starting population of 2024 Q4 (docs/FACTS.md §1, §7).

At ``scale=1.0`` it holds 141,000 SRDI SMEs of which 14,600 little giants, and 358 unicorns, with
sector shares from :mod:`smegrowth.sectors`, lognormal firm sizes with a Pareto upper tail
(Axtell 2001), gamma-distributed ages above the MIIT minimums and balance sheets calibrated to the
PBoC's little-giant loan figures. ``scale`` draws a proportional sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from . import draws
from .compiled import per_firm
from .firm_state import Kind

if TYPE_CHECKING:
    from .model import EnterpriseModel
    from .parameters import Parameters


def sample_sizes(
    rng: np.random.Generator,
    n: int,
    median: float,
    sigma: float,
    tail_share: float,
    alpha: float,
    floor: float,
    ceiling: float,
) -> np.ndarray:
    """Annual revenues (m yuan) by inverse CDF: the lower ``1 - tail_share`` of firms follow a lognormal
    (median, sigma) up to its quantile ``1 - tail_share``; the top ``tail_share`` follow a Pareto tail
    with exponent ``alpha`` from there, truncated at ``ceiling``. The two pieces join continuously."""
    u = rng.random(n)
    body_share = 1.0 - tail_share
    x = median * np.exp(sigma * ndtri(np.minimum(u, body_share) if tail_share > 0 else u))
    if n and tail_share > 0:
        cut = median * np.exp(sigma * ndtri(body_share))
        tail = u > body_share
        v = (u[tail] - body_share) / tail_share
        top = 1.0 - (cut / max(ceiling, cut)) ** alpha
        x[tail] = cut * (1.0 - v * top) ** (-1.0 / alpha)
    return np.clip(x, floor, max(ceiling, floor))


def customer_base(params: Parameters, age_years: np.ndarray) -> np.ndarray:
    """Share of its eventual customer base a firm of ``age_years`` has built up: the entry level at the
    SRDI minimum age of 2, growing towards 1 at ``demand.customer_base_growth`` per quarter."""
    start = params.entry.customer_base
    quarters = np.maximum(4.0 * (age_years - 2.0), 0.0)
    return 1.0 - (1.0 - start) * (1.0 - params.demand.customer_base_growth) ** quarters


def sample_ages(rng: np.random.Generator, n: int, minimum: float, mean: float) -> np.ndarray:
    """Ages in years: ``minimum`` plus a gamma(2) draw, so young firms are common but not the mode."""
    return minimum + rng.gamma(2.0, max(mean - minimum, 0.1) / 2.0, n)


def counts(params: Parameters, scale: float) -> dict[Kind, int]:
    """Number of firms of each kind at ``scale`` (rounded)."""
    p = params.population
    return {
        Kind.SME: int(round((p.srdi_firms - p.little_giants) * scale)),
        Kind.LITTLE_GIANT: int(round(p.little_giants * scale)),
        Kind.UNICORN: int(round(p.unicorns * scale)),
    }


def build(model: EnterpriseModel) -> None:
    """Fill ``model.state`` with the starting population and open the banks' balance sheets."""
    params, rng, st = model.params, model.rng, model.state
    pop = params.population
    sectors = list(params.sectors.values())
    n_of = counts(params, model.scale)
    share_key = {Kind.SME: "share_srdi", Kind.LITTLE_GIANT: "share_little_giants", Kind.UNICORN: "share_unicorns"}

    for kind, n in n_of.items():
        if n == 0:
            continue
        rows = st.add(n)
        weights = np.array([getattr(s, share_key[kind]) for s in sectors], dtype=float)
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(sectors), 1 / len(sectors))
        st.kind[rows] = kind
        st.sector[rows] = rng.choice(len(sectors), size=n, p=weights)
        if kind == Kind.UNICORN:
            _unicorns(model, rows)
        else:
            median = pop.lg_revenue_median if kind == Kind.LITTLE_GIANT else pop.srdi_revenue_median
            annual = sample_sizes(
                rng, n, median, pop.revenue_sigma, pop.tail_share, pop.tail_alpha, pop.min_revenue, pop.max_revenue
            )
            min_age = params.certification.min_age_years if kind == Kind.LITTLE_GIANT else 2.0
            mean_age = pop.lg_age_mean if kind == Kind.LITTLE_GIANT else pop.srdi_age_mean
            st.born[rows] = -4.0 * sample_ages(rng, n, min_age, mean_age)
            _operations(model, rows, annual, kind)
            if kind == Kind.LITTLE_GIANT:
                # certified in one of the last three annual batches
                st.lg_since[rows] = -4 * rng.integers(0, 3, n) - 1
                st.specialisation[rows] = 0.7 + 0.3 * rng.beta(4, 2, n)
            else:
                st.specialisation[rows] = rng.beta(8, 2, n)
                prone = np.array([s.frontier or s.valuation_multiple >= 8 for s in sectors])
                p_venture = pop.venture_share * np.where(prone[st.sector[rows]], 2.0, 0.3)
                venture = rng.random(n) < p_venture
                st.venture[rows] = venture
                st.hype[rows] = np.where(venture, rng.normal(0.0, 0.7, n), 0.0)
                # pipeline firms start below US$1 bn: today's unicorns are drawn separately
                multiple = np.array([s.valuation_multiple for s in sectors])[st.sector[rows]]
                ceiling = np.log(0.9 * params.venture.unicorn_threshold / (multiple * annual))
                st.hype[rows] = np.minimum(st.hype[rows], ceiling)
                st.equity_raised[rows] = np.where(venture, 0.5 * annual, 0.0)
                st.recent_equity[rows] = np.where(venture, 0.25 * annual, 0.0)
        _balance_sheet(model, rows, kind)

    _assign_niches(model, np.arange(st.n))
    _assign_banks(model, np.arange(st.n))
    sector_sales = np.bincount(st.sector, weights=st.revenue, minlength=len(sectors))
    st.share = st.revenue / sector_sales[st.sector]
    model.capital_market.revalue(model, np.arange(st.n))


def _unicorns(model: EnterpriseModel, rows: np.ndarray) -> None:
    """Unicorns: Pareto valuations above US$1 bn (mean US$3.8 bn), revenue implied by sector multiples."""
    params, rng, st = model.params, model.rng, model.state
    n = rows.size
    v = params.venture.unicorn_threshold * rng.random(n) ** (-1.0 / params.population.unicorn_valuation_alpha)
    multiple = np.array([s.valuation_multiple for s in params.sectors.values()])[st.sector[rows]]
    hype = rng.normal(0.8, 0.4, n)
    annual = np.maximum(v / (multiple * np.exp(hype)), params.population.min_revenue)
    st.hype[rows] = np.log(v / (multiple * annual))
    st.venture[rows] = True
    st.born[rows] = -4.0 * np.minimum(sample_ages(rng, n, 2.0, params.population.unicorn_age_mean), 14.0)
    st.unicorn_since[rows] = -4 * rng.integers(0, 4, n) - 1
    st.specialisation[rows] = rng.beta(6, 2, n)
    st.equity_raised[rows] = 0.25 * v
    st.recent_equity[rows] = 0.08 * v
    _operations(model, rows, annual, Kind.UNICORN)


def _operations(model: EnterpriseModel, rows: np.ndarray, annual: np.ndarray, kind: Kind) -> None:
    """Revenue history, employment, capital and its vintage, productivity, R&D, patents, digital."""
    params, rng, st = model.params, model.rng, model.state
    n = rows.size
    sec = st.sector[rows]
    growth = np.array([s.demand_growth for s in params.sectors.values()])[sec]
    kappa = np.array([s.capital_intensity for s in params.sectors.values()])[sec]
    st.annual_revenue[rows] = annual
    st.customer_base[rows] = customer_base(params, -st.born[rows] / 4.0)
    st.revenue[rows] = annual / 4.0
    st.orders[rows] = annual / 4.0
    g1 = np.clip(growth + 0.05 + 0.2 * rng.standard_normal(n), -0.4, 1.5)
    g2 = np.clip(growth + 0.05 + 0.2 * rng.standard_normal(n), -0.4, 1.5)
    st.revenue_lag4[rows] = annual / (1 + g1)
    st.revenue_lag8[rows] = st.revenue_lag4[rows] / (1 + g2)
    lift = {Kind.SME: 0.0, Kind.LITTLE_GIANT: 0.05, Kind.UNICORN: 0.08}[kind]
    st.productivity[rows] = lift + 0.15 * rng.standard_normal(n)
    st.employees[rows] = annual / (params.population.labour_productivity * np.exp(st.productivity[rows]))
    headroom = 1.0 + params.investment.capacity_headroom
    st.capital[rows] = kappa * annual * headroom * np.exp(0.15 * rng.standard_normal(n))
    life = params.investment.service_life
    st.vintage[rows] = -4.0 * rng.uniform(0.0, 0.9 * life, n)
    sd = params.innovation.rd_taste_sigma
    st.rd_taste[rows] = np.exp(sd * rng.standard_normal(n) - 0.5 * sd**2)
    rd_int = model.innovation.rd_norm(model, rows)
    st.annual_rd[rows] = rd_int * annual
    st.rd[rows] = st.annual_rd[rows] / 4.0
    age = -st.born[rows] / 4.0
    expected_patents = np.minimum(age, 8.0) * st.annual_rd[rows] / params.innovation.patent_cost * 0.5
    st.patents[rows] = rng.poisson(np.maximum(expected_patents, 0.5))
    st.digital[rows] = rng.beta(2, 5, n)
    st.cash[rows] = params.population.cash_to_revenue * annual * np.exp(0.4 * rng.standard_normal(n))
    st.annual_profit[rows] = 0.06 * annual


def _balance_sheet(model: EnterpriseModel, rows: np.ndarray, kind: Kind) -> None:
    """Bank debt: most little giants borrow (PBoC 2021: > 70 %, 75 m yuan on average)."""
    params, rng, st = model.params, model.rng, model.state
    pop = params.population
    n = rows.size
    if kind == Kind.LITTLE_GIANT:
        has_loan = rng.random(n) < pop.lg_with_loans
        size = st.annual_revenue[rows] / st.annual_revenue[rows].mean()
        debt = pop.lg_loan_balance * size * np.exp(0.3 * rng.standard_normal(n) - 0.045)
    else:
        has_loan = rng.random(n) < 0.6
        debt = pop.sme_debt_to_capital * st.capital[rows] * np.exp(0.3 * rng.standard_normal(n) - 0.045)
    cap = 0.6 * (st.capital[rows] + st.cash[rows])
    st.debt[rows] = np.where(has_loan, np.minimum(debt, cap), 0.0)


def _assign_niches(model: EnterpriseModel, rows: np.ndarray) -> None:
    """National niche markets: each sector is split into niches of ``population.niche_size`` firms."""
    st = model.state
    counts_by_sector = np.bincount(st.sector[rows], minlength=len(model.sector_keys))
    n_niches = np.maximum(1, np.ceil(counts_by_sector / model.params.population.niche_size)).astype(int)
    model.niche_sector = np.repeat(np.arange(len(model.sector_keys)), n_niches)
    place_in_niches(model, rows, model.rng, counts_by_sector)


def place_in_niches(
    model: EnterpriseModel, rows: np.ndarray, rng: np.random.Generator, active_by_sector: np.ndarray | None = None
) -> None:
    """Put firms ``rows`` into random niches of their sector, opening new niches as sectors fill up
    so that niches keep about ``population.niche_size`` active firms; ``active_by_sector``: the number
    of active firms in each sector, ``rows`` included (counted here if not given)."""
    st = model.state
    n_sec = len(model.sector_keys)
    if active_by_sector is None:
        active_by_sector = np.bincount(st.sector[st.active_rows()], minlength=n_sec)
    needed = np.ceil(active_by_sector / model.params.population.niche_size).astype(int)
    have = np.bincount(model.niche_sector, minlength=n_sec)
    extra = np.maximum(needed - have, 0)
    if extra.any():
        model.niche_sector = np.concatenate([model.niche_sector, np.repeat(np.arange(n_sec), extra)])
    u = rng.random(rows.size)  # one draw per firm, however many niches there are (common random numbers)
    st.niche[rows] = _random_niches(model.niche_sector, st.sector[rows], u, n_sec)


@per_firm
def _random_niches(niche_sector: np.ndarray, sector: np.ndarray, u: np.ndarray, n_sectors: int) -> np.ndarray:
    """A niche of its own sector for each firm: of the sector's niches in index order, the one at
    position ``u`` (a uniform draw in [0, 1)) times their number."""
    niches_in = np.zeros(n_sectors, dtype=np.intp)
    for j in range(niche_sector.size):
        niches_in[niche_sector[j]] += 1
    first = np.zeros(n_sectors, dtype=np.intp)  # where each sector's niches start in ``grouped``
    for s in range(1, n_sectors):
        first[s] = first[s - 1] + niches_in[s - 1]
    grouped = np.empty(niche_sector.size, dtype=np.intp)  # niche indices, sector by sector, in index order
    placed = first.copy()
    for j in range(niche_sector.size):
        grouped[placed[niche_sector[j]]] = j
        placed[niche_sector[j]] += 1
    niche = np.empty(sector.size, dtype=np.intp)
    for i in range(sector.size):
        s = sector[i]
        niche[i] = grouped[first[s] + int(u[i] * niches_in[s])]
    return niche


def _assign_banks(model: EnterpriseModel, rows: np.ndarray) -> None:
    shares = np.asarray(model.params.credit.bank_shares, dtype=float)
    model.state.bank[rows] = draws.categories(model.rng, shares, rows.size)
