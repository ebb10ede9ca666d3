"""A per-agent reference implementation of the model's core rules, written the usual Mesa way.

Every firm is a :class:`mesa.Agent` with its state in plain attributes and a Python method per stage;
the model calls ``agents.shuffle_do("stage")`` and loops over agents for sector aggregates and bank
rationing. It exists for two reasons (issue 6):

* **speed**: it is what the model would cost without the columnar firm state
  (``benchmarks/run_all.py`` times it against :class:`smegrowth.EnterpriseModel` on the same
  population);
* **correctness**: written independently from the same equations, its outcomes must agree
  statistically with the vectorised model's (``tests/test_reference.py``).

It mirrors, quarter by quarter and in the same order:

* ``demand.py``: sector demand as a geometric random walk; market shares by replicator dynamics on
  relative efficiency plus product-line shocks; revenue = orders capped by capacity;
* ``production.py``: materials scaled by unit cost relative to the sector's typical producer, wages
  from labour productivity, overheads;
* ``investment.py``: Weibull renewal hazard on equipment age, expansion towards desired capital, both
  scaled by the user-cost response to the quoted loan rate; installation, vintage and depreciation;
* ``credit.py`` (simplified: no policy project loans): debt service, loan need, leverage cap, logit
  default probability and its price, each bank serving applicants by net worth to sales within its
  capital headroom, spending cut in the order expansion, renewal, digital, R&D; banks' funding cost
  and their steering of the capital ratio to its target;
* ``innovation.py``: R&D productivity draws (Beta jumps), imitation of the sector's 90th percentile,
  patents (expected number rounded at random), digital maturity;
* ``model.py``: profit and the 15 % tax;
* ``demography.py``: exit of firms with negative cash or net worth (fire sale, recovery, write-off) and entry of
  newly certified SRDI SMEs, who bring their sales into the sector's market and borrow like
  incumbents.

It leaves out the levers, venture rounds and valuations, unicorn status, the little-giant review,
IPOs and M&A. To compare like with like, run :class:`~smegrowth.EnterpriseModel` with
:data:`CORE_ONLY` (those stages switched off by parameters); at default parameters it does strictly
more work than this reference, so the speed ratio measured against it is conservative.

Randomness: scalar draws per agent from Mesa's ``model.random`` (what per-agent Mesa models use) and
the numpy ``model.rng`` for market-level shocks and Poisson counts. The stream differs from the
vectorised model's, so the two agree in distribution, not draw for draw.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import mesa
import numpy as np
import pandas as pd
from smegrowth import EnterpriseModel
from smegrowth.firm_state import Kind, Status
from smegrowth.population import customer_base
from smegrowth.runner import release

CORE_ONLY: dict[str, Any] = {
    "listing.ipo_capacity": 0.0,
    "listing.unicorn_ipo_rate": 0.0,
    "listing.ma_rate_sme": 0.0,
    "listing.ma_rate_little_giant": 0.0,
    "listing.ma_rate_unicorn": 0.0,
    "venture.round_rate": 0.0,
    "venture.hype_volatility": 0.0,
    "venture.hype_reversion": 0.0,
    "venture.hype_on_success": 0.0,
    "venture.unicorn_max_age": 1e-9,
    "certification.batch_quota": 0,
    "certification.status_years": 1000.0,
}
"""Parameter overrides that switch off the stages the reference leaves out: no IPOs, no M&A, no
venture rounds, frozen valuation premia, no new unicorns, no little-giant batches or re-reviews.
(A unicorn whose revenue falls by a fifth can still lose its status in the vectorised model; at
small scale that is a handful of firms.)"""


class ReferenceFirm(mesa.Agent):
    """A firm with its state in attributes and one method per stage of the quarter."""

    def __init__(self, model: ReferenceModel, **state: float) -> None:
        super().__init__(model)
        self.__dict__.update(state)
        self.income = 0.0
        self.efficiency = 0.0

    # --- 2. demand -------------------------------------------------------------------------------
    def compute_efficiency(self) -> None:
        """Log efficiency: productivity, embodied vintage, digital maturity."""
        m = self.model
        vintage_gap = (self.vintage - m.quarter) / 4.0 * m.p_innov.frontier_growth
        self.efficiency = (
            self.productivity + m.p_innov.embodied_share * vintage_gap + m.p_innov.digital_productivity * self.digital
        )

    def compete(self) -> None:
        """Replicator dynamics on relative efficiency, the customer base built up, and shocks to the
        firm's product lines."""
        m, p = self.model, self.model.p_demand
        base = self.customer_base
        self.customer_base = base + p.customer_base_growth * (1.0 - base)
        lines = max(1.0, self.annual_revenue / p.revenue_per_line)
        sigma = p.line_shock / math.sqrt(lines)
        growth = (
            p.replicator_speed * (self.efficiency - m.mean_efficiency[self.sector])
            + math.log(self.customer_base / base)
            + sigma * m.random.gauss(0.0, 1.0)
            - 0.5 * sigma * sigma
        )
        self.share *= math.exp(growth)

    def sell(self) -> None:
        """Normalised share of sector demand, capped by capacity."""
        m = self.model
        self.share /= m.sector_share[self.sector]
        capacity = self.capital / m.capital_intensity[self.sector] / 4.0
        self.orders = self.share * m.sector_demand[self.sector]
        self.revenue = min(self.orders, capacity)
        self.annual_revenue = self.annual_revenue * 0.75 + self.revenue

    # --- 3. production ---------------------------------------------------------------------------
    def produce(self) -> None:
        m, p = self.model, self.model.p_prod
        rev = self.revenue
        relative_cost = math.exp(
            -p.productivity_cost_elasticity * (self.efficiency - m.typical_efficiency[self.sector])
        )
        materials = p.materials_share * rev * relative_cost
        self.employees = 4.0 * rev / (m.labour_productivity * math.exp(self.efficiency))
        wages = self.employees * p.wage * m.wage_index
        overhead = p.overhead_rate * self.capital
        surplus = rev - (materials + wages + overhead)
        self.cash += surplus
        self.income = surplus

    # --- 4. plans --------------------------------------------------------------------------------
    def default_probability(self, extra_debt: float = 0.0) -> float:
        """Logit of leverage and margin (Assenza et al. 2015), annual."""
        p = self.model.p_credit
        assets = max(self.capital + max(self.cash, 0.0) + extra_debt, 1e-9)
        leverage = (self.debt + extra_debt) / assets
        margin = self.annual_profit / max(self.annual_revenue, 1e-9)
        z = p.pd_intercept + p.pd_leverage * leverage - p.pd_margin * min(max(margin, -1.0), 1.0)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def quote(self, pd: float) -> float:
        p = self.model.p_credit
        return self.model.lpr + p.spread_base + p.spread_per_pd * pd * p.loss_given_default

    def plan(self) -> None:
        """R&D, digital spending, equipment renewal and expansion for this quarter."""
        m, p, pi = self.model, self.model.p_invest, self.model.p_innov
        self.planned_rd = m.rd_norm[self.kind] * self.rd_taste * self.revenue
        self.planned_digital = pi.digital_spend_share * self.revenue * (1.0 - self.digital)
        expected = 4.0 * self.orders * m.demand_growth[self.sector]
        rate = max(self.quote(self.default_probability()), 0.005)
        response = min((p.reference_rate / rate) ** p.user_cost_elasticity, 3.0)
        age = max(m.quarter - self.vintage, 0.0) / 4.0
        life, k = p.service_life, p.renewal_shape
        hazard = 1.0 - math.exp(-(((age + 0.25) / life) ** k - (age / life) ** k))
        renew = m.random.random() < min(hazard * response, 1.0)
        self.planned_renewal = p.renewal_fraction * self.capital if renew else 0.0
        desired = m.capital_intensity[self.sector] * expected * (1.0 + p.capacity_headroom)
        self.planned_expansion = max(desired - self.capital - self.planned_renewal, 0.0) * p.expansion_speed * response

    # --- 5. finance ------------------------------------------------------------------------------
    def apply_for_credit(self) -> None:
        """Debt service due, the loan the firm needs, and whether its bank will consider it."""
        m, p = self.model, self.model.p_credit
        self.interest_due = self.debt * self.loan_rate / 4.0
        self.principal_due = self.debt / p.maturity
        investment = self.planned_renewal + self.planned_expansion
        outlays = self.interest_due + self.principal_due + self.planned_rd + self.planned_digital + investment
        need = max(outlays + p.cash_buffer * self.revenue - self.cash, 0.0)
        assets_after = self.capital + investment + max(self.cash, 0.0)
        cap_assets = min(p.max_leverage * assets_after, p.max_debt_to_sales * self.annual_revenue)
        cap = max(cap_assets - (self.debt - self.principal_due), 0.0)
        offer = min(need, cap)
        pd = self.default_probability(offer - self.principal_due)
        self.offer_rate = self.quote(pd)
        self.granted = 0.0
        bank = m.banks[self.bank]
        bank.repaid += self.principal_due
        if pd <= p.max_pd and offer > 0:
            ranking = (self.cash + self.capital - self.debt) / max(self.annual_revenue, 1e-9)
            bank.applicants.append((ranking, offer, self))

    def finance(self) -> None:
        """Take the loan granted, pay interest and principal, then spend what cash allows."""
        bank = self.model.banks[self.bank]
        if self.granted > 0:
            old_debt, old_rate = self.debt, self.loan_rate
            self.cash += self.granted
            self.debt += self.granted
            bank.loans += self.granted
            self.loan_rate = (old_debt * old_rate + self.granted * self.offer_rate) / max(self.debt, 1e-12)
        self.cash -= self.interest_due
        self.income -= self.interest_due
        bank.equity += self.interest_due
        self.cash -= self.principal_due
        self.debt -= self.principal_due
        bank.loans -= self.principal_due

        # keep back the tax on the income so far, paid at the end of the quarter
        spendable = max(self.cash - self.model.p_prod.tax_rate * max(self.income, 0.0), 0.0)
        self.rd = min(self.planned_rd, spendable)
        spendable -= self.rd
        self.digital_spend = min(self.planned_digital, spendable)
        spendable -= self.digital_spend
        self.renewal = min(self.planned_renewal, spendable)
        spendable -= self.renewal
        self.expansion = min(self.planned_expansion, spendable)
        self.cash -= self.rd + self.digital_spend
        self.income -= self.rd + self.digital_spend
        self.annual_rd = 0.75 * self.annual_rd + self.rd

    # --- 6. equipment and innovation -----------------------------------------------------------
    def install_and_innovate(self) -> None:
        m, p = self.model, self.model.p_innov
        # new equipment of this quarter's vintage, then depreciation
        spend = self.renewal + self.expansion
        self.cash -= spend
        k_new = self.capital + spend
        self.vintage = (self.capital * self.vintage + spend * m.quarter) / k_new if k_new > 0 else float(m.quarter)
        depreciation = m.p_prod.depreciation * k_new
        self.capital = k_new - depreciation
        self.investment = spend
        self.income -= depreciation
        # R&D draws a new technology; imitation closes part of the gap to the sector frontier
        opportunity = m.tech_opportunity[self.sector]
        revenue = max(self.revenue, 1e-9)
        intensity = min(self.rd / revenue, 5.0)
        gain = 0.0
        if m.random.random() < 1.0 - math.exp(-p.innovation_rate * opportunity * intensity):
            jump = p.jump_low + (p.jump_high - p.jump_low) * m.random.betavariate(p.jump_beta, p.jump_beta)
            gain = max(jump, 0.0)
        catch_up = 0.0
        if m.random.random() < 1.0 - math.exp(-p.imitation_rate * intensity):
            catch_up = p.imitation_gap_closed * max(m.frontier[self.sector] - self.productivity, 0.0)
        self.productivity += max(gain, catch_up)
        # patents: the expected number, rounded up or down at random
        self.patents += math.floor(self.rd * opportunity / p.patent_cost + m.random.random())
        uplift = p.digital_efficiency * self.digital_spend / revenue * (1.0 - self.digital)
        self.digital = min(max(self.digital * (1.0 - p.digital_decay) + uplift, 0.0), 1.0)

    # --- 7. profit and exit ----------------------------------------------------------------------
    def book_profit(self) -> None:
        tax = self.model.p_prod.tax_rate * max(self.income, 0.0)
        self.cash -= tax
        self.profit = self.income - tax
        self.annual_profit = 0.75 * self.annual_profit + self.profit

    def exit_if_insolvent(self) -> None:
        """Negative cash or negative net worth: fire sale of equipment, the bank recovers what it can
        and writes off the rest."""
        if self.cash >= -1e-9 and self.cash + self.capital - self.debt >= 0:
            return
        bank = self.model.banks[self.bank]
        self.cash += self.model.params.production.liquidation_value * self.capital
        self.capital = 0.0
        recovered = min(max(self.cash, 0.0), self.debt)
        self.cash -= recovered
        bank.loans -= recovered
        bank.loans -= self.debt - recovered
        bank.equity -= self.debt - recovered
        self.debt = 0.0
        self.model.exits += 1
        self.remove()


class ReferenceBank(mesa.Agent):
    """A bank group: loan book, equity, and the applicants it serves this quarter."""

    def __init__(self, model: ReferenceModel, loans: float, equity: float, deposits: float) -> None:
        super().__init__(model)
        self.loans, self.equity, self.deposits = loans, equity, deposits
        self.applicants: list[tuple[float, float, ReferenceFirm]] = []
        self.repaid = 0.0

    def ration(self) -> None:
        """Serve applicants by net worth to sales until capital headroom plus repayments is used."""
        car = self.model.p_credit.capital_requirement
        headroom = max(0.0, self.equity / car - self.loans) + self.repaid
        self.applicants.sort(key=lambda a: -a[0])
        for _, offer, firm in self.applicants:
            firm.granted = min(offer, headroom)
            headroom -= firm.granted
            if headroom <= 0:
                break
        self.applicants = []
        self.repaid = 0.0

    def pay_funding_cost(self) -> None:
        """Deposit funding cost, then part of the gap to the target capital ratio is closed by
        dividends or new capital."""
        p = self.model.p_credit
        deposits = max(self.loans - self.equity, 0.0)
        self.equity -= deposits * p.funding_cost / 4.0
        self.equity += p.capital_adjustment * (p.initial_capital_ratio * self.loans - self.equity)


class ReferenceModel(mesa.Model):
    """The core rules, one agent at a time, from the starting population of an ``EnterpriseModel``.

    Args:
        scale: Population scale, as in :class:`~smegrowth.EnterpriseModel`.
        rng: Seed of the starting population (and of the run).
        parameters: Dotted parameter overrides (e.g. :data:`CORE_ONLY`).
    """

    def __init__(self, scale: float = 1.0, rng: int = 0, parameters: dict[str, Any] | None = None) -> None:
        source = EnterpriseModel(scale=scale, rng=rng, parameters=parameters)
        super().__init__(rng=source.rng)  # continue the source's numpy stream
        self.scale = scale
        self.quarter = 0
        self.wage_index = 1.0
        params = source.params
        self.params = params
        self.p_demand, self.p_prod, self.p_innov = params.demand, params.production, params.innovation
        self.p_invest, self.p_credit, self.p_entry = params.investment, params.credit, params.entry
        self.labour_productivity = params.population.labour_productivity
        sectors = list(params.sectors.values())
        self.n_sectors = len(sectors)
        self.capital_intensity = [s.capital_intensity for s in sectors]
        self.tech_opportunity = [s.tech_opportunity for s in sectors]
        self.trend = np.log1p(np.array([s.demand_growth for s in sectors])) / 4.0
        self.demand_growth = [math.exp(t) for t in self.trend]
        self.volatility = np.array([s.demand_volatility for s in sectors])
        self.entry_weights = [s.share_srdi for s in sectors]
        self.rd_norm = {
            Kind.SME: self.p_innov.rd_intensity_sme,
            Kind.LITTLE_GIANT: self.p_innov.rd_intensity_little_giant,
            Kind.UNICORN: self.p_innov.rd_intensity_unicorn,
        }
        self.demand_level = source.demand.level.copy()
        acc = source.accounts
        self.banks = [
            ReferenceBank(self, float(acc.bank_loans[i]), float(acc.bank_equity[i]), float(acc.deposits[i]))
            for i in range(len(source.banks))
        ]
        st = source.state
        columns = {name: getattr(st, name).tolist() for name in st.columns()}
        for row in range(st.n):
            if columns["status"][row] != Status.ACTIVE:
                continue
            state = {name: values[row] for name, values in columns.items()}
            state["kind"] = Kind(state["kind"])
            ReferenceFirm(self, **state)
        release(source)
        self.exits = 0
        self.entries = 0
        self.records: list[dict[str, float]] = [self.collect()]

    @property
    def firms(self) -> mesa.agent.AgentSet:
        return self.agents_by_type[ReferenceFirm]

    @property
    def lpr(self) -> float:
        path = self.p_credit.lpr_path
        return path[min(self.quarter, len(path) - 1)]

    def step(self) -> None:
        self.quarter += 1
        self.wage_index *= (1.0 + self.params.production.wage_growth) ** 0.25
        self.exits = self.entries = 0
        firms = self.firms
        n = self.n_sectors
        # 2. sector demand, market shares, revenue
        shock = self.volatility * self.rng.standard_normal(n)
        self.demand_level *= np.exp(self.trend + shock - 0.5 * self.volatility**2)
        self.sector_demand = self.demand_level.tolist()
        firms.do("compute_efficiency")
        share, weighted = [0.0] * n, [0.0] * n
        for f in firms:
            share[f.sector] += f.share
            weighted[f.sector] += f.share * f.efficiency
        self.mean_efficiency = [w / max(s, 1e-300) for w, s in zip(weighted, share, strict=True)]
        firms.shuffle_do("compete")
        self.sector_share = [0.0] * n
        for f in firms:
            self.sector_share[f.sector] += f.share
        firms.shuffle_do("sell")
        # 3. production: margins against the sector's typical (unweighted mean) producer
        count, total = [0] * n, [0.0] * n
        for f in firms:
            count[f.sector] += 1
            total[f.sector] += f.efficiency
        self.typical_efficiency = [t / max(c, 1) for t, c in zip(total, count, strict=True)]
        firms.shuffle_do("produce")
        # 4-5. plans, credit, spending
        firms.shuffle_do("plan")
        firms.shuffle_do("apply_for_credit")
        for bank in self.banks:
            bank.ration()
        firms.shuffle_do("finance")
        for bank in self.banks:
            bank.pay_funding_cost()
        # 6. equipment and innovation; the frontier is each sector's 90th percentile of productivity,
        # from a normal fitted to its firms
        count, total, squares = [0] * n, [0.0] * n, [0.0] * n
        for f in firms:
            count[f.sector] += 1
            total[f.sector] += f.productivity
            squares[f.sector] += f.productivity * f.productivity
        self.frontier = []
        for c, t, q in zip(count, total, squares, strict=True):
            mean = t / max(c, 1)
            self.frontier.append(mean + 1.2816 * math.sqrt(max(q / max(c, 1) - mean * mean, 0.0)))
        firms.shuffle_do("install_and_innovate")
        # 7. profit, tax, insolvency
        firms.shuffle_do("book_profit")
        firms.shuffle_do("exit_if_insolvent")
        # 8. entry
        self.enter()
        self.records.append(self.collect())

    def enter(self) -> None:
        """New SRDI SMEs, one agent at a time, drawn as in ``demography.Demography.enter``."""
        e, pop, rnd = self.p_entry, self.params.population, self.random
        count = int(self.rng.poisson(e.annual_entrants / 4.0 * self.scale))
        if count == 0:
            return
        n = self.n_sectors
        firms_in, prod_in = [0] * n, [0.0] * n
        for f in self.firms:
            firms_in[f.sector] += 1
            prod_in[f.sector] += f.productivity
        # entrants bring their sales into the population's market: each takes the share of it that
        # keeps its orders at the next renormalisation
        market = self.demand_level.copy()
        tail = pop.tail_share / 2
        cut = e.revenue_median * math.exp(pop.revenue_sigma * NormalDist().inv_cdf(1 - tail))
        top = 1.0 - (cut / max(pop.max_revenue, cut)) ** pop.tail_alpha
        headroom = 1.0 + self.p_invest.capacity_headroom
        sd = self.p_innov.rd_taste_sigma
        bank_shares = self.p_credit.bank_shares
        for _ in range(count):
            sector = rnd.choices(range(n), weights=self.entry_weights)[0]
            u = rnd.random()
            if u > 1.0 - tail:
                annual = cut * (1.0 - (u - 1.0 + tail) / tail * top) ** (-1.0 / pop.tail_alpha)
            else:
                annual = e.revenue_median * math.exp(pop.revenue_sigma * NormalDist().inv_cdf(max(u, 1e-12)))
            annual = min(max(annual, pop.min_revenue), max(pop.max_revenue, pop.min_revenue))
            rd_taste = math.exp(sd * rnd.gauss(0.0, 1.0) - 0.5 * sd * sd)
            self.demand_level[sector] += annual / 4.0
            born = self.quarter - 4.0 * (e.age_min + rnd.gammavariate(2.0, max(e.age_mean - e.age_min, 0.1) / 2.0))
            firm = ReferenceFirm(
                self,
                kind=Kind.SME,
                sector=sector,
                bank=rnd.choices(range(len(bank_shares)), weights=bank_shares)[0],
                born=born,
                customer_base=float(customer_base(self.params, np.array([(self.quarter - born) / 4.0]))[0]),
                share=annual / 4.0 / max(market[sector], 1e-12),
                orders=annual / 4.0,
                revenue=0.0,
                annual_revenue=annual,
                profit=0.0,
                annual_profit=0.0,
                employees=annual / pop.labour_productivity,
                capital=self.capital_intensity[sector] * annual * headroom * math.exp(0.15 * rnd.gauss(0.0, 1.0)),
                cash=pop.cash_to_revenue * annual * math.exp(0.4 * rnd.gauss(0.0, 1.0)),
                vintage=self.quarter - 4.0 * rnd.uniform(0.0, 3.0),
                productivity=prod_in[sector] / max(firms_in[sector], 1)
                - e.productivity_gap
                + e.productivity_sd * rnd.gauss(0.0, 1.0),
                rd=0.0,
                annual_rd=self.p_innov.rd_intensity_sme * rd_taste * annual,
                rd_taste=rd_taste,
                patents=int(self.rng.poisson(1.0)),
                digital=rnd.betavariate(2, 5),
                investment=0.0,
                debt=0.0,
                loan_rate=0.0,
            )
            if rnd.random() < e.with_loans:  # its bank funds part of its equipment
                firm.debt = pop.sme_debt_to_capital * firm.capital
                self.banks[firm.bank].loans += firm.debt
                firm.loan_rate = firm.quote(firm.default_probability())
        self.entries = count

    def collect(self) -> dict[str, float]:
        """National-scale outcomes named as in :mod:`smegrowth.outcomes`."""
        s = self.scale
        revenue = productivity = employment = 0.0
        active = 0
        for f in self.firms:
            active += 1
            revenue += f.revenue
            productivity += f.productivity * f.revenue
            employment += f.employees
        return {
            "step": self.quarter,
            "firms": active / s,
            "revenue": revenue / s,
            "productivity": productivity / revenue if revenue > 0 else 0.0,
            "employment": employment / s,
            "exits": self.exits / s,
            "entries": self.entries / s,
        }

    def run(self, quarters: int) -> pd.DataFrame:
        for _ in range(quarters):
            self.step()
        return pd.DataFrame.from_records(self.records)


def key_outcomes(frame: pd.DataFrame, scale: float) -> dict[str, float]:
    """Revenue growth over the run, insolvency exits per quarter (model firms, not national) and the
    change of revenue-weighted mean log productivity, from a time series of either model."""
    return {
        "revenue_growth": float(frame["revenue"].iloc[-1] / frame["revenue"].iloc[0] - 1.0),
        "exits_per_quarter": float(frame["exits"].iloc[1:].mean() * scale),
        "productivity_growth": float(frame["productivity"].iloc[-1] - frame["productivity"].iloc[0]),
    }


def agreement(
    scale: float = 0.01,
    quarters: int = 12,
    seeds: range | list[int] = range(8),
    parameters: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Key outcomes of the reference and of ``EnterpriseModel`` (both with :data:`CORE_ONLY`) over
    ``seeds``: per outcome, each model's mean and standard deviation across seeds, the difference of
    means in combined standard errors (``z``) and the two-sample Kolmogorov-Smirnov p-value."""
    from scipy.stats import ks_2samp

    params = {**CORE_ONLY, **(parameters or {})}
    ref, vec = [], []
    for seed in seeds:
        ref.append(key_outcomes(ReferenceModel(scale, seed, params).run(quarters), scale))
        model = EnterpriseModel(scale=scale, rng=seed, parameters=params)
        vec.append(key_outcomes(model.run(quarters), scale))
        release(model)
    ref_frame, vec_frame = pd.DataFrame(ref), pd.DataFrame(vec)
    n = len(ref_frame)
    rows = []
    for name in ref_frame.columns:
        a, b = ref_frame[name].to_numpy(), vec_frame[name].to_numpy()
        se = math.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
        rows.append(
            {
                "outcome": name,
                "reference_mean": a.mean(),
                "reference_sd": a.std(ddof=1),
                "vectorised_mean": b.mean(),
                "vectorised_sd": b.std(ddof=1),
                "z": (a.mean() - b.mean()) / se if se > 0 else 0.0,
                "ks_p": float(ks_2samp(a, b).pvalue),
            }
        )
    return pd.DataFrame(rows).set_index("outcome")
