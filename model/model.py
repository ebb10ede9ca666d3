"""The enterprise-growth model: China's SRDI SMEs, little giants and unicorns, one quarter at a time.

The model orchestrates; agents and markets own behaviour. Each quarter runs nine stages:

1. the government's levers act (schedules, budgets, incentives);
2. sector demand, trade-in subsidies included; market shares by competitiveness;
3. production, costs and operating surplus;
4. firms plan R&D, digital transformation and investment (through their kinds' hooks);
5. finance: debt service, bank loans (priced and rationed), venture rounds, then spending;
6. innovation: productivity draws, imitation, patents, digital maturity, equipment installed;
7. valuation and status: taxes, unicorn status, little-giant review, IPOs, M&A, insolvency;
8. entry of newly certified SRDI SMEs;
9. outcomes collected (after the stock-flow identities are checked, if asked).

Time starts in 2024Q4 (quarter 0, the starting population); money is in million yuan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import draws, memory, outcomes, population
from .accounts import EQUITY, Accounts
from .capital_market import CapitalMarket
from .certification import Certification
from .compiled import maximum, per_firm
from .credit import Bank, CreditMarket, Financing
from .demand import DemandMarket
from .demography import Demography
from .firm_state import FirmState, Kind, Status
from .firms import SME, Firm, LittleGiant, Unicorn, built_in, call_hook
from .government import Government
from .innovation import Innovation
from .investment import InvestmentPlanner
from .levers.base import Lever, make_lever
from .parameters import Parameters
from .production import Production

START_YEAR = 2024
START_QUARTER = 4

KIND_NAMES = {"SME": Kind.SME, "LittleGiant": Kind.LITTLE_GIANT, "Unicorn": Kind.UNICORN}


class EnterpriseModel(mesa.Model):
    """Agent-based model of innovative SMEs, little giants and unicorns under policy levers.

    Args:
        scale: Share of the national population simulated (1.0 = ~141,000 firms). Outcomes are
            reported at national scale.
        rng: Seed (or numpy Generator) for all randomness; the same seed gives the same results.
        parameters: A :class:`Parameters`, or a mapping of dotted overrides such as
            ``{"credit.capital_requirement": 0.12}``.
        levers: Lever instances, or a mapping ``{name: settings}`` of registered levers.
        kinds: Replacement agent classes by kind name (``"SME"``, ``"LittleGiant"``, ``"Unicorn"``).
        check_accounts: Verify the stock-flow identities every quarter and raise on a breach.
    """

    def __init__(
        self,
        scale: float = 1.0,
        rng: int | np.random.Generator | None = None,
        parameters: Parameters | Mapping[str, Any] | None = None,
        levers: Iterable[Lever] | Mapping[str, Mapping[str, Any] | None] | None = None,
        kinds: Mapping[str, type[Firm]] | None = None,
        check_accounts: bool = False,
    ) -> None:
        super().__init__(rng=rng)
        memory.reuse_freed_memory()
        self.seed_material = int(rng) if isinstance(rng, int | np.integer) else int(self.rng.integers(2**63))
        """Integer seed from which levers derive their own random streams."""
        if not (isinstance(scale, int | float) and np.isfinite(scale) and 0 < scale <= 10):
            raise ValueError(f"scale must be a number in (0, 10], got {scale!r}")
        self.scale = float(scale)
        if parameters is None:
            parameters = Parameters()
        elif not isinstance(parameters, Parameters):
            parameters = Parameters().override(dict(parameters))
        self.params: Parameters = parameters
        self.kind_classes: dict[Kind, type[Firm]] = {
            Kind.SME: SME,
            Kind.LITTLE_GIANT: LittleGiant,
            Kind.UNICORN: Unicorn,
        }
        for name, cls in (kinds or {}).items():
            if name not in KIND_NAMES:
                raise ValueError(f"unknown firm kind '{name}' (known: {', '.join(KIND_NAMES)})")
            base = self.kind_classes[KIND_NAMES[name]]
            if not (isinstance(cls, type) and issubclass(cls, base)):
                raise TypeError(f"kinds['{name}'] must be a subclass of {base.__name__}")
            self.kind_classes[KIND_NAMES[name]] = cls
        if isinstance(levers, Mapping):
            levers = [make_lever(name, settings or {}) for name, settings in levers.items()]
        self.levers: list[Lever] = list(levers or [])
        for lever in self.levers:
            lever.check(self.params)
        self.check_accounts = check_accounts

        self.quarter = 0
        self.sector_keys = list(self.params.sectors)
        sectors = list(self.params.sectors.values())
        self.tech_opportunity = np.array([s.tech_opportunity for s in sectors])
        self.valuation_multiple = np.array([s.valuation_multiple for s in sectors])
        self.wage_index = 1.0

        expected = sum(population.counts(self.params, self.scale).values())
        # room for a decade of entrants without regrowing: the active population about doubles in ten
        # years at the baseline entry and exit rates (141,000 to 304,000 at national scale)
        self.state = FirmState(int(2.5 * expected) + 64)
        self.accounts = Accounts(self, len(self.params.credit.bank_names))
        self.banks = [Bank(self, i, name) for i, name in enumerate(self.params.credit.bank_names)]
        self.government = Government(self, self.levers)
        self.capital_market = CapitalMarket(self)
        self.demand = DemandMarket(self)
        self.production = Production()
        self.investment = InvestmentPlanner()
        self.innovation = Innovation()
        self.credit = CreditMarket()
        self.certification = Certification()
        self.demography = Demography()
        self.last_financing: Financing | None = None
        self.indebted_at_start = 0

        population.build(self)
        self._handles: dict[int, Firm] = {}
        self._has_handle = np.zeros(self.state.next_id, dtype=bool)
        """Whether each firm id has its handle made."""
        st = self.state
        st.loan_rate = self.credit.quote(self, np.arange(st.n))
        self.accounts.open_banks(
            np.bincount(st.bank, weights=st.debt, minlength=len(self.banks)), self.params.credit.initial_capital_ratio
        )
        self.accounts.balance["economy"] = -float(st.cash.sum())
        self.demand.open(self)
        self.government.incentives.reset(st.n)
        self._records: list[dict[str, Any]] = [outcomes.collect(self)]

    # --- calendar ---------------------------------------------------------------------------------
    @property
    def calendar_quarter(self) -> int:
        """Calendar quarter (1-4) of the current model quarter."""
        return (START_QUARTER - 1 + self.quarter) % 4 + 1

    def quarter_label(self, quarter: int | None = None) -> str:
        """Label like ``2025Q1`` for model quarter ``quarter`` (default: the current one)."""
        q = self.quarter if quarter is None else quarter
        index = START_YEAR * 4 + START_QUARTER - 1 + q
        return f"{index // 4}Q{index % 4 + 1}"

    @property
    def incentives(self):
        return self.government.incentives

    # --- firms as Mesa agents -------------------------------------------------------------------------
    # Every active firm is a Mesa agent, a light handle on its row. Handles are made when they are
    # first looked at — through ``model.agents``, ``model.agents_by_type``, ``firms_at`` or a per-agent
    # hook — so a run that never looks at individual firms does not pay for creating and removing
    # hundreds of thousands of Python objects, and one that does sees every active firm.
    @property
    def agents(self):  # type: ignore[override]
        """All agents (firms, banks, government, capital market), every active firm included."""
        self._materialise(self._rows_without_handles())
        return super().agents

    @property
    def agents_by_type(self):  # type: ignore[override]
        """Agents by class, every active firm included."""
        self._materialise(self._rows_without_handles())
        return super().agents_by_type

    def _rows_without_handles(self) -> np.ndarray:
        """Active firms whose handle has not been made yet."""
        self._ensure_capacity()
        return np.flatnonzero(self.state.active() & ~self._has_handle[self.state.firm_id])

    def _materialise(self, rows: np.ndarray) -> None:
        """Create the handles of ``rows`` (active, without one), of the class configured for their kind."""
        if rows.size == 0:
            return
        self._ensure_capacity()
        st = self.state
        kinds = st.kind[rows]
        for kind in np.unique(kinds):
            cls = self.kind_classes[Kind(int(kind))]
            for r in rows[kinds == kind].tolist():
                handle = cls(self, r)
                self._handles[handle.firm_id] = handle
        self._has_handle[st.firm_id[rows]] = True

    def firms_at(self, rows: np.ndarray) -> list[Firm]:
        """The agent handles of active firms ``rows``."""
        self._ensure_capacity()
        ids = self.state.firm_id[rows]
        self._materialise(rows[~self._has_handle[ids]])
        return [self._handles[i] for i in ids.tolist()]

    def _ensure_capacity(self) -> None:
        """Grow the made-handle flags (one per firm id) to cover firms added by entry."""
        if self._has_handle.size < self.state.next_id:
            grown = np.zeros(max(self.state.next_id, 2 * self._has_handle.size), dtype=bool)
            grown[: self._has_handle.size] = self._has_handle
            self._has_handle = grown

    def _drop_handles(self, rows: np.ndarray) -> None:
        """Remove the handles of ``rows`` from the model (those that were made)."""
        self._ensure_capacity()
        ids = self.state.firm_id[rows]
        made = ids[self._has_handle[ids]]
        for i in made.tolist():
            self._handles.pop(i).remove()
        self._has_handle[made] = False

    def firm_rows(self, kinds: Iterable[str] = ("SME", "LittleGiant", "Unicorn")) -> np.ndarray:
        """Rows of active firms of the named kinds."""
        codes = [KIND_NAMES[k] for k in kinds]
        return np.flatnonzero(self.state.active() & np.isin(self.state.kind, codes))

    def change_kind(self, rows: np.ndarray, kind: Kind) -> None:
        """Promote or demote firms: their row keeps its state, their handle becomes the new kind."""
        if rows.size == 0:
            return
        self._ensure_capacity()
        had = rows[self._has_handle[self.state.firm_id[rows]]]
        self._drop_handles(had)
        self.state.kind[rows] = kind
        self._materialise(had)

    def release(self) -> None:
        """Free the model's agents (Mesa 3.3 keeps finished models alive otherwise, mesa#3179)."""
        self.remove_all_agents()
        self._handles.clear()
        self._has_handle[:] = False
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)

    def leave(self, rows: np.ndarray, status: Status) -> None:
        """Firms leave the growth population (listed, acquired or exited); their rows stay counted.

        A listed or acquired firm's debt is repaid (owners inject equity if its cash falls short).
        """
        if rows.size == 0:
            return
        st = self.state
        if status != Status.EXITED:
            self.demand.remove_firms(self, rows)
            shortfall = np.maximum(st.debt[rows] - np.maximum(st.cash[rows], 0.0), 0.0)
            shortfall += np.maximum(-st.cash[rows], 0.0)
            if shortfall.any():
                self.accounts.firms_receive(rows, shortfall, "investors", "owners settle debts", EQUITY)
            self.accounts.repay(rows, st.debt[rows].copy(), "repaid on exit")
        st.set_status(rows, status)
        st.left[rows] = self.quarter
        self._drop_handles(rows)

    # --- random streams ------------------------------------------------------------------------------
    # The starting population is drawn from ``model.rng``. Each quarter, every purpose (demand shocks,
    # renewal, R&D draws, rounds, IPO queue, entry...) has its own stream derived from the run's seed,
    # the quarter and the purpose, so what one stage draws never shifts another. Per-firm draws depend on
    # the firm's id as well and on nothing else (:mod:`smegrowth.draws`), so two runs with the same seed
    # (baseline and a lever) face the same shocks firm by firm: common random numbers.
    def stream(self, purpose: str) -> np.random.Generator:
        """The random stream for ``purpose`` in the current quarter (draws that are not per firm)."""
        return draws.stream(self.seed_material, self.quarter, purpose)

    def uniform(self, rows: np.ndarray, purpose: str) -> np.ndarray:
        """Uniform [0, 1) draws of firms ``rows`` for ``purpose`` this quarter, single precision."""
        st = self.state
        return draws.uniforms(self.draw_key(purpose), st.firm_id[st.index(rows)])

    def draw_key(self, purpose: str) -> np.uint64:
        """The key of this quarter's per-firm draws for ``purpose``: a compiled loop that draws firm by
        firm gets the draws :meth:`uniform` gives from ``draws.uniform_of(key, firm_id)``."""
        return draws.key(self.seed_material, self.quarter, purpose)

    def normal(self, rows: np.ndarray, purpose: str) -> np.ndarray:
        """Standard normal draws of firms ``rows`` for ``purpose`` this quarter, single precision."""
        st = self.state
        return draws.normals(self.draw_key(purpose), st.firm_id[st.index(rows)])

    def stochastic_round(self, x: float, purpose: str) -> int:
        """Round ``x`` up with probability equal to its fractional part (unbiased at small scale)."""
        base = int(np.floor(x))
        return base + int(self.stream(purpose).random() < x - base)

    # --- the quarter ------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one quarter through the nine stages."""
        self.quarter += 1
        self.wage_index *= (1.0 + self.params.production.wage_growth) ** 0.25
        st, acc = self.state, self.accounts
        st.compact()  # a no-op after a quarter (which ends compacted), unless firms left in between
        acc.begin_quarter()
        self.indebted_at_start = int(np.count_nonzero(st.debt > 0))  # departed firms owe nothing

        # 1. levers
        self.government.act()
        # 2. demand and market shares; 3. production (both priced by the firms' efficiency, which
        # neither stage changes)
        rows = st.active_rows()
        efficiency = self.production.efficiency(self, rows)
        self.demand.step(self, efficiency)
        self.production.step(self, efficiency)
        # 4. plans, through the kinds' hooks
        ix = st.index(rows)
        with self.credit.standing_quotes(self, rows):
            rd_intensity = self._plan(rows, "plan_rd")
            digital = self._plan(rows, "plan_digital")
            renewal, expansion = self._plan(rows, "plan_investment")
        rd = rd_intensity * st.revenue[ix] + self.incentives.rd_grant[ix]
        renewal = renewal + self.incentives.signed_projects[ix]
        # 5. finance
        self.capital_market.venture_rounds(self, rows)
        fin = self.credit.finance(self, rows, rd, digital, renewal, expansion)
        self.last_financing = fin
        st.rd[ix] = fin.rd
        st.annual_rd[ix] = 0.75 * st.annual_rd[ix] + fin.rd
        self.government.settle()
        self.credit.bank_costs(self)
        # 6. innovation and new equipment
        self.investment.install(self, rows, fin.renewal, fin.expansion)
        self.innovation.step(self, rows, fin.digital)
        # 7. profit and tax, valuation and status
        self._book_profit(rows)
        self.capital_market.update_premia(self, rows)
        self.certification.update_unicorns(self)
        self.certification.review_little_giants(self)
        self.capital_market.ipos(self)
        self.capital_market.acquisitions(self)
        self.demography.insolvencies(self)
        if self.calendar_quarter == 4:
            active = st.active()
            st.revenue_lag8[active] = st.revenue_lag4[active]
            st.revenue_lag4[active] = st.annual_revenue[active]
        # 8. entry
        self.demography.enter(self)
        # 9. outcomes
        if self.check_accounts:
            acc.check()
        # 9. outcomes, once the firms that left are archived (so the active firms are one block again)
        self._records.append(outcomes.collect(self, departed=st.compact()))

    def _plan(self, rows: np.ndarray, hook: str) -> Any:
        """Stage 4: the plan ``hook`` of every firm in ``rows`` (an array, or a pair for investment).

        One vectorised call for all firms when every kind uses the built-in hook; otherwise one call per
        kind, so that a kind's override (vectorised, or per agent and firm by firm) decides for its firms.
        """
        if all(built_in(cls, hook) for cls in self.kind_classes.values()):
            return call_hook(Firm, hook, self, rows)
        parts = 2 if hook == "plan_investment" else 1
        out = np.zeros((parts, rows.size))
        kinds = self.state.kind[rows]
        for kind, cls in self.kind_classes.items():
            sel = np.flatnonzero(kinds == kind)
            if sel.size:
                out[:, sel] = call_hook(cls, hook, self, rows[sel])
        return (out[0], out[1]) if parts == 2 else out[0]

    def _book_profit(self, rows: np.ndarray) -> None:
        """Profit is this quarter's income (net-worth change other than equity); 15 % tax on profits."""
        st = self.state
        ix = st.index(rows)
        with st.editing(ix, "profit", "annual_profit") as profits:
            tax = _after_tax(self.accounts.income_of(rows), self.params.production.tax_rate, *profits)
        self.accounts.firms_pay(rows, tax, "government", "corporate income tax")

    def run(self, quarters: int = 24) -> pd.DataFrame:
        """Run ``quarters`` more quarters and return the whole time series."""
        if not isinstance(quarters, int) or quarters < 0:
            raise ValueError(f"quarters must be a non-negative integer, got {quarters!r}")
        for _ in range(quarters):
            self.step()
        return self.timeseries()

    # --- results ----------------------------------------------------------------------------------
    def timeseries(self) -> pd.DataFrame:
        """One row per quarter from 2024Q4, national-scale outcomes (see :mod:`smegrowth.outcomes`)."""
        return outcomes.to_frame(self._records)

    def summary(self) -> dict[str, float]:
        """Final outcomes of the run: end-of-run stocks and flows cumulated over all quarters."""
        return outcomes.summarise(self.timeseries())

    def firm_table(self) -> pd.DataFrame:
        """A snapshot of every firm ever simulated (active and departed), in order of ``firm_id``, with
        kind, status and sector names."""
        st = self.state
        departed = st.departed()
        data = {name: np.concatenate([departed[name], getattr(st, name)]) for name in st.columns()}
        order = np.argsort(data["firm_id"], kind="stable")
        frame = pd.DataFrame({name: column[order] for name, column in data.items()})
        frame["kind"] = pd.Categorical.from_codes(frame["kind"], [k.name.lower() for k in Kind])
        frame["status"] = pd.Categorical.from_codes(frame["status"], [s.name.lower() for s in Status])
        frame["sector"] = pd.Categorical.from_codes(frame["sector"], self.sector_keys)
        frame["age_years"] = (self.quarter - frame["born"]) / 4.0
        return frame


@per_firm
def _after_tax(income: np.ndarray, tax_rate: float, profit: np.ndarray, annual_profit: np.ndarray) -> np.ndarray:
    """Each firm's corporate income tax (``tax_rate`` on positive ``income``), m yuan; sets its profit
    after tax and updates its smoothed annual profit (4x the quarterly profit in a steady state)."""
    tax = np.empty(income.size)
    for i in range(income.size):
        tax[i] = tax_rate * maximum(income[i], 0.0)
        profit[i] = income[i] - tax[i]
        annual_profit[i] = 0.75 * annual_profit[i] + profit[i]
    return tax
