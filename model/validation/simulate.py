"""Model statistics for the calibration targets, from one simulated run.

:func:`record_run` steps an :class:`~smegrowth.EnterpriseModel` quarter by quarter and keeps an
annual firm panel: at every year-end (2024Q4, 2025Q4, ...) the active firms' row id, annual
revenue, employees, age and kind, plus each firm's calendar-year revenue (the sum of its four
quarterly revenues, as in firm accounts). :func:`model_statistics` turns that record into every
statistic named in ``targets.yaml``:

- **size tails**: Zipf (CCDF) exponents of ``annual_revenue`` and ``employees`` of the active
  firms at the end of the first simulated year (2025Q4), by the Clauset–Shalizi–Newman MLE;
- **growth**: annual log growth of calendar-year revenue of firms active in two consecutive full
  years, demeaned by year (the first growth year is 2026, since 2024's revenue is the synthetic
  starting condition, not a simulated year); Laplace against Gaussian, the Subbotin shape, the
  volatility–size slope β, and growth, its dispersion and exit by age;
- **loan coverage**: the share of active firms (and of little giants) with bank debt at the end of
  the first simulated year;
- **counts and flows** from the quarterly time series: the starting stocks (2024Q4) and the flows
  of the first ``flow_years`` simulated years (default 1: the calendar year 2025, the year the
  2024 figures of docs/FACTS.md speak for). Every flow is also reported averaged over all
  complete simulated years as ``<statistic>_all_years``, which shows drift away from the start.

Exit means insolvency only (status ``EXITED``); listing and acquisition are departures, not exits.
Counts and flows are national totals (divided by ``scale``).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from smegrowth.firm_state import Kind, Status
from smegrowth.validation.stats import (
    DEFAULT_AGE_BINS,
    TailFit,
    by_age,
    growth_rates,
    growth_shape,
    pareto_tail,
    volatility_scaling,
    young_vs_old,
)

__all__ = [
    "FLOW_STATISTICS",
    "NEW_UNICORN_FOCUS_SECTORS",
    "ReplicateResult",
    "RunRecord",
    "model_statistics",
    "record_run",
    "replicate_statistics",
    "run_replicate",
]

NEW_UNICORN_FOCUS_SECTORS: tuple[str, ...] = ("ai", "semiconductors", "nev_battery")
"""Sectors counted as "new energy, AI and semiconductors" (MIIT, Xinhua 14 Oct 2024)."""

FLOW_STATISTICS: tuple[str, ...] = (
    "little_giants_net_growth_per_year",
    "new_unicorns_per_year",
    "new_unicorns_share_ai_semis_energy",
    "unicorn_exits_per_year",
    "little_giant_ipos_per_year",
    "ipos_per_year",
    "little_giant_acquisitions_per_year",
    "loan_rate_mean",
    "approval_rate_mean",
    "exit_rate_per_year",
)
"""Statistics computed per simulated year from the time series and departures."""

PANEL_COLUMNS = ("firm_id", "year", "annual_revenue", "employees", "age_years", "kind",
                 "year_revenue", "has_loan")


@dataclass
class RunRecord:
    """What a run leaves for validation.

    Attributes:
        scale: the model's scale (counts are divided by it).
        start_year: calendar year of the first year-end snapshot (2024: the 2024Q4 start).
        panel: one row per firm active at a year-end: ``firm_id``, ``year``,
            ``annual_revenue`` (m yuan, the model's four-quarter measure), ``employees``,
            ``age_years``, ``kind`` (code), ``year_revenue`` (sum of the firm's quarterly
            revenues over that calendar year, m yuan; NaN unless active the whole year) and
            ``has_loan`` (bank debt outstanding).
        departures: one row per firm that left, with ``firm_id``, ``kind`` (code, at departure),
            ``status`` (code) and ``left`` (model quarter).
        timeseries: the model's quarterly outcomes (national scale).
        quarters: number of quarters simulated.
        entrants: one row per firm that entered during the run, with ``firm_id``, ``quarter``
            (model quarter of entry) and ``age_years`` (age at entry).
    """

    scale: float
    start_year: int
    panel: pd.DataFrame
    departures: pd.DataFrame
    timeseries: pd.DataFrame
    quarters: int
    entrants: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"firm_id": pd.Series(dtype=np.int64), "quarter": pd.Series(dtype=np.int64),
         "age_years": pd.Series(dtype=float)}))

    @property
    def complete_years(self) -> int:
        """Number of complete simulated calendar years."""
        return self.quarters // 4


def _snapshot(model: Any, year: int, year_revenue: np.ndarray,
              full_year: np.ndarray) -> pd.DataFrame:
    st = model.state
    rows = np.flatnonzero(st.active())
    ids = st.firm_id[rows]
    revenue = np.where(full_year[ids], year_revenue[ids], np.nan)
    return pd.DataFrame({
        "firm_id": ids.astype(np.int64),
        "year": np.full(rows.size, year, dtype=np.int64),
        "annual_revenue": st.annual_revenue[rows].astype(float),
        "employees": st.employees[rows].astype(float),
        "age_years": (model.quarter - st.born[rows]) / 4.0,
        "kind": st.kind[rows].astype(np.int8),
        "year_revenue": revenue,
        "has_loan": st.debt[rows] > 0,
    })


def _grow(values: np.ndarray, n: int) -> np.ndarray:
    """``values`` padded with zeros (False) to length ``n``."""
    return values if values.size >= n else np.concatenate([values, np.zeros(n - values.size, values.dtype)])


def record_run(model: Any, quarters: int) -> RunRecord:
    """Step ``model`` for ``quarters`` quarters and record the annual panel.

    The model must stand at a year-end (a fourth calendar quarter, such as the 2024Q4 start), so
    that snapshots fall on calendar years. Firms are followed by their ``firm_id`` (rows move).

    Args:
        model: a fresh or partly run :class:`~smegrowth.EnterpriseModel`.
        quarters: quarters to simulate (whole years are used for the statistics).

    Returns:
        The :class:`RunRecord`; the model is left as it is (call
        :func:`smegrowth.runner.release` when done with it).
    """
    if not isinstance(quarters, int) or quarters < 0:
        raise ValueError(f"quarters must be a non-negative integer, got {quarters!r}")
    if model.calendar_quarter != 4:
        raise ValueError(f"record_run: the model must stand at a year-end (Q4), not at "
                         f"{model.quarter_label()}")
    start_year = int(model.quarter_label()[:4])
    st = model.state
    year_revenue = np.zeros(st.next_id)  # revenue over the calendar year so far, by firm id
    full_year = np.zeros(st.next_id, dtype=bool)  # active all calendar year so far, by firm id
    snapshots = [_snapshot(model, start_year, year_revenue, full_year)]
    full_year[st.firm_id[st.active()]] = True
    entrants = []
    for q in range(1, quarters + 1):
        before = st.next_id
        model.step()
        n = st.next_id
        if n > before:
            ids = np.arange(before, n)
            rows = st.rows_of_ids(ids)
            entrants.append(pd.DataFrame({"firm_id": ids.astype(np.int64),
                                          "quarter": np.full(ids.size, model.quarter, np.int64),
                                          "age_years": (model.quarter - st.born[rows]) / 4.0}))
        year_revenue, full_year = _grow(year_revenue, n), _grow(full_year, n)
        rows = st.active_rows()
        ids = st.firm_id[rows]
        year_revenue[ids] += st.revenue[rows]
        if q % 4 == 0:
            active = np.zeros(n, dtype=bool)
            active[ids] = True
            full_year &= active
            snapshots.append(_snapshot(model, start_year + q // 4, year_revenue, full_year))
            year_revenue[:] = 0.0
            full_year[:] = active
    departed = st.departed()
    left = np.flatnonzero(st.status != Status.ACTIVE)
    departures = pd.DataFrame({
        name: np.concatenate([departed[column], getattr(st, column)[left]]).astype(dtype)
        for name, column, dtype in (("firm_id", "firm_id", np.int64), ("kind", "kind", np.int8),
                                    ("status", "status", np.int8), ("left", "left", np.int64))
    }).sort_values("firm_id", ignore_index=True)
    return RunRecord(
        scale=float(model.scale), start_year=start_year,
        panel=pd.concat(snapshots, ignore_index=True), departures=departures,
        timeseries=model.timeseries(), quarters=quarters,
        **({"entrants": pd.concat(entrants, ignore_index=True)} if entrants else {}),
    )


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _tail(values: np.ndarray) -> TailFit | None:
    values = values[np.isfinite(values) & (values > 0)]
    if values.size < 100:
        return None
    try:
        return pareto_tail(values)
    except ValueError:
        return None


def firm_growth(record: RunRecord) -> pd.DataFrame:
    """Annual log growth of calendar-year revenue, demeaned by year.

    Returns:
        One row per firm and end year with ``firm_id``, ``year``, ``size_start`` (m yuan),
        ``size_end``, ``growth`` (log points), ``growth_demeaned`` and ``age_years`` (at the
        start of the year).
    """
    panel = record.panel
    sized = panel.dropna(subset=["year_revenue"])
    g = growth_rates(sized, firm="firm_id", year="year", size="year_revenue")
    if g.empty:
        return g.assign(growth_demeaned=pd.Series(dtype=float), age_years=pd.Series(dtype=float))
    g["growth_demeaned"] = g["growth"] - g.groupby("year")["growth"].transform("mean")
    ages = panel[["firm_id", "year", "age_years"]].assign(year=panel["year"] + 1)
    return g.merge(ages, on=["firm_id", "year"], how="left")


def firm_years(record: RunRecord, growth: pd.DataFrame) -> pd.DataFrame:
    """Firm-years for growth and exit by age: the firms active at the end of year t − 1 and the
    firms that entered during t (so that every insolvency of the year is counted once).

    Returns:
        ``firm_id``, ``year`` (t), ``age_years`` (at the start of t, or at entry),
        ``exited`` (insolvency during t) and ``growth`` (demeaned log growth over t; NaN if it
        has none: in the first simulated year, for entrants, and for firms that left).
    """
    panel = record.panel
    last_year = record.start_year + record.complete_years
    start = panel.loc[panel["year"] < last_year, ["firm_id", "year", "age_years"]]
    start = start.assign(year=start["year"] + 1)
    ent = record.entrants
    ent = ent.loc[ent["quarter"] <= 4 * record.complete_years]
    entry_year = record.start_year + (ent["quarter"].to_numpy(np.int64) - 1) // 4 + 1
    ent = pd.DataFrame({"firm_id": ent["firm_id"].to_numpy(np.int64), "year": entry_year,
                        "age_years": ent["age_years"].to_numpy(float)})
    start = pd.concat([start, ent], ignore_index=True)
    dep = record.departures
    exits = dep.loc[dep["status"] == Status.EXITED, ["firm_id", "left"]]
    exits = exits.assign(year=record.start_year + (exits["left"] - 1) // 4 + 1)[["firm_id", "year"]]
    exits["exited"] = True
    out = start.merge(exits, on=["firm_id", "year"], how="left")
    out["exited"] = out["exited"].fillna(False).astype(bool)
    out = out.merge(growth[["firm_id", "year", "growth_demeaned"]], on=["firm_id", "year"],
                    how="left").rename(columns={"growth_demeaned": "growth"})
    return out


def yearly_flows(record: RunRecord) -> pd.DataFrame:
    """The flow statistics of each complete simulated year (national scale).

    Returns:
        DataFrame indexed by calendar year (2025, ...) with one column per name in
        :data:`FLOW_STATISTICS`.
    """
    ts = record.timeseries
    s = record.scale
    dep = record.departures
    years = []
    for k in range(1, record.complete_years + 1):
        first, last = 4 * (k - 1) + 1, 4 * k
        body = ts[(ts["step"] >= first) & (ts["step"] <= last)]
        start = ts.loc[ts["step"] == first - 1].iloc[0]
        end = ts.loc[ts["step"] == last].iloc[0]
        in_year = (dep["left"] >= first) & (dep["left"] <= last)
        new_u = float(body["new_unicorns"].sum())
        focus = sum(float(body[f"new_unicorns_{key}"].sum()) for key in NEW_UNICORN_FOCUS_SECTORS
                    if f"new_unicorns_{key}" in body)
        unicorn_acq = int((in_year & (dep["status"] == Status.ACQUIRED)
                           & (dep["kind"] == Kind.UNICORN)).sum()) / s
        lg_acq = int((in_year & (dep["status"] == Status.ACQUIRED)
                      & (dep["kind"] == Kind.LITTLE_GIANT)).sum()) / s
        firms_start = float(start["srdi_firms"] + start["unicorns"])
        years.append({
            "year": record.start_year + k,
            "little_giants_net_growth_per_year": float(end["little_giants"]
                                                       - start["little_giants"]),
            "new_unicorns_per_year": new_u,
            "new_unicorns_share_ai_semis_energy": focus / new_u if new_u > 0 else math.nan,
            "unicorn_exits_per_year": float(body["unicorn_ipos"].sum()) + unicorn_acq,
            "little_giant_ipos_per_year": float(body["little_giant_ipos"].sum()),
            "ipos_per_year": float(body["ipos"].sum()),
            "little_giant_acquisitions_per_year": lg_acq,
            "loan_rate_mean": float(body["loan_rate"].mean()),
            "approval_rate_mean": float(body["approval_rate"].mean()),
            "exit_rate_per_year": (float(body["exits"].sum()) / firms_start if firms_start
                                   else math.nan),
        })
    return pd.DataFrame(years, columns=["year", *FLOW_STATISTICS]).set_index("year")


@dataclass
class ReplicateResult:
    """Statistics of one run and the compact data behind the validation figures.

    Attributes:
        seed: the run's seed.
        scale: the run's scale.
        statistics: every statistic of ``targets.yaml`` plus diagnostics (name → value).
        yearly: :func:`yearly_flows`.
        by_age: :func:`smegrowth.validation.stats.by_age` on the firm-years.
        volatility: the binned σ(g | S) table of the volatility fit (may be empty).
        sizes: ``annual_revenue`` and ``employees`` of active firms at the end of the first
            simulated year.
        growth: ``size_start`` and ``growth_demeaned`` of every firm-year with a growth rate.
        timeseries: the quarterly outcomes.
        tails: the fitted tails by size measure (``revenue``, ``employment``).
    """

    seed: int | None
    scale: float
    statistics: dict[str, float]
    yearly: pd.DataFrame
    by_age: pd.DataFrame
    volatility: pd.DataFrame
    sizes: pd.DataFrame
    growth: pd.DataFrame
    timeseries: pd.DataFrame
    tails: dict[str, TailFit] = field(default_factory=dict)


def analyse(record: RunRecord, flow_years: int = 1, seed: int | None = None) -> ReplicateResult:
    """All statistics of a :class:`RunRecord`; see the module docstring.

    Args:
        record: from :func:`record_run`.
        flow_years: how many simulated years (from 2025) the flow statistics average over.
        seed: recorded in the result.
    """
    if record.complete_years < 1:
        raise ValueError("model_statistics: the run must cover at least one full year (4 quarters)")
    if flow_years < 1:
        raise ValueError(f"flow_years must be at least 1, got {flow_years}")
    out: dict[str, float] = {}
    ts = record.timeseries
    first = ts.iloc[0]
    out["srdi_firms_start"] = float(first["srdi_firms"])
    out["little_giants_start"] = float(first["little_giants"])
    out["unicorns_start"] = float(first["unicorns"])

    # Size tails at the end of the first simulated year.
    panel = record.panel
    year1 = panel[panel["year"] == record.start_year + 1]
    tails: dict[str, TailFit] = {}
    for label, column in (("revenue", "annual_revenue"), ("employment", "employees")):
        fit = _tail(year1[column].to_numpy(float))
        if fit is not None:
            tails[label] = fit
        out[f"ccdf_exponent_{label}"] = fit.ccdf_exponent if fit else math.nan
        out[f"ccdf_exponent_{label}_se"] = fit.alpha_se if fit else math.nan
        out[f"tail_xmin_{label}"] = fit.xmin if fit else math.nan
        out[f"tail_n_{label}"] = float(fit.n_tail) if fit else math.nan

    # Loan coverage (a stock): share of active firms with bank debt at each year-end.
    later = panel[panel["year"] > record.start_year]
    if "has_loan" in later:
        cover = later.groupby("year")["has_loan"].mean()
        lg = later[later["kind"] == Kind.LITTLE_GIANT].groupby("year")["has_loan"].mean()
        out["firms_with_loans_share"] = float(cover.iloc[0]) if len(cover) else math.nan
        out["firms_with_loans_share_all_years"] = float(cover.mean()) if len(cover) else math.nan
        out["little_giants_with_loans_share"] = float(lg.iloc[0]) if len(lg) else math.nan
        out["little_giants_with_loans_share_all_years"] = float(lg.mean()) if len(lg) else math.nan

    # Growth-rate distribution and volatility scaling.
    growth = firm_growth(record)
    g = growth["growth_demeaned"].to_numpy(float) if len(growth) else np.zeros(0)
    out["growth_n"] = float(np.isfinite(g).sum())
    try:
        shape = growth_shape(g)
        out.update({
            "growth_laplace_preferred": 1.0 if shape.laplace_preferred else 0.0,
            "subbotin_shape": shape.subbotin_shape,
            "growth_log_likelihood_ratio": shape.log_likelihood_ratio,
            "growth_vuong_z": shape.vuong_z,
            "growth_kurtosis": shape.kurtosis,
            "growth_sd": float(np.std(g, ddof=1)),
        })
    except ValueError:
        for name in ("growth_laplace_preferred", "subbotin_shape", "growth_log_likelihood_ratio",
                     "growth_vuong_z", "growth_kurtosis", "growth_sd"):
            out[name] = math.nan
    volatility = pd.DataFrame(columns=["mean_log_size", "sigma", "n"])
    try:
        vol = volatility_scaling(growth["size_start"], growth["growth_demeaned"])
        out["volatility_beta"] = vol.beta
        out["volatility_beta_se"] = vol.beta_se
        volatility = vol.table
    except (ValueError, KeyError):
        out["volatility_beta"] = out["volatility_beta_se"] = math.nan

    # Growth and exit by age.
    fy = firm_years(record, growth)
    out.update(young_vs_old(fy["age_years"], fy["growth"], fy["exited"]))
    age_table = by_age(fy["age_years"], fy["growth"], fy["exited"], DEFAULT_AGE_BINS)

    # Flows.
    yearly = yearly_flows(record)
    use = yearly.iloc[:flow_years]
    for name in FLOW_STATISTICS:
        out[name] = float(use[name].mean())
        out[f"{name}_all_years"] = float(yearly[name].mean())

    return ReplicateResult(
        seed=seed, scale=record.scale, statistics=out, yearly=yearly, by_age=age_table,
        volatility=volatility, sizes=year1[["annual_revenue", "employees"]].reset_index(drop=True),
        growth=growth[["size_start", "growth_demeaned"]].reset_index(drop=True),
        timeseries=ts, tails=tails,
    )


def model_statistics(source: Any, quarters: int | None = None,
                     flow_years: int = 1) -> dict[str, float]:
    """Every statistic named in ``targets.yaml`` (plus diagnostics) from one run.

    Args:
        source: a :class:`RunRecord`, a :class:`ReplicateResult`, or an
            :class:`~smegrowth.EnterpriseModel` standing at a year-end (usually fresh), which is
            then run for ``quarters`` quarters (default 16) and released.
        quarters: quarters to simulate when ``source`` is a model.
        flow_years: simulated years the flows average over (1: the calendar year 2025).

    Returns:
        Statistic name → value (NaN where a statistic cannot be estimated, e.g. too few firms).
    """
    if isinstance(source, ReplicateResult):
        return dict(source.statistics)
    if isinstance(source, RunRecord):
        return analyse(source, flow_years).statistics
    from smegrowth.runner import release

    try:
        record = record_run(source, 16 if quarters is None else quarters)
    finally:
        release(source)
    return analyse(record, flow_years).statistics


def run_replicate(
    scale: float,
    seed: int,
    quarters: int = 16,
    parameters: Mapping[str, Any] | None = None,
    flow_years: int = 1,
) -> ReplicateResult:
    """Build a baseline model, run it and return its statistics (the unit of work of a pool).

    Args:
        scale: population scale (1.0 = national).
        seed: the run's seed.
        quarters: quarters to simulate from 2024Q4.
        parameters: behavioural parameter overrides by dotted name.
        flow_years: simulated years the flow statistics average over.
    """
    from smegrowth.model import EnterpriseModel
    from smegrowth.runner import release

    model = EnterpriseModel(scale=scale, rng=int(seed), parameters=dict(parameters or {}))
    try:
        record = record_run(model, quarters)
    finally:
        release(model)
        del model
        gc.collect()
    return analyse(record, flow_years, seed=seed)


def replicate_statistics(
    scale: float,
    seed: int,
    quarters: int = 16,
    parameters: Mapping[str, Any] | None = None,
    flow_years: int = 1,
) -> dict[str, float]:
    """:func:`run_replicate` returning only the statistics (small to send between processes)."""
    return run_replicate(scale, seed, quarters, parameters, flow_years).statistics
