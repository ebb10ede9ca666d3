"""Validation runs: statistics from a small model run, their bookkeeping, and the ``validate``
command and script that write the table and the figure panel."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from smegrowth import EnterpriseModel
from smegrowth.firm_state import Kind, Status
from smegrowth.validation import load_targets
from smegrowth.validation.simulate import (
    FLOW_STATISTICS,
    RunRecord,
    firm_growth,
    firm_years,
    model_statistics,
    record_run,
    run_replicate,
    yearly_flows,
)
from typer.testing import CliRunner

SCALE, QUARTERS, SEED = 0.02, 8, 5
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def replicate():
    return run_replicate(SCALE, SEED, QUARTERS)


@pytest.fixture(scope="module")
def record():
    from smegrowth.runner import release

    model = EnterpriseModel(scale=SCALE, rng=SEED)
    try:
        return record_run(model, QUARTERS)
    finally:
        release(model)


# --- statistics from a run ----------------------------------------------------------------------


def test_every_target_statistic_is_computed_and_finite(replicate):
    stats = replicate.statistics
    for target in load_targets():
        assert target.statistic in stats, target.statistic
        value = stats[target.statistic]
        if target.statistic == "new_unicorns_share_ai_semis_energy" and math.isnan(value):
            # a share of nothing: allowed only when no unicorn was born in the year
            assert stats["new_unicorns_per_year"] == 0
            continue
        assert np.isfinite(value), (target.statistic, value)


def test_statistics_lie_in_their_natural_ranges(replicate):
    s = replicate.statistics
    assert s["growth_laplace_preferred"] in (0.0, 1.0)
    assert 0 < s["subbotin_shape"] < 5
    assert 0.0 <= s["approval_rate_mean"] <= 1.0
    assert 0.0 <= s["exit_rate_per_year"] < 1.0
    assert 0.0 < s["loan_rate_mean"] < 0.2
    assert s["ccdf_exponent_revenue"] > 0 and s["ccdf_exponent_employment"] > 0
    assert s["srdi_firms_start"] == pytest.approx(141_000, rel=0.02)
    assert s["growth_n"] > 100


def test_model_statistics_accepts_a_fresh_model_and_matches_the_replicate(replicate):
    stats = model_statistics(EnterpriseModel(scale=SCALE, rng=SEED), quarters=QUARTERS)
    for key, value in replicate.statistics.items():
        assert stats[key] == pytest.approx(value, nan_ok=True), key


def test_record_run_needs_a_year_end():
    model = EnterpriseModel(scale=0.01, rng=1)
    model.step()
    with pytest.raises(ValueError, match="year-end"):
        record_run(model, 4)


# --- bookkeeping: the panel agrees with the model's own time series -----------------------------


def test_panel_counts_match_the_time_series(record):
    ts = record.timeseries
    for year, group in record.panel.groupby("year"):
        step = 4 * (year - record.start_year)
        row = ts.loc[ts["step"] == step].iloc[0]
        national = len(group) / record.scale
        assert national == pytest.approx(row["srdi_firms"] + row["unicorns"], abs=1e-6)


def test_exits_by_firm_year_match_the_time_series(record):
    growth = firm_growth(record)
    fy = firm_years(record, growth)
    flows = yearly_flows(record)
    ts = record.timeseries
    for k, year in enumerate(flows.index, start=1):
        exits_ts = ts.loc[(ts["step"] > 4 * (k - 1)) & (ts["step"] <= 4 * k), "exits"].sum()
        assert fy.loc[fy["year"] == year, "exited"].sum() / record.scale == pytest.approx(exits_ts)


def test_growth_uses_full_calendar_years_only(record):
    growth = firm_growth(record)
    assert growth["year"].min() == record.start_year + 2  # 2024 is not a simulated year
    assert np.isfinite(growth["growth"]).all()
    by_year = growth.groupby("year")["growth_demeaned"].mean()
    assert np.allclose(by_year, 0.0, atol=1e-12)


def test_flows_are_assigned_to_the_year_of_departure():
    """Synthetic record: departures in quarters 4 and 5 fall in 2025 and 2026."""
    steps = np.arange(9)
    ts = pd.DataFrame({
        "step": steps, "quarter": [f"q{i}" for i in steps],
        "srdi_firms": 100.0, "unicorns": 0.0, "little_giants": 10.0 + steps,
        "new_unicorns": 0.0, "unicorn_ipos": 0.0, "little_giant_ipos": 0.0, "ipos": 0.0,
        "loan_rate": 0.04, "approval_rate": 0.5, "exits": 0.0,
    })
    ts.loc[4, "exits"] = 2.0
    ts.loc[5, "exits"] = 2.0
    departures = pd.DataFrame({
        "firm_id": [1, 2, 3, 4],
        "kind": [Kind.LITTLE_GIANT, Kind.LITTLE_GIANT, Kind.SME, Kind.SME],
        "status": [Status.ACQUIRED, Status.ACQUIRED, Status.EXITED, Status.EXITED],
        "left": [4, 5, 4, 5],
    })
    panel = pd.DataFrame({
        "firm_id": [1, 2, 3, 4, 2, 4], "year": [2024] * 4 + [2025] * 2,
        "annual_revenue": 1.0, "employees": 1.0, "age_years": [1.0, 2.0, 3.0, 12.0, 3.0, 13.0],
        "kind": 0, "year_revenue": np.nan,
    })
    rec = RunRecord(scale=0.5, start_year=2024, panel=panel, departures=departures,
                    timeseries=ts, quarters=8)
    flows = yearly_flows(rec)
    assert list(flows.index) == [2025, 2026]
    assert flows.loc[2025, "little_giant_acquisitions_per_year"] == 2.0  # 1 firm / scale 0.5
    assert flows.loc[2026, "little_giant_acquisitions_per_year"] == 2.0
    assert flows.loc[2025, "little_giants_net_growth_per_year"] == 4.0
    assert flows.loc[2025, "exit_rate_per_year"] == pytest.approx(2.0 / 100.0)
    assert list(flows.columns) == list(FLOW_STATISTICS)
    fy = firm_years(rec, firm_growth(rec))
    exited = fy.set_index(["firm_id", "year"])["exited"]
    assert exited[(3, 2025)] and exited[(4, 2026)]
    assert not exited[(1, 2025)] and not exited[(4, 2025)]


# --- the command and the script ------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_app():
    from smegrowth.cli import app
    from smegrowth.validation_cli import register

    if not any(c.name == "validate" for c in app.registered_commands):
        register(app)
    return app


def test_validate_command_writes_the_table_and_the_panel(cli_app, tmp_path):
    out = tmp_path / "validation"
    result = CliRunner().invoke(cli_app, ["validate", "--seeds", "1", "--scale", str(SCALE),
                                          "--years", "2", "--out", str(out)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    table = pd.read_csv(out / "validation.csv")
    assert list(table["statistic"]) == [t.statistic for t in load_targets()]
    assert {"model_mean", "model_sd", "passed", "source", "low", "high"} <= set(table.columns)
    md = (out / "validation.md").read_text(encoding="utf-8")
    assert "| target |" in md and "Zipf tail of firm revenue" in md
    assert (out / "statistics.csv").stat().st_size > 0
    png = (out / "panel.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert "targets pass" in result.stdout


def test_validate_command_rejects_an_unknown_parameter(cli_app, tmp_path):
    result = CliRunner().invoke(cli_app, ["validate", "--seeds", "1", "--scale", "0.01",
                                          "--out", str(tmp_path), "--set", "credit.nope=1"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "credit.nope" in lines[0]
    assert not (tmp_path / "validation.csv").exists()


def test_validate_command_writes_all_its_files_or_none(cli_app, tmp_path):
    """An output it cannot write, a targets file it cannot read, or a target naming a statistic the
    model does not compute: one line, status 2, and no file of the validation written."""
    blocked = tmp_path / "blocked"
    (blocked / "panel.png").mkdir(parents=True)
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text("targets:\n  - {name: a, statistic: growth_sdd, target: [0, 1], source: me}\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("targets: []\n")
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    cases = [
        (["--out", str(a_file)], f"--out {a_file}: is a file, not a folder"),
        (["--out", str(blocked)], "panel.png: is a folder, not a file"),
        (["--out", str(tmp_path / "t1"), "--targets", str(tmp_path / "nosuch.yaml")],
         "--targets " + str(tmp_path / "nosuch.yaml") + ": No such file or directory"),
        (["--out", str(tmp_path / "t2"), "--targets", str(misspelt)],
         "target 'a': the model computes no statistic 'growth_sdd'; did you mean 'growth_sd'?"),
        (["--out", str(tmp_path / "t3"), "--targets", str(empty)],
         f"{empty}: the 'targets' list is empty: nothing to validate against"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(cli_app, ["validate", "--seeds", "1", "--scale", "0.002", "--years", "1",
                                              "--workers", "1", *args])
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and message in errors[0], result.stderr
        assert "Traceback" not in result.output
    assert [p.name for p in blocked.iterdir()] == ["panel.png"]
    assert not any((tmp_path / name).exists() for name in ("t1", "t2", "t3"))
    assert a_file.read_text() == "mine"


def test_experiment_script_runs(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("validate_script",
                                                  ROOT / "experiments" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.main(["--seeds", "1", "--scale", str(SCALE), "--years", "2",
                        "--out", str(tmp_path), "--workers", "1"])
    assert code == 0
    assert (tmp_path / "validation.csv").exists() and (tmp_path / "panel.png").exists()
    assert "| target |" in capsys.readouterr().out


def test_an_output_folder_that_cannot_be_written_to_is_found_before_the_runs(cli_app, tmp_path, monkeypatch):
    """A read-only folder (or one without write permission) is refused at once, not after minutes
    of runs; the message names the folder."""
    from smegrowth.validation import report

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(report.tempfile, "TemporaryFile", refused)
    monkeypatch.setattr(report, "run_replicates", lambda *a, **k: pytest.fail("ran before checking --out"))
    out = tmp_path / "locked"
    result = CliRunner().invoke(cli_app, ["validate", "--seeds", "1", "--scale", "0.002", "--years", "1",
                                          "--workers", "1", "--out", str(out)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: --out {out}: Permission denied"] == result.stderr.splitlines()[-1:]
    assert not out.exists()
