"""Lever comparison, sensitivity, plots, report and CLI, on synthetic results folders with known
effects (fast: no model runs)."""

from __future__ import annotations

import gc
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from scipy import stats
from smegrowth import analysis, plots, sensitivity
from smegrowth.analysis_cli import register
from smegrowth.report import write_report
from statsmodels.stats.multitest import multipletests
from typer.testing import CliRunner

EFFECTS = {"baseline": 0.0, "A": 5.0, "B": 0.0}
PNG = b"\x89PNG\r\n\x1a\n"


def synthetic(rng: np.random.Generator, n: int = 20, quarters: int = 4,
              effects: dict[str, float] = EFFECTS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and time series: outcome y ~ N(100, 10) per seed (shared by all policies: common
    random numbers) + N(0, 2) run noise + the policy's effect; fiscal cost 50 per quarter for A."""
    seed_effect = rng.normal(100.0, 10.0, n)
    runs, ts = [], []
    for policy, effect in effects.items():
        for rep in range(n):
            run_id = f"{policy}-{rep}"
            path = np.linspace(0.0, 1.0, quarters + 1) * (seed_effect[rep] + effect
                                                          + rng.normal(0.0, 2.0))
            cost = 50.0 if policy == "A" else 0.0
            jobs = 1000.0 + 10 * path
            for step in range(quarters + 1):
                label = f"{2024 + (step + 3) // 4}Q{(step + 3) % 4 + 1}"
                ts.append({"run_id": run_id, "policy": policy, "sample": 0, "replicate": rep,
                           "seed": 100 + rep, "quarter": label, "step": step,
                           "little_giants": path[step], "employment": jobs[step],
                           "fiscal_cost": cost if step else 0.0,
                           "new_unicorns": 1.0 if step else 0.0})
            runs.append({"run_id": run_id, "policy": policy, "sample": 0, "replicate": rep,
                         "seed": 100 + rep, "status": "ok", "error": None,
                         "lever.a.rate": 1.0 if policy == "A" else 0.0,
                         "little_giants": path[-1], "employment": jobs[-1],
                         "fiscal_cost": cost, "fiscal_cost_total": cost * quarters,
                         "new_unicorns": 1.0, "new_unicorns_total": float(quarters),
                         "smes": 500.0 + path[-1], "unicorns": 10.0,
                         "revenue_ai_total": 50.0 + path[-1], "new_unicorns_ai_total": 1.0,
                         "revenue_chips_total": 70.0, "new_unicorns_chips_total": 2.0})
    return pd.DataFrame(runs), pd.DataFrame(ts)


def write_folder(path: Path, runs: pd.DataFrame, ts: pd.DataFrame, **manifest) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    runs.to_parquet(path / "runs.parquet")
    ts.to_parquet(path / "timeseries.parquet")
    meta = {"name": "synthetic", "created": "2025-01-01T00:00:00Z",
            "versions": {"smegrowth": "0.1.0"}, **manifest}
    (path / "manifest.json").write_text(json.dumps(meta))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    runs, ts = synthetic(np.random.default_rng(7))
    failed = {"run_id": "A-x", "policy": "A", "sample": 0, "replicate": 99, "seed": 999,
              "status": "failed", "error": "RuntimeError: boom"}
    runs = pd.concat([runs, pd.DataFrame([failed])], ignore_index=True)
    return write_folder(tmp_path / "sweep", runs, ts)


def test_ci_coverage_is_nominal(monkeypatch: pytest.MonkeyPatch):
    # statsmodels' Holm step calls gc.collect() on every call; skip it to keep 200 repeats fast
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    covered = {"A": 0, "B": 0}
    reps = 200
    for i in range(reps):
        runs, _ = synthetic(np.random.default_rng(1000 + i), n=10)
        df = analysis.compare((runs, None), outcomes=["little_giants"])
        for _, row in df.iterrows():
            true = EFFECTS[row["policy"]]
            covered[row["policy"]] += row["ci_low"] <= true <= row["ci_high"]
    for policy, hits in covered.items():
        assert 0.91 <= hits / reps <= 0.99, (policy, hits / reps)


def test_ci_p_values_and_holm_match_scipy_and_statsmodels(folder: Path):
    df = analysis.compare(folder, outcomes=["little_giants", "employment"])
    runs = pd.read_parquet(folder / "runs.parquet")
    runs = runs[runs["status"] == "ok"]
    raw = []
    for _, row in df.iterrows():
        pol = runs[runs["policy"] == row["policy"]].sort_values("replicate")
        base = runs[runs["policy"] == "baseline"].sort_values("replicate")
        d = pol[row["outcome"]].to_numpy() - base[row["outcome"]].to_numpy()
        lo, hi = stats.t.interval(0.95, d.size - 1, loc=d.mean(), scale=stats.sem(d))
        assert row["diff"] == pytest.approx(d.mean())
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
        p = stats.ttest_rel(pol[row["outcome"]], base[row["outcome"]]).pvalue
        assert row["p_value"] == pytest.approx(p)
        assert row["n"] == 20  # the failed run is excluded
        raw.append(row["p_value"])
    holm = multipletests(raw, alpha=0.05, method="holm")[1]
    np.testing.assert_allclose(df["p_holm"].to_numpy(), holm)
    a = df[(df["policy"] == "A") & (df["outcome"] == "little_giants")].iloc[0]
    assert a["stars"] == "***" and a["test"] == "paired"


def test_cost_effectiveness_and_ranking(folder: Path):
    df = analysis.compare(folder, outcomes=["little_giants"], rank_by="little_giants")
    a = df[df["policy"] == "A"].iloc[0]
    assert a["fiscal_cost"] == pytest.approx(200.0)
    assert a["cost_per_little_giant"] == pytest.approx(200.0 / a["diff"])
    assert a["cost_per_job"] == pytest.approx(200.0 / (10 * a["diff"]))
    assert np.isnan(a["cost_per_unicorn"])  # no effect on unicorns: n/a, not inf
    assert a["rank"] == 1
    assert "n/a" in analysis.format_table(df, "md")


def test_cost_per_revenue_divides_by_the_revenue_summed_over_the_horizon(tmp_path: Path):
    """A policy whose revenue gain has faded by the last quarter (a negative end-of-horizon effect)
    but that added revenue over the horizon gets a cost per 100 m yuan of that summed revenue, and
    the table says which revenue it divides by."""
    runs, ts = synthetic(np.random.default_rng(3))
    policy_a = (runs["policy"] == "A").to_numpy()
    runs["revenue"] = 5_000.0 - np.where(policy_a, 40.0, 0.0)  # the last quarter: 40 lower under A
    runs["revenue_total"] = 20_000.0 + np.where(policy_a, 400.0, 0.0)  # the horizon: 400 higher
    df = analysis.compare(write_folder(tmp_path / "sweep", runs, ts), outcomes=["revenue"])
    a = df[df["policy"] == "A"].iloc[0]
    assert a["diff"] == pytest.approx(-40.0)
    assert a["cost_per_100m_revenue"] == pytest.approx(200.0 / (400.0 / 100.0))
    table = analysis.format_table(df, "md")
    assert "m yuan / 100 m revenue over the horizon" in table
    assert "extra revenue summed over the horizon" in table


def test_compare_at_a_quarter_uses_the_time_series(folder: Path):
    final = analysis.compare(folder, outcomes=["little_giants"])
    at_end = analysis.compare(folder, outcomes=["little_giants"], at="2025Q4")
    np.testing.assert_allclose(final["diff"], at_end["diff"])
    mid = analysis.compare(folder, outcomes=["little_giants", "fiscal_cost_total"], at=2)
    a = mid[(mid["policy"] == "A")].set_index("outcome")
    assert a.loc["little_giants", "diff"] == pytest.approx(final.set_index("policy")
                                                           .loc["A", "diff"] / 2, rel=0.05)
    assert a.loc["fiscal_cost_total", "diff"] == pytest.approx(100.0)
    with pytest.raises(analysis.ResultsError, match="quarter 2031Q1"):
        analysis.compare(folder, at="2031Q1")


def test_breakdowns_and_paths(folder: Path):
    kinds = analysis.breakdown(folder, "kind")
    assert set(kinds["kind"]) == {"smes", "little_giants", "unicorns"}
    by_sector = analysis.breakdown(folder, "sector")
    assert set(by_sector["sector"]) == {"ai", "chips"}
    assert set(by_sector["measure"]) == {"revenue_total", "new_unicorns_total"}
    paths = analysis.effect_paths(folder, "little_giants")
    a = paths[paths["policy"] == "A"].sort_values("step")
    final = analysis.compare(folder, outcomes=["little_giants"]).set_index("policy").loc["A"]
    assert a["diff"].iloc[0] == 0
    assert (a["ci_low"].iloc[-1], a["ci_high"].iloc[-1]) == pytest.approx(
        (final["ci_low"], final["ci_high"]))
    with pytest.raises(analysis.ResultsError, match="sector"):
        analysis.breakdown(folder, "region")


@pytest.mark.parametrize("fmt", ["table", "md", "csv", "latex", "html"])
def test_formats(folder: Path, fmt: str):
    df = analysis.compare(folder, outcomes=["little_giants", "employment"])
    text = analysis.format_table(df, fmt, "baseline")
    assert "A" in text and "little" in text
    if fmt == "csv":
        back = pd.read_csv(io.StringIO(text))
        assert len(back) == 4 and {"policy", "outcome", "diff", "ci_low", "p_holm"} <= set(back)
    if fmt in ("table", "md"):
        assert "***" in text and "[" in text


def test_library_errors(folder: Path, tmp_path: Path):
    with pytest.raises(analysis.ResultsError, match="does not exist"):
        analysis.compare(tmp_path / "nope")
    with pytest.raises(analysis.ResultsError, match="baseline policy 'status_quo'"):
        analysis.compare(folder, baseline="status_quo")
    with pytest.raises(analysis.ResultsError, match="did you mean little_giants"):
        analysis.compare(folder, outcomes=["little_giant"])
    with pytest.raises(analysis.ResultsError, match="outcome 'unicorns_total' was not kept by this sweep"):
        analysis.compare(folder, outcomes=["unicorns_total"])


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """smegrowth (test app)."""

    register(app)
    return app


def test_cli_compare_csv_parses_back(folder: Path, tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "cmp.csv"
    result = runner.invoke(_app(), ["compare", str(folder), "--outcomes", "little_giants",
                                    "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.output
    back = pd.read_csv(out)
    assert set(back["policy"]) == {"A", "B"}
    result = runner.invoke(_app(), ["compare", str(folder), "--format", "csv"])
    assert result.exit_code == 0
    assert len(pd.read_csv(io.StringIO(result.stdout))) > 0
    result = runner.invoke(_app(), ["compare", str(folder), "--at", "2025Q2"])
    assert result.exit_code == 0 and "little giants" in result.stdout


def assert_one_line_error(result, message: str) -> None:
    """Status 2 and one ``error:`` line holding ``message``, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_cli_user_errors(folder: Path, tmp_path: Path):
    runs, ts = synthetic(np.random.default_rng(1))
    runs["status"] = "failed"
    all_failed = write_folder(tmp_path / "failed", runs, ts)
    cases = [
        (["compare", str(tmp_path / "missing")], "does not exist"),
        (["compare", str(folder), "--baseline", "nope"], "baseline policy 'nope'"),
        (["compare", str(folder), "--outcomes", "little_giants,jobs"], "unknown outcome 'jobs'"),
        (["compare", str(folder), "--format", "xlsx"], "unknown format"),
        (["compare", str(all_failed)], "no successful runs"),
        (["report", str(tmp_path / "missing")], "does not exist"),
        (["sensitivity", str(folder)], "no design.problem"),
    ]
    for args, message in cases:
        assert_one_line_error(CliRunner().invoke(_app(), args), message)


def test_cli_outputs_that_cannot_be_written_or_tables_that_cannot_be_read(folder: Path, tmp_path: Path):
    """One line and status 2, naming the path, and nothing half-written beside it."""
    a_folder = tmp_path / "a folder"
    a_folder.mkdir()
    a_file = tmp_path / "a file"
    a_file.write_text("notes")
    damaged = write_folder(tmp_path / "damaged", *synthetic(np.random.default_rng(2)))
    (damaged / "timeseries.parquet").write_bytes(b"not a parquet file")
    cases = [
        (["compare", str(folder), "-o", str(a_folder)], f"cannot write {a_folder}: Is a directory"),
        (["compare", str(folder), "-o", str(a_file / "x.csv")], f"{a_file} is a file, not a folder"),
        (["report", str(folder), "-o", str(a_folder)], f"cannot write {a_folder}"),
        (["compare", str(a_file)], f"{a_file} is a file, not a results folder"),
        (["report", str(damaged)], f"{damaged / 'timeseries.parquet'} cannot be read"),
    ]
    for args, message in cases:
        assert_one_line_error(CliRunner().invoke(_app(), args), message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a file", "a folder", "damaged", "sweep"]
    assert list(a_folder.iterdir()) == [] and a_file.read_text() == "notes"


def test_report_is_self_contained(folder: Path, tmp_path: Path):
    out = write_report(folder, tmp_path / "report.html")
    text = out.read_text()
    assert "<table" in text and "comparison" in text and "little_giants" in text
    assert text.count("data:image/png;base64,") >= 2
    assert "synthetic" in text and "RuntimeError: boom" in text
    result = CliRunner().invoke(_app(), ["report", str(folder), "-o", str(tmp_path / "r2.html")])
    assert result.exit_code == 0 and (tmp_path / "r2.html").stat().st_size > 1000


def test_plots_write_png(folder: Path, tmp_path: Path):
    rng = np.random.default_rng(3)
    firms = pd.DataFrame({"annual_revenue": rng.pareto(1.1, 500) + 1,
                          "employees": rng.pareto(1.2, 500) * 10 + 1,
                          "revenue_lag4": rng.pareto(1.1, 500) + 1,
                          "status": ["active"] * 480 + ["exited"] * 20})
    df = analysis.compare(folder, outcomes=["little_giants", "employment"])
    files = {
        "paths": plots.plot_paths(folder, ["little_giants", "employment"], tmp_path / "p.png"),
        "effects": plots.plot_effects(df, tmp_path / "e.png"),
        "epaths": plots.plot_effect_paths(folder, ["little_giants"], tmp_path / "ep.png"),
        "size": plots.plot_size_distribution(firms, tmp_path / "s.png"),
        "growth": plots.plot_growth_rates(plots.growth_rates(firms), tmp_path / "g.png"),
    }
    assert len(files) == 5
    for name in ("p", "e", "ep", "s", "g"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data.startswith(PNG) and len(data) > 5000


def _design_folder(tmp_path: Path, method: str) -> Path:
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample
    from SALib.test_functions import Ishigami

    problem = {"num_vars": 3, "names": ["a.x1", "a.x2", "a.x3"],
               "bounds": [[-np.pi, np.pi]] * 3}
    if method == "sobol":
        X = sobol_sample.sample(problem, 256, calc_second_order=True, seed=1)
    else:
        X = morris_sample.sample(problem, 50, num_levels=4, seed=1)
    y = Ishigami.evaluate(X)
    runs = pd.DataFrame({"run_id": [f"r{i}" for i in range(len(y))], "policy": "baseline",
                         "sample": range(len(y)), "replicate": 0, "seed": 1, "status": "ok",
                         "error": None, "little_giants": y})
    for j, name in enumerate(problem["names"]):
        runs[f"param.{name}"] = X[:, j]
    ts = runs[["run_id", "policy", "sample", "replicate", "seed"]].assign(
        quarter="2024Q4", step=0, little_giants=y)
    if method == "sobol":  # the sweep runner's layout: settings inside the problem, key "type"
        design = {"type": "sobol", "problem": {**problem, "calc_second_order": True,
                                               "samples": 256}}
    else:
        design = {"method": "morris", "problem": problem, "num_levels": 4}
    return write_folder(tmp_path / method, runs, ts, design=design)


def test_sobol_indices_recover_ishigami(tmp_path: Path):
    table = sensitivity.indices(_design_folder(tmp_path, "sobol"), outcomes=["little_giants"])
    s1 = table.set_index("parameter")["S1"]
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(table.columns)
    assert s1["a.x1"] == pytest.approx(0.31, abs=0.1) and s1["a.x2"] == pytest.approx(0.44, abs=0.1)
    assert abs(s1["a.x3"]) < 0.1
    png = tmp_path / "sobol.png"
    plots.plot_sensitivity(table, png)
    assert png.read_bytes().startswith(PNG)
    result = CliRunner().invoke(_app(), ["sensitivity", str(tmp_path / "sobol"), "--outcomes",
                                         "little_giants", "-o", str(tmp_path / "si.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "si.png").stat().st_size > 5000


def test_sensitivity_writes_its_table_and_chart_together_or_neither(tmp_path: Path):
    folder = _design_folder(tmp_path, "morris")
    out = tmp_path / "sens"
    (out / "indices.png").mkdir(parents=True)  # the chart's path is taken by a folder
    result = CliRunner().invoke(_app(), ["sensitivity", str(folder), "-o", str(out / "indices.csv")])
    assert result.exit_code == 2 and f"cannot write {out / 'indices.png'}" in result.stderr, result.stderr
    assert [p.name for p in out.iterdir()] == ["indices.png"]


def test_morris_indices(tmp_path: Path):
    table = sensitivity.indices(_design_folder(tmp_path, "morris"), outcomes=["little_giants"])
    mu_star = table.set_index("parameter")["mu_star"]
    assert mu_star["a.x2"] > mu_star["a.x3"] > 0
    plots.plot_sensitivity(table, tmp_path / "morris.png")
    assert (tmp_path / "morris.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"[1, 2, 3]", b"null"],
                         ids=["not-utf8", "array", "null"])
def test_cli_damaged_manifest_is_named_in_one_line(folder: Path, tmp_path: Path, content: bytes):
    manifest = folder / "manifest.json"
    manifest.write_bytes(content)
    for command in ("compare", "report", "sensitivity"):
        result = CliRunner().invoke(_app(), [command, str(folder)])
        assert_one_line_error(result, f"{manifest}: not a smegrowth manifest")
    assert not (folder / "report.html").exists()


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(problem=None), "design.problem is null, not a SALib problem"),
    (lambda d: d["problem"].update(names=["a.x1"]),
     "design.problem.names has 1 names but design.problem.bounds has 3 [low, high] pairs"),
    (lambda d: d["problem"].update(num_vars=2), "design.problem.num_vars is 2, but"),
    (lambda d: d["problem"].update(bounds="wide"), "design.problem.bounds is not a list of [low, high]"),
    (lambda d: d.update(n_samples="many"), 'design.n_samples is "many", not a whole number'),
], ids=["problem-null", "names-length", "num_vars", "bounds", "n_samples"])
def test_cli_sensitivity_names_a_wrong_design_block(tmp_path: Path, change, message: str):
    folder = _design_folder(tmp_path, "sobol")
    manifest = folder / "manifest.json"
    meta = json.loads(manifest.read_text())
    change(meta["design"])
    manifest.write_text(json.dumps(meta))
    result = CliRunner().invoke(_app(), ["sensitivity", str(folder), "--outcomes", "little_giants"])
    assert_one_line_error(result, f"{manifest}: {message}")


NOT_OUTCOMES = ["policy", "run_id", "status", "seed", "sample", "replicate", "error", "lever.a.rate",
                "param.a.x1", "elapsed_s", "config_hash"]


@pytest.fixture
def with_other_columns(folder: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The comparison folder and a Sobol one, both with parameter, lever and timing columns."""
    extra = {"param.a.x1": 0.5, "lever.a.rate": 0.0, "elapsed_s": 1.5, "config_hash": "abc"}
    design = _design_folder(tmp_path, "sobol")
    for where in (folder, design):
        runs = pd.read_parquet(where / "runs.parquet")
        runs.assign(**{k: v for k, v in extra.items() if k not in runs}).to_parquet(where / "runs.parquet")
    return folder, design


@pytest.mark.parametrize("name", NOT_OUTCOMES)
@pytest.mark.parametrize("command", ["compare", "compare --at 1", "sensitivity"])
def test_cli_outcomes_option_refuses_columns_that_are_not_outcomes(
        with_other_columns: tuple[Path, Path], command: str, name: str):
    folder = with_other_columns[command == "sensitivity"]
    command, *options = command.split()
    result = CliRunner().invoke(_app(), [command, str(folder), *options,
                                         "--outcomes", f"little_giants,{name}"])
    assert_one_line_error(result, f"--outcomes: '{name}' is not an outcome of {folder} (")
    assert "its outcomes: little_giants" in result.stderr


def test_cli_outcomes_at_a_quarter_refuses_the_time_axis(folder: Path):
    result = CliRunner().invoke(_app(), ["compare", str(folder), "--at", "1", "--outcomes", "step"])
    assert_one_line_error(result, f"--outcomes: 'step' is not an outcome of {folder} (it is the time axis)")


TABLE_DAMAGE = [  # (how the table is damaged, command, the table, what the error says about it)
    ("no_run_id", ["compare", "--at", "1"], "runs.parquet", " has no 'run_id' column"),
    ("text_outcome", ["compare"], "runs.parquet", ": column 'little_giants' holds text, not numbers"),
    ("text_outcome", ["report"], "runs.parquet", ": column 'little_giants' holds text, not numbers"),
    ("no_step", ["compare", "--at", "1"], "timeseries.parquet", " has no 'step' column"),
    ("no_step", ["report"], "timeseries.parquet", " has no 'step' column"),
    ("no_quarter", ["report"], "timeseries.parquet", " has no 'quarter' column"),
    ("text_series", ["compare", "--at", "1"], "timeseries.parquet",
     ": column 'employment' holds text, not numbers"),
    ("no_rows", ["compare", "--at", "1"], "timeseries.parquet", " has no rows for the 60 successful runs"),
    ("no_rows", ["report"], "timeseries.parquet", " has no rows for the 60 successful runs"),
]


def _damage(folder: Path, how: str) -> None:
    runs, ts = pd.read_parquet(folder / "runs.parquet"), pd.read_parquet(folder / "timeseries.parquet")
    if how == "no_run_id":
        runs.drop(columns="run_id").to_parquet(folder / "runs.parquet")
    elif how == "text_outcome":
        runs.assign(little_giants="many").to_parquet(folder / "runs.parquet")
    else:
        changed = {"no_step": lambda: ts.drop(columns="step"),
                   "no_quarter": lambda: ts.drop(columns="quarter"),
                   "text_series": lambda: ts.assign(employment="many"),
                   "no_rows": lambda: ts.iloc[:0]}[how]()
        changed.to_parquet(folder / "timeseries.parquet")


@pytest.mark.parametrize(("how", "command", "table", "message"), TABLE_DAMAGE,
                         ids=[f"{how}-{command[0]}" for how, command, *_ in TABLE_DAMAGE])
def test_cli_results_tables_with_wrong_columns_are_named(tmp_path: Path, how: str, command: list[str],
                                                          table: str, message: str):
    folder = write_folder(tmp_path / "sweep", *synthetic(np.random.default_rng(5)))
    _damage(folder, how)
    result = CliRunner().invoke(_app(), [command[0], str(folder), *command[1:]])
    assert_one_line_error(result, f"{folder / table}{message}")
    assert not (folder / "report.html").exists()


def test_cli_compare_at_a_quarter_names_the_missing_time_series(folder: Path):
    (folder / "timeseries.parquet").unlink()
    result = CliRunner().invoke(_app(), ["compare", str(folder), "--at", "1"])
    assert_one_line_error(result, f"{folder} has no timeseries.parquet")


def test_report_shows_a_manifest_whose_versions_are_not_a_mapping(folder: Path, tmp_path: Path):
    meta = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**meta, "versions": ["0.1.0"]}))
    text = write_report(folder, tmp_path / "report.html").read_text()
    assert "&quot;0.1.0&quot;" in text  # in the full manifest


def test_a_sweep_whose_runs_all_failed_still_says_so(tmp_path: Path):
    """Its time series has no rows and only the run ids (as the store writes it): no missing
    'step' column, but no successful runs."""
    runs, _ = synthetic(np.random.default_rng(1), n=2)
    runs = runs[["run_id", "policy", "sample", "replicate", "seed"]].assign(status="failed", error="boom")
    folder = write_folder(tmp_path / "failed", runs, runs.iloc[:0, :5])
    for args in (["compare", str(folder)], ["compare", str(folder), "--at", "1"], ["report", str(folder)]):
        assert_one_line_error(CliRunner().invoke(_app(), args), "no successful runs")


def test_cli_sensitivity_names_a_wrong_morris_sample_matrix(tmp_path: Path):
    folder = _design_folder(tmp_path, "morris")
    manifest = folder / "manifest.json"
    meta = json.loads(manifest.read_text())
    meta["design"]["X"] = [[0.1, 0.2]]
    manifest.write_text(json.dumps(meta))
    result = CliRunner().invoke(_app(), ["sensitivity", str(folder)])
    assert_one_line_error(result, f"{manifest}: design.X is not a matrix of ")


def test_analysis_knows_the_runs_tables_timing_columns():
    """analysis keeps its own copy (importing the runner would load the model into every analysis
    command): the two must name the same columns, or a timing column would count as an outcome."""
    from smegrowth import analysis, runner

    assert tuple(runner.TIMING_COLUMNS) == analysis.TIMING_COLUMNS


def _single_policy_folder(tmp_path: Path, design_type: str) -> Path:
    """One policy 'g' over three sample points whose effects on little giants are 0, 5 and 10."""
    runs, ts = synthetic(np.random.default_rng(3), effects={"0": 0.0, "0.5": 5.0, "1": 10.0})
    for frame in (runs, ts):
        frame["sample"] = frame["policy"].map({"0": 0, "0.5": 1, "1": 2})
        frame["policy"] = "g"
    points = [{"levers.reloan.scale": x} for x in (0.0, 0.5, 1.0)]
    return write_folder(tmp_path / design_type, runs, ts, design={"type": design_type, "points": points})


def test_a_grid_sweep_of_one_policy_is_compared_point_by_point_against_its_first_point(tmp_path: Path):
    """The bundled sweep_reloan_grid has one policy and four points of the lever's scale, the first 0
    (off): compare and report take each point as a policy, paired by replicate, against the first."""
    folder = _single_policy_folder(tmp_path, "grid")
    table = analysis.compare(folder, outcomes=["little_giants"]).set_index("policy")
    assert sorted(table.index) == ["reloan.scale=0.5", "reloan.scale=1"]
    for policy, effect in (("reloan.scale=0.5", 5.0), ("reloan.scale=1", 10.0)):
        row = table.loc[policy]
        assert row["ci_low"] < effect < row["ci_high"] and row["ci_high"] - row["ci_low"] < 4.0
    result = CliRunner().invoke(_app(), ["compare", str(folder), "--format", "md"])
    assert result.exit_code == 0, result.output
    assert "Effect vs 'reloan.scale=0'" in result.stdout and "| reloan.scale=1 |" in result.stdout
    result = CliRunner().invoke(_app(), ["report", str(folder), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert "baseline <b>reloan.scale=0</b>" in (tmp_path / "r.html").read_text()


def test_a_sampled_sweep_of_one_policy_says_there_is_nothing_to_compare(tmp_path: Path):
    folder = _single_policy_folder(tmp_path, "lhs")
    assert_one_line_error(CliRunner().invoke(_app(), ["compare", str(folder)]),
                          "holds one policy, 'g': nothing to compare it with (sobol and morris sweeps "
                          "are analysed by `smegrowth sensitivity`)")
