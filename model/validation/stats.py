"""Estimators for the stylised facts of firm dynamics (docs/FACTS.md §8).

Each function takes plain numpy arrays or pandas objects, so it works on model output and on real
data alike:

- :func:`pareto_tail`: power-law upper tail of the size distribution by maximum likelihood with the
  lower cut-off chosen by the Kolmogorov–Smirnov distance (Clauset, Shalizi & Newman 2009);
- :func:`growth_rates`: annual log growth rates from a firm–year panel;
- :func:`growth_shape`: Laplace ("tent") versus Gaussian growth rates, and the Subbotin shape
  (Stanley et al. 1996; Bottazzi & Secchi 2003, 2006);
- :func:`volatility_scaling`: the fall of growth volatility with size, σ(g | S) ∝ S^−β
  (Amaral et al. 1997);
- :func:`by_age` and :func:`young_vs_old`: growth, its dispersion and exit by age (Evans 1987;
  Haltiwanger, Jarmin & Miranda 2013).

Only numpy, scipy and pandas are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "GrowthShape",
    "TailFit",
    "VolatilityFit",
    "by_age",
    "growth_rates",
    "growth_shape",
    "pareto_tail",
    "volatility_scaling",
    "young_vs_old",
]

DEFAULT_AGE_BINS: tuple[float, ...] = (0.0, 3.0, 5.0, 7.0, 10.0, 15.0, np.inf)
"""Age-class edges in years, left-closed: 0–3, 3–5, 5–7, 7–10, 10–15, 15+."""


def _positive_finite(x: np.ndarray | pd.Series | Sequence[float], what: str) -> np.ndarray:
    """Return ``x`` as a float array with non-finite and non-positive values dropped."""
    arr = np.asarray(x, dtype=float).ravel()
    arr = arr[np.isfinite(arr) & (arr > 0)]
    if arr.size == 0:
        raise ValueError(f"{what}: no positive finite values")
    return arr


# --------------------------------------------------------------------------------------------
# Pareto tail
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TailFit:
    """A continuous power law fitted to the upper tail ``x >= xmin``.

    Two conventions for "the" exponent are in use, and they differ by one:

    - ``pdf_exponent`` (α): the density is p(x) ∝ x^−α, as in Clauset, Shalizi & Newman (2009);
    - ``ccdf_exponent`` (α − 1): the survival function is P(X > x) ∝ x^−(α−1). This is the Zipf /
      Pareto exponent that Axtell (2001) reports as ≈ 1.06 for US firms by employees and that the
      calibration targets use.

    Attributes:
        pdf_exponent: α, the exponent of the density (dimensionless, > 1).
        ccdf_exponent: α − 1, the exponent of the complementary CDF (dimensionless, > 0).
        alpha_se: asymptotic standard error (α − 1)/√n_tail; the same for both exponents.
        xmin: lower cut-off of the tail, in the units of ``x``.
        n_tail: number of observations with ``x >= xmin``.
        n: number of positive finite observations used.
        ks_distance: Kolmogorov–Smirnov distance between the tail data and the fitted law.
    """

    pdf_exponent: float
    ccdf_exponent: float
    alpha_se: float
    xmin: float
    n_tail: int
    n: int
    ks_distance: float

    @property
    def alpha(self) -> float:
        """α, the density exponent (alias of ``pdf_exponent``)."""
        return self.pdf_exponent


def _tail_fit(alpha: float, xmin: float, n_tail: int, n: int, ks: float) -> TailFit:
    """Assemble a :class:`TailFit` from the density exponent α."""
    alpha = float(alpha)
    return TailFit(alpha, alpha - 1.0, float((alpha - 1.0) / np.sqrt(n_tail)), xmin, n_tail, n, ks)


def _tail_mle(suffix_log: np.ndarray, log_sorted: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Density exponents α for tails starting at sorted positions ``idx`` (vectorised MLE)."""
    n = log_sorted.size
    n_tail = n - idx
    denom = suffix_log[idx] - n_tail * log_sorted[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 1.0 + n_tail / denom, np.nan)


def _ks_distance(log_tail: np.ndarray, alpha: float, log_xmin: float) -> float:
    """KS distance between sorted tail data (as logs) and a power law with exponent α from xmin."""
    m = log_tail.size
    model_cdf = -np.expm1((1.0 - alpha) * (log_tail - log_xmin))
    upper = np.arange(1, m + 1) / m
    return float(max(np.max(upper - model_cdf), np.max(model_cdf - (upper - 1.0 / m))))


def pareto_tail(
    x: np.ndarray | pd.Series | Sequence[float],
    xmin: float | None = None,
    *,
    max_candidates: int = 200,
    min_tail: int = 50,
) -> TailFit:
    """Fit a continuous power law to the upper tail of ``x`` by maximum likelihood.

    The estimator is Clauset, Shalizi & Newman (2009, eq. 3.1): α̂ = 1 + n / Σ ln(x_i / x_min) over
    the n observations at or above x_min, with standard error (α̂ − 1)/√n. When ``xmin`` is not
    given it is chosen, as they recommend, to minimise the Kolmogorov–Smirnov distance between the
    tail data and the fitted law. The candidates are observed values at up to ``max_candidates``
    positions (half evenly spaced in rank, half evenly spaced in log value), each leaving at least
    ``min_tail`` observations in the tail; this keeps the search well under a second for 150,000
    firms while resolving x_min finely enough for the exponent.

    Integer-valued sizes (employees) are treated as continuous, which is accurate when x_min is
    more than a few units.

    Args:
        x: firm sizes (revenue in m yuan, employees, ...); non-positive and non-finite values are
            dropped.
        xmin: lower cut-off, in the units of ``x``; chosen by KS minimisation if ``None``.
        max_candidates: cap on the number of candidate cut-offs searched.
        min_tail: smallest tail size considered when searching for ``xmin``.

    Returns:
        The fit; see :class:`TailFit` for which exponent is which.
    """
    data = _positive_finite(x, "pareto_tail")
    xs = np.sort(data)
    n = xs.size
    log_xs = np.log(xs)
    suffix_log = np.concatenate([np.cumsum(log_xs[::-1])[::-1], [0.0]])

    if xmin is not None:
        if not xmin > 0:
            raise ValueError(f"pareto_tail: xmin must be positive, got {xmin}")
        start = int(np.searchsorted(xs, xmin, side="left"))
        if n - start < 2:
            raise ValueError(f"pareto_tail: fewer than 2 observations at or above xmin={xmin}")
        # The MLE is anchored at the given xmin, not at the first observation above it.
        n_tail = n - start
        alpha = 1.0 + n_tail / (suffix_log[start] - n_tail * np.log(xmin))
        ks = _ks_distance(log_xs[start:], alpha, np.log(xmin))
        return _tail_fit(alpha, float(xmin), n_tail, n, ks)

    last = n - max(min_tail, 2)
    if last < 0:
        raise ValueError(f"pareto_tail: need more than {max(min_tail, 2)} positive observations, "
                         f"got {n}")
    half = max(max_candidates // 2, 1)
    by_rank = np.linspace(0, last, half).astype(int)
    by_value = np.searchsorted(xs, np.exp(np.linspace(log_xs[0], log_xs[last], half)), "left")
    candidates = np.unique(np.concatenate([by_rank, np.minimum(by_value, last)]))
    # For tied values use the first occurrence, so the tail holds every observation >= xmin.
    candidates = np.unique(np.searchsorted(xs, xs[candidates], side="left"))

    alphas = _tail_mle(suffix_log, log_xs, candidates)
    ks_values = np.full(candidates.size, np.inf)
    for k, (start, alpha) in enumerate(zip(candidates, alphas, strict=True)):
        if np.isfinite(alpha):
            ks_values[k] = _ks_distance(log_xs[start:], alpha, log_xs[start])
    if not np.isfinite(ks_values).any():
        raise ValueError("pareto_tail: no candidate xmin gives a valid fit (all values equal?)")
    best = int(np.argmin(ks_values))
    start = int(candidates[best])
    alpha = float(alphas[best])
    n_tail = n - start
    return _tail_fit(alpha, float(xs[start]), n_tail, n, float(ks_values[best]))


# --------------------------------------------------------------------------------------------
# Growth rates and their distribution
# --------------------------------------------------------------------------------------------


def growth_rates(
    panel: pd.DataFrame,
    *,
    firm: str = "firm_id",
    year: str = "year",
    size: str = "size",
    step: int = 1,
) -> pd.DataFrame:
    """Annual log growth rates of firms observed in consecutive years.

    g_it = ln S_it − ln S_i,t−1, kept only when firm i is observed in both t − ``step`` and t with
    positive size (a firm missing a year contributes no growth rate across the gap).

    Args:
        panel: long DataFrame with one row per firm and year (no duplicates).
        firm: column with the firm identifier.
        year: column with the year (integer); with quarterly data pass a year-quarter index and
            ``step=4`` for annual growth.
        size: column with the size measure (revenue in m yuan, employees, ...).
        step: gap in ``year`` units between the two observations.

    Returns:
        DataFrame with columns ``firm``, ``year`` (the end year t), ``size_start`` (S_i,t−1, the
        size used for volatility scaling), ``size_end`` (S_it) and ``growth`` (log points per year;
        0.1 ≈ 10 %), one row per firm and end year, sorted by firm and year.
    """
    missing = [c for c in (firm, year, size) if c not in panel.columns]
    if missing:
        raise KeyError(f"growth_rates: panel has no column(s) {missing}; "
                       f"columns are {list(panel.columns)}")
    frame = panel[[firm, year, size]]
    if frame.duplicated([firm, year]).any():
        raise ValueError(f"growth_rates: duplicate ({firm}, {year}) rows in the panel")
    earlier = frame.assign(**{year: frame[year] + step}).rename(columns={size: "size_start"})
    merged = frame.rename(columns={size: "size_end"}).merge(earlier, on=[firm, year], how="inner")
    ok = (merged["size_start"] > 0) & (merged["size_end"] > 0)
    merged = merged.loc[ok].copy()
    merged["growth"] = np.log(merged["size_end"].to_numpy(float)) - np.log(
        merged["size_start"].to_numpy(float))
    out = merged[[firm, year, "size_start", "size_end", "growth"]]
    return out.sort_values([firm, year]).reset_index(drop=True)


@dataclass(frozen=True)
class GrowthShape:
    """Shape of the growth-rate distribution.

    Attributes:
        laplace_loglik: maximised log-likelihood of a Laplace (double exponential) fit.
        normal_loglik: maximised log-likelihood of a Gaussian fit.
        log_likelihood_ratio: ``laplace_loglik - normal_loglik``; > 0 favours Laplace. Both models
            have two parameters, so no penalty is needed.
        preferred: ``"laplace"`` or ``"normal"``, the model with the higher likelihood.
        vuong_z: Vuong (1989) statistic for non-nested models, the ratio divided by its standard
            error; |z| > 1.96 means the preference is significant at 5 %.
        vuong_p: two-sided p-value of ``vuong_z``.
        subbotin_shape: shape b of the Subbotin (exponential power, ``scipy.stats.gennorm``) fit;
            b = 1 is Laplace, b = 2 Gaussian, b < 1 fatter than Laplace.
        subbotin_scale: scale a of that fit, in the units of the growth rates (log points).
        kurtosis: sample excess kurtosis (0 Gaussian, 3 Laplace).
        n: number of finite growth rates used.
    """

    laplace_loglik: float
    normal_loglik: float
    log_likelihood_ratio: float
    preferred: str
    vuong_z: float
    vuong_p: float
    subbotin_shape: float
    subbotin_scale: float
    kurtosis: float
    n: int

    @property
    def laplace_preferred(self) -> bool:
        """Whether the Laplace fit has the higher likelihood."""
        return self.preferred == "laplace"


def growth_shape(g: np.ndarray | pd.Series | Sequence[float]) -> GrowthShape:
    """Compare Laplace and Gaussian fits to growth rates and estimate the Subbotin shape.

    Tent-shaped (Laplace) annual log growth rates are a stylised fact of firm dynamics (Stanley et
    al. 1996; Bottazzi & Secchi 2003, 2006); a Gaussian is what a Gibrat process with thin-tailed
    shocks would give. Both are fitted by maximum likelihood and compared by the log-likelihood
    ratio with a Vuong test; the Subbotin family nests both (shape b = 1 and b = 2).

    Args:
        g: growth rates, e.g. the ``growth`` column of :func:`growth_rates` (log points); NaNs and
            infinities are dropped. Pooling across years mixes the year-specific means, so demean
            by year first if aggregate growth varies a lot.

    Returns:
        The comparison; see :class:`GrowthShape`.
    """
    arr = np.asarray(g, dtype=float).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size < 10:
        raise ValueError(f"growth_shape: need at least 10 finite growth rates, got {arr.size}")
    if np.ptp(arr) == 0:
        raise ValueError("growth_shape: all growth rates are equal")

    lap_loc, lap_scale = stats.laplace.fit(arr)
    norm_loc, norm_scale = stats.norm.fit(arr)
    lap_pointwise = stats.laplace.logpdf(arr, lap_loc, lap_scale)
    norm_pointwise = stats.norm.logpdf(arr, norm_loc, norm_scale)
    diff = lap_pointwise - norm_pointwise
    llr = float(diff.sum())
    spread = float(diff.std(ddof=1))
    vuong_z = llr / (np.sqrt(arr.size) * spread) if spread > 0 else 0.0
    vuong_p = float(2.0 * stats.norm.sf(abs(vuong_z)))

    # Start the Subbotin fit from the median and the Laplace scale; the shape from moments.
    shape, _, sub_scale = stats.gennorm.fit(arr, 1.5, loc=np.median(arr), scale=lap_scale)

    return GrowthShape(
        laplace_loglik=float(lap_pointwise.sum()),
        normal_loglik=float(norm_pointwise.sum()),
        log_likelihood_ratio=llr,
        preferred="laplace" if llr > 0 else "normal",
        vuong_z=float(vuong_z),
        vuong_p=vuong_p,
        subbotin_shape=float(shape),
        subbotin_scale=float(sub_scale),
        kurtosis=float(stats.kurtosis(arr, fisher=True, bias=False)),
        n=int(arr.size),
    )


# --------------------------------------------------------------------------------------------
# Volatility and size
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VolatilityFit:
    """Scaling of growth volatility with size, σ(g | S) ∝ S^−β.

    Attributes:
        beta: β, minus the OLS slope of ln σ on mean ln S across size bins (dimensionless; Amaral
            et al. 1997 find 0.18–0.20).
        beta_se: OLS standard error of the slope (so also of β).
        intercept: OLS intercept, ln σ at S = 1 (size units of the input).
        r_squared: R² of the bin regression.
        n_bins: number of size bins used (bins with fewer than 2 firms are dropped).
        table: one row per bin: ``mean_log_size`` (mean of ln S), ``sigma`` (sample standard
            deviation of growth, log points) and ``n`` (observations).
    """

    beta: float
    beta_se: float
    intercept: float
    r_squared: float
    n_bins: int
    table: pd.DataFrame


def volatility_scaling(
    size: np.ndarray | pd.Series | Sequence[float],
    growth: np.ndarray | pd.Series | Sequence[float],
    bins: int = 10,
) -> VolatilityFit:
    """Estimate β in σ(g | S) ∝ S^−β by binning firms on size (Amaral et al. 1997).

    Firms are put into ``bins`` quantile bins of ln S; in each bin the standard deviation of growth
    is taken, and ln σ is regressed by OLS on the bin's mean ln S (the log of its geometric mean
    size, which is not dominated by the largest firm as the arithmetic mean would be).

    Args:
        size: size at the start of the growth period (``size_start`` from :func:`growth_rates`);
            pairs with non-positive or non-finite size or growth are dropped.
        growth: the growth rates over the period (log points).
        bins: number of quantile bins (at least 3).

    Returns:
        The fit; see :class:`VolatilityFit`.
    """
    s = np.asarray(size, dtype=float).ravel()
    g = np.asarray(growth, dtype=float).ravel()
    if s.shape != g.shape:
        raise ValueError(f"volatility_scaling: size has {s.size} values, growth {g.size}")
    if bins < 3:
        raise ValueError(f"volatility_scaling: need at least 3 bins, got {bins}")
    ok = np.isfinite(s) & np.isfinite(g) & (s > 0)
    log_s, g = np.log(s[ok]), g[ok]
    if log_s.size < 2 * bins:
        raise ValueError(f"volatility_scaling: {log_s.size} observations are too few for "
                         f"{bins} bins")
    edges = np.unique(np.quantile(log_s, np.linspace(0.0, 1.0, bins + 1)))
    labels = np.clip(np.searchsorted(edges, log_s, side="right") - 1, 0, edges.size - 2)
    table = (
        pd.DataFrame({"bin": labels, "log_size": log_s, "growth": g})
        .groupby("bin")
        .agg(mean_log_size=("log_size", "mean"), sigma=("growth", "std"), n=("growth", "size"))
    )
    table = table[(table["n"] >= 2) & (table["sigma"] > 0)]
    if len(table) < 3:
        raise ValueError("volatility_scaling: fewer than 3 usable size bins")
    fit = stats.linregress(table["mean_log_size"], np.log(table["sigma"]))
    return VolatilityFit(
        beta=float(-fit.slope),
        beta_se=float(fit.stderr),
        intercept=float(fit.intercept),
        r_squared=float(fit.rvalue**2),
        n_bins=len(table),
        table=table.reset_index(drop=True),
    )


# --------------------------------------------------------------------------------------------
# Age
# --------------------------------------------------------------------------------------------


def _age_labels(edges: Sequence[float]) -> list[str]:
    def fmt(v: float) -> str:
        return f"{v:g}"

    return [f"{fmt(lo)}+" if np.isinf(hi) else f"{fmt(lo)}-{fmt(hi)}"
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def by_age(
    age_years: np.ndarray | pd.Series | Sequence[float],
    growth: np.ndarray | pd.Series | Sequence[float],
    exited: np.ndarray | pd.Series | Sequence[bool],
    bins: Sequence[float] = DEFAULT_AGE_BINS,
) -> pd.DataFrame:
    """Mean growth, growth dispersion and exit rate by age class.

    One observation is one firm-year: the firm's age at the start of the year, its growth over the
    year (NaN if it exited and so has none) and whether it exited during the year.

    Args:
        age_years: firm age at the start of the period, in years.
        growth: growth over the period (log points); NaN where not observed.
        exited: whether the firm exited (insolvency, closure) during the period. Listing or
            acquisition is not an exit in this sense.
        bins: increasing age-class edges in years, left-closed ([0, 3), [3, 5), ...); the last may
            be ``inf``. Default: 0–3, 3–5, 5–7, 7–10, 10–15, 15+.

    Returns:
        DataFrame indexed by age class (``"0-3"``, ..., ``"15+"``) with columns ``n`` (firm-years),
        ``mean_growth`` and ``growth_sd`` (log points, over firm-years with observed growth),
        ``n_growth`` (those firm-years) and ``exit_rate`` (share exiting, per period).
    """
    age = np.asarray(age_years, dtype=float).ravel()
    g = np.asarray(growth, dtype=float).ravel()
    ex = np.asarray(exited, dtype=float).ravel()
    if not (age.size == g.size == ex.size):
        raise ValueError(f"by_age: lengths differ (age {age.size}, growth {g.size}, "
                         f"exited {ex.size})")
    edges = np.asarray(bins, dtype=float)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"by_age: bins must be at least two increasing edges, got {list(bins)}")
    labels = _age_labels(list(edges))
    klass = pd.Categorical(
        pd.cut(age, edges, right=False, labels=labels), categories=labels, ordered=True
    )
    frame = pd.DataFrame({"age_class": klass, "growth": g, "exited": ex})
    table = frame.groupby("age_class", observed=False).agg(
        n=("exited", "size"),
        mean_growth=("growth", "mean"),
        growth_sd=("growth", "std"),
        n_growth=("growth", "count"),
        exit_rate=("exited", "mean"),
    )
    table.index.name = "age_class"
    return table


def young_vs_old(
    age_years: np.ndarray | pd.Series | Sequence[float],
    growth: np.ndarray | pd.Series | Sequence[float],
    exited: np.ndarray | pd.Series | Sequence[bool],
    young_below: float = 5.0,
    old_from: float = 10.0,
) -> dict[str, float]:
    """Summary contrasts of young against old firms, as used by the calibration targets.

    Young firms are aged < ``young_below`` years, old ones ≥ ``old_from`` years (defaults 5 and 10:
    the Chinese exit hazard peaks 3–7 years after founding, FACTS.md §7).

    Returns:
        ``exit_rate_young_vs_old``: ratio of exit rates (young / old; > 1 if the young exit more,
        ``inf`` if no old firm exits); ``growth_young_vs_old``: difference of mean growth
        (young − old, log points per period; > 0 if the young grow faster); and
        ``growth_sd_young_vs_old``: ratio of growth standard deviations (young / old).
    """
    table = by_age(age_years, growth, exited, bins=(0.0, young_below, old_from, np.inf))
    young, old = table.iloc[0], table.iloc[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        exit_ratio = np.float64(young["exit_rate"]) / np.float64(old["exit_rate"])
        sd_ratio = np.float64(young["growth_sd"]) / np.float64(old["growth_sd"])
    return {
        "exit_rate_young_vs_old": float(exit_ratio),
        "growth_young_vs_old": float(young["mean_growth"] - old["mean_growth"]),
        "growth_sd_young_vs_old": float(sd_ratio),
    }
