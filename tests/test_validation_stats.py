"""Tests of the validation statistics on synthetic data with known answers, and of the targets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from smegrowth.validation import (
    Target,
    by_age,
    compare,
    growth_rates,
    growth_shape,
    load_targets,
    pareto_tail,
    volatility_scaling,
    young_vs_old,
)

# --------------------------------------------------------------------------------------------
# Pareto tail
# --------------------------------------------------------------------------------------------


def pareto_with_lognormal_body(
    ccdf_exponent: float, n: int, xmin: float, tail_share: float, seed: int
) -> np.ndarray:
    """Sizes whose top ``tail_share`` is Pareto above ``xmin`` and whose body is lognormal below."""
    rng = np.random.default_rng(seed)
    n_tail = int(n * tail_share)
    tail = xmin * (1.0 - rng.random(n_tail)) ** (-1.0 / ccdf_exponent)
    body = rng.lognormal(np.log(xmin / 2.5), 0.7, size=4 * n)
    body = body[body < xmin][: n - n_tail]
    assert body.size == n - n_tail
    return rng.permutation(np.concatenate([tail, body]))


# Margins: over 200 seeds the estimate's standard deviation is 0.014 (exponent 1.0) and 0.022
# (1.5), and the chosen xmin ranges from 4.9 to 22, so these hold with about 4 standard deviations.
@pytest.mark.parametrize(("ccdf_exponent", "margin", "seed"), [(1.0, 0.06, 11), (1.5, 0.08, 12)])
def test_pareto_tail_recovers_known_exponent_and_xmin(
    ccdf_exponent: float, margin: float, seed: int
) -> None:
    x = pareto_with_lognormal_body(ccdf_exponent, n=20_000, xmin=5.0, tail_share=0.4, seed=seed)
    fit = pareto_tail(x)
    assert fit.ccdf_exponent == pytest.approx(ccdf_exponent, abs=margin)
    assert fit.pdf_exponent == pytest.approx(fit.ccdf_exponent + 1.0)
    assert fit.alpha == fit.pdf_exponent
    assert 4.5 <= fit.xmin <= 25.0
    assert fit.alpha_se == pytest.approx(fit.ccdf_exponent / math.sqrt(fit.n_tail))
    assert fit.n == x.size
    assert fit.n_tail == int(np.sum(x >= fit.xmin))
    assert 0.0 < fit.ks_distance < 0.03


def test_pareto_tail_xmin_search_matters() -> None:
    x = pareto_with_lognormal_body(1.0, n=20_000, xmin=5.0, tail_share=0.4, seed=13)
    naive = pareto_tail(x, xmin=float(x.min()))
    searched = pareto_tail(x)
    assert abs(naive.ccdf_exponent - 1.0) > 0.3
    assert naive.ks_distance > 5 * searched.ks_distance


def test_pareto_tail_given_xmin() -> None:
    x = pareto_with_lognormal_body(1.5, n=20_000, xmin=5.0, tail_share=0.4, seed=14)
    fit = pareto_tail(x, xmin=5.0)
    assert fit.xmin == 5.0
    assert fit.n_tail == int(np.sum(x >= 5.0))
    assert fit.ccdf_exponent == pytest.approx(1.5, abs=0.08)


def test_pareto_tail_drops_nonpositive_and_rejects_too_little_data() -> None:
    x = np.concatenate([pareto_with_lognormal_body(1.0, 5_000, 5.0, 0.4, 15), [0.0, -1.0, np.nan]])
    assert pareto_tail(x).n == 5_000
    with pytest.raises(ValueError, match="pareto_tail"):
        pareto_tail([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="pareto_tail"):
        pareto_tail([0.0, -2.0])


# --------------------------------------------------------------------------------------------
# Growth rates and their shape
# --------------------------------------------------------------------------------------------


def test_growth_rates_only_consecutive_years_with_positive_size() -> None:
    e = math.e
    panel = pd.DataFrame({
        "firm_id": [1, 1, 1, 2, 2, 3, 3, 3],
        "year": [2020, 2021, 2022, 2020, 2022, 2020, 2021, 2022],
        "size": [1.0, e, e**3, 5.0, 6.0, 2.0, 0.0, 4.0],
    }).sample(frac=1.0, random_state=0)
    out = growth_rates(panel)
    assert list(out.columns) == ["firm_id", "year", "size_start", "size_end", "growth"]
    assert out["firm_id"].tolist() == [1, 1]
    assert out["year"].tolist() == [2021, 2022]
    assert out["growth"].to_numpy() == pytest.approx([1.0, 2.0])
    assert out["size_start"].to_numpy() == pytest.approx([1.0, e])


def test_growth_rates_custom_columns_and_bad_input() -> None:
    panel = pd.DataFrame({"id": [1, 1], "q": [0, 4], "revenue": [1.0, 2.0]})
    out = growth_rates(panel, firm="id", year="q", size="revenue", step=4)
    assert out["growth"].to_numpy() == pytest.approx([math.log(2.0)])
    with pytest.raises(KeyError, match="size"):
        growth_rates(panel)
    with pytest.raises(ValueError, match="duplicate"):
        growth_rates(pd.concat([panel, panel]), firm="id", year="q", size="revenue")


def test_growth_shape_prefers_laplace_for_laplace_data() -> None:
    g = np.random.default_rng(21).laplace(0.05, 0.15, size=20_000)
    shape = growth_shape(g)
    assert shape.preferred == "laplace" and shape.laplace_preferred
    assert shape.log_likelihood_ratio == pytest.approx(shape.laplace_loglik - shape.normal_loglik)
    assert shape.vuong_z > 5 and shape.vuong_p < 1e-6
    assert shape.subbotin_shape == pytest.approx(1.0, abs=0.1)
    assert shape.kurtosis == pytest.approx(3.0, abs=0.8)
    assert shape.n == 20_000


def test_growth_shape_prefers_normal_for_normal_data() -> None:
    g = np.random.default_rng(22).normal(0.05, 0.2, size=20_000)
    shape = growth_shape(np.append(g, [np.nan, np.inf]))
    assert shape.preferred == "normal" and not shape.laplace_preferred
    assert shape.vuong_z < -5
    assert shape.subbotin_shape == pytest.approx(2.0, abs=0.2)
    assert shape.subbotin_scale == pytest.approx(0.2 * math.sqrt(2.0), rel=0.05)
    assert shape.kurtosis == pytest.approx(0.0, abs=0.2)
    assert shape.n == 20_000


def test_growth_shape_rejects_degenerate_input() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        growth_shape([0.1, 0.2])
    with pytest.raises(ValueError, match="equal"):
        growth_shape(np.zeros(50))


# --------------------------------------------------------------------------------------------
# Volatility scaling
# --------------------------------------------------------------------------------------------


def simulated_size_and_growth(beta: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sizes (lognormal) and Laplace growth rates with standard deviation 0.4·S^−β."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(2.0, 2.0, size=n)
    sigma = 0.4 * size**-beta
    growth = rng.laplace(0.02, sigma / math.sqrt(2.0))
    return size, growth


def test_volatility_scaling_recovers_known_beta() -> None:
    size, growth = simulated_size_and_growth(0.2, n=50_000, seed=31)
    fit = volatility_scaling(size, growth, bins=10)
    assert fit.beta == pytest.approx(0.2, abs=0.03)
    assert 0.0 < fit.beta_se < 0.02
    assert fit.n_bins == 10
    assert fit.r_squared > 0.95
    assert fit.intercept == pytest.approx(math.log(0.4), abs=0.1)
    assert list(fit.table.columns) == ["mean_log_size", "sigma", "n"]
    assert fit.table["n"].sum() == 50_000


def test_volatility_scaling_gibrat_has_no_slope() -> None:
    size, growth = simulated_size_and_growth(0.0, n=50_000, seed=32)
    assert volatility_scaling(size, growth).beta == pytest.approx(0.0, abs=0.03)


def test_volatility_scaling_bad_input() -> None:
    with pytest.raises(ValueError, match="size has"):
        volatility_scaling([1.0, 2.0], [0.1])
    with pytest.raises(ValueError, match="bins"):
        volatility_scaling(np.arange(1.0, 100.0), np.zeros(99), bins=2)


# --------------------------------------------------------------------------------------------
# Age
# --------------------------------------------------------------------------------------------


def exit_probability(age: np.ndarray) -> np.ndarray:
    return 0.02 + 0.15 * np.exp(-age / 6.0)


def simulated_age_panel(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Firm-years with exit probability and mean growth falling with age; exiters have no growth."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(0.0, 30.0, size=n)
    exited = rng.random(n) < exit_probability(age)
    growth = rng.normal(0.25 * np.exp(-age / 5.0), 0.1 + 0.3 * np.exp(-age / 8.0))
    growth[exited] = np.nan
    return age, growth, exited


def test_by_age_reproduces_known_decreasing_exit_rate() -> None:
    age, growth, exited = simulated_age_panel(100_000, seed=41)
    table = by_age(age, growth, exited)
    assert table.index.tolist() == ["0-3", "3-5", "5-7", "7-10", "10-15", "15+"]
    assert table["n"].sum() == age.size
    assert table["n_growth"].sum() == int((~exited).sum())
    assert np.all(np.diff(table["exit_rate"].to_numpy()) < 0)
    assert np.all(np.diff(table["mean_growth"].to_numpy()) < 0)
    assert np.all(np.diff(table["growth_sd"].to_numpy()) < 0)
    # Known exit rate of each class: the average exit probability over a uniform age in the class.
    edges = [0.0, 3.0, 5.0, 7.0, 10.0, 15.0, 30.0]
    for (low, high), rate in zip(zip(edges[:-1], edges[1:], strict=True), table["exit_rate"],
                                 strict=True):
        grid = np.linspace(low, high, 1001)
        assert rate == pytest.approx(exit_probability(grid).mean(), abs=0.01)


def test_by_age_custom_bins_and_empty_class() -> None:
    table = by_age([0.5, 1.5, 2.5], [0.1, 0.2, np.nan], [False, False, True], bins=(0, 1, 2, 5, 9))
    assert table.index.tolist() == ["0-1", "1-2", "2-5", "5-9"]
    assert table.loc["2-5", "exit_rate"] == 1.0
    assert table.loc["5-9", "n"] == 0
    with pytest.raises(ValueError, match="increasing"):
        by_age([1.0], [0.1], [False], bins=(5, 1))


def test_young_vs_old_contrasts() -> None:
    age, growth, exited = simulated_age_panel(100_000, seed=42)
    contrasts = young_vs_old(age, growth, exited)
    assert contrasts["exit_rate_young_vs_old"] > 2.0
    assert contrasts["growth_young_vs_old"] > 0.1
    assert contrasts["growth_sd_young_vs_old"] > 1.5


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------

EXPECTED_STATISTICS = {
    "ccdf_exponent_revenue", "ccdf_exponent_employment", "growth_laplace_preferred",
    "subbotin_shape", "volatility_beta", "exit_rate_young_vs_old", "growth_young_vs_old",
    "srdi_firms_start", "little_giants_start", "unicorns_start",
    "little_giants_net_growth_per_year", "new_unicorns_per_year",
    "new_unicorns_share_ai_semis_energy", "little_giant_ipos_per_year", "ipos_per_year",
    "loan_rate_mean", "firms_with_loans_share", "exit_rate_per_year",
    "little_giant_acquisitions_per_year",
}


def test_packaged_targets_load_and_cover_the_statistics() -> None:
    targets = load_targets()
    statistics = {t.statistic for t in targets}
    assert statistics >= EXPECTED_STATISTICS
    for target in targets:
        assert target.source
        low, high = target.bounds()
        assert low <= high
    by_stat = {t.statistic: t for t in targets}
    assert by_stat["srdi_firms_start"].bounds() == pytest.approx((138_180.0, 143_820.0))
    assert by_stat["new_unicorns_per_year"].bounds() == (18.0, 72.0)
    assert by_stat["growth_laplace_preferred"].is_boolean


def test_compare_on_hand_made_statistics() -> None:
    targets = [
        Target("count", "firms", 100.0, 0.02, "relative", source="a"),
        Target("rate", "rate", 0.5, 0.05, "absolute", source="b"),
        Target("range", "births", (18.0, 72.0), source="c"),
        Target("ratio", "ratio", (1.0, None), source="d"),
        Target("tent", "laplace", True, source="e"),
        Target("tent again", "laplace_rare", True, source="f"),
        Target("absent", "not_computed", (0.0, 1.0), source="g"),
    ]
    stats = {
        "firms": [99.0, 101.0, 100.5],
        "rate": [0.6, 0.62],
        "births": [70.0, np.nan, 80.0],
        "ratio": 1.7,
        "laplace": [1.0, 1.0, 0.0],
        "laplace_rare": [0.0, 1.0, 0.0, 1.0],
    }
    table = compare(targets, stats).set_index("name")
    assert list(compare(targets, stats).columns) == [
        "name", "statistic", "target", "low", "high", "units", "model_mean", "model_sd", "n_runs",
        "passed", "source"]
    assert table.loc["count", "passed"]
    assert table.loc["count", "model_mean"] == pytest.approx(100.1666, abs=1e-3)
    assert table.loc["count", "model_sd"] == pytest.approx(np.std([99, 101, 100.5], ddof=1))
    assert table.loc["count", "target"] == "100 ± 2%"
    assert not table.loc["rate", "passed"]
    assert not table.loc["range", "passed"]
    assert table.loc["range", "n_runs"] == 2
    assert table.loc["ratio", "passed"]
    assert table.loc["ratio", "n_runs"] == 1 and math.isnan(table.loc["ratio", "model_sd"])
    assert table.loc["ratio", "high"] == math.inf
    assert table.loc["tent", "passed"]
    assert not table.loc["tent again", "passed"]
    assert pd.isna(table.loc["absent", "passed"]) and table.loc["absent", "n_runs"] == 0
    assert table.loc["absent", "source"] == "g"


def test_load_targets_names_file_target_and_key(tmp_path) -> None:
    bad = tmp_path / "targets.yaml"
    bad.write_text("targets:\n  - name: births\n    statistic: new_unicorns_per_year\n"
                   "    target: 45\n    source: GEI\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"targets\.yaml: target 'births'.*tolerance"):
        load_targets(bad)
    bad.write_text("targets:\n  - name: births\n    statistic: x\n    target: [72, 18]\n"
                   "    source: GEI\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'target' range has low"):
        load_targets(bad)
    bad.write_text("targets:\n  - name: births\n    target: 1\n    source: GEI\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'statistic' is missing"):
        load_targets(bad)
    bad.write_text("targets:\n  - {name: births, statistic: x, target: .nan, source: GEI}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="target 'births': key 'target': expected a finite number, got nan"):
        load_targets(bad)
    bad.write_bytes("targets: [café]\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"targets\.yaml: not UTF-8 text"):
        load_targets(bad)
