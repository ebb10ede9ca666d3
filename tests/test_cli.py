"""The smegrowth command: help, run, check, scenarios, sweep, and one-line errors with exit 2."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from smegrowth.cli import app, scenarios_dir
from typer.testing import CliRunner

BUNDLED = sorted(scenarios_dir().glob("*.yaml"))


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in an empty folder, so we can see that nothing was written to results/."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- help and listing -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["run"], ["sweep"], ["check"], ["scenarios"]])
def test_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage: smegrowth" in result.stdout


def test_help_shows_what_the_defaults_are():
    text = " ".join(invoke("run", "--help").stdout.split())
    assert "[default: the bundled baseline]" in text and "[default: results/<name>]" in text
    text = " ".join(invoke("sweep", "--help").stdout.split())
    assert "[default: all CPUs]" in text


def test_scenarios_lists_the_bundled_files_with_descriptions():
    result = invoke("scenarios")
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "baseline.yaml" in text and "sweep_reloan_grid.yaml" in text
    assert "before the October 2024 announcements" in text


def test_scenarios_folder_from_environment(tmp_path, monkeypatch):
    write(tmp_path, "mine.yaml", "name: mine\ndescription: my own scenario\nscale: 0.01\n")
    write(tmp_path, "typo.yaml", "name: typo\nscael: 0.01\n")
    monkeypatch.setenv("SMEGROWTH_SCENARIOS", str(tmp_path))
    result = invoke("scenarios")
    assert result.exit_code == 0
    assert "mine.yaml" in result.stdout and "my own scenario" in result.stdout
    assert "baseline.yaml" not in result.stdout
    assert "invalid line 2: scael: unknown key" in " ".join(result.stdout.split())


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_every_bundled_scenario_checks(path):
    result = invoke("check", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"OK: {path}: ")
    assert len(result.stdout.splitlines()) == 1


def test_bundled_baseline_is_as_described():
    baseline = scenarios_dir() / "baseline.yaml"
    assert baseline in BUNDLED
    result = invoke("check", "baseline")  # a bare name finds the bundled file
    assert result.exit_code == 0
    assert "scenario 'baseline', 1 policy x 1 sample x 1 replicate = 1 run, scale 0.1, 24 " \
           "quarters" in result.stdout


# --- run ------------------------------------------------------------------------------------------


def test_run_without_a_file_runs_the_bundled_baseline_and_writes_nothing(in_tmp):
    result = invoke("run", "--quarters", "2", "--scale", "0.01")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "baseline: 2 quarters at scale 0.01, seed 20241014" in out
    for label in ("Little giants", "Unicorns", "SRDI firms", "Revenue, bn yuan", "Employment",
                  "Investment, bn yuan", "R&D, bn yuan", "Fiscal cost, bn yuan"):
        assert label in out
    assert "2025Q2" in out
    assert list(in_tmp.iterdir()) == []


def test_run_with_out_writes_a_results_folder_and_resumes_from_it(in_tmp):
    first = invoke("run", "baseline", "--quarters", "2", "--scale", "0.01", "--out", "r")
    assert first.exit_code == 0, first.stderr
    assert (in_tmp / "r/runs.parquet").exists() and (in_tmp / "r/manifest.json").exists()
    again = invoke("run", "baseline", "--quarters", "2", "--scale", "0.01", "--out", "r")
    assert again.exit_code == 0
    assert again.stdout.split("\n", 2)[2] == first.stdout.split("\n", 2)[2]  # same table body
    changed = invoke("run", "baseline", "--quarters", "3", "--scale", "0.01", "--out", "r")
    assert_one_line_error(changed, "different version", "--fresh")
    fresh = invoke("run", "baseline", "--quarters", "3", "--scale", "0.01", "--out", "r", "--fresh")
    assert fresh.exit_code == 0 and "2025Q3" in fresh.stdout


def test_run_and_sweep_turn_the_garbage_collector_on_again(in_tmp, tmp_path):
    """The commands import the model with the collector off (what the imports make lives as long as
    the process) and must turn it on again: an in-process sweep of thousands of runs relies on it to
    free each model's reference cycles."""
    assert gc.isenabled()
    result = invoke("run", "--quarters", "2", "--scale", "0.01")
    assert result.exit_code == 0, result.stderr
    assert gc.isenabled()
    sweep = tmp_path / "two.yaml"
    sweep.write_text("name: two\nscale: 0.01\nquarters: 2\ndesign:\n  replicates: 2\n", encoding="utf-8")
    result = invoke("sweep", str(sweep), "--workers", "1", "--out", "s")
    assert result.exit_code == 0, result.stderr
    assert gc.isenabled()


def test_run_refuses_a_sweep_file():
    result = invoke("run", str(scenarios_dir() / "sweep_reloan_grid.yaml"))
    assert_one_line_error(result, "sweep_reloan_grid.yaml:", "design: this file defines a sweep")


# --- bad input: one line, exit 2, no results folder -----------------------------------------------

BAD = {
    "unknown_key.yaml": ("name: x\nscale: 0.01\nhorizon: 8\n", ":3: horizon: unknown key"),
    "bad_value.yaml": ("name: x\nscale: -1\n", ":2: scale: Input should be greater than 0"),
    "bad_lever.yaml": ("name: x\nscale: 0.01\nlevers:\n  reloan: {quota: lots}\n",
                       ":4: levers.reloan.quota: Input should be a valid number"),
    "bad_param.yaml": ("name: x\nscale: 0.01\nparameters:\n  credit.max_pdd: 0.1\n",
                       ":4: parameters.credit.max_pdd: unknown parameter"),
    "duplicate.yaml": ("name: x\nscale: 0.01\nscale: 0.02\n", ":3: duplicate key 'scale'"),
    "empty.yaml": ("", ": empty scenario file"),
    "list.yaml": ("- a\n", ":1: a scenario must be a mapping"),
    "syntax.yaml": ("name: [x\n", "invalid YAML"),
    "missing_parent.yaml": ("name: x\nextends: nowhere.yaml\n", ":2: extends: file not found"),
    "bad_design.yaml": ("name: x\nscale: 0.01\ndesign:\n  type: lhs\n  uncertainties:\n"
                        "    credit.max_pd: {low: 0.05, high: 0.1}\n",
                        ":4: design.type: a lhs design needs `samples`"),
}


@pytest.mark.parametrize("command", ["check", "sweep", "run"])
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_is_one_line_exit_2_and_leaves_no_folder(in_tmp, command, name):
    text, fragment = BAD[name]
    write(in_tmp, name, text)
    result = invoke(command, name)
    assert_one_line_error(result, f"error: {name}", fragment)
    assert sorted(p.name for p in in_tmp.iterdir()) == [name]


def test_non_utf8_binary_and_missing_files(in_tmp):
    (in_tmp / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (in_tmp / "binary.yaml").write_bytes(bytes(range(256)))
    assert_one_line_error(invoke("sweep", "latin1.yaml"), "latin1.yaml:1: not UTF-8 text")
    assert_one_line_error(invoke("sweep", "binary.yaml"), "binary.yaml: binary content")
    assert_one_line_error(invoke("sweep", "nope.yaml"), "nope.yaml: file not found")
    assert_one_line_error(invoke("sweep", "."), ".: is a folder")
    assert not (in_tmp / "results").exists()


@pytest.mark.parametrize("args, fragment", [
    (["sweep", "S", "--workers", "0"], "Invalid value for '--workers'"),
    (["sweep", "S", "--workers", "two"], "Invalid value for '--workers'"),
    (["sweep", "S", "--scheduler", "tcp://127.0.0.1:1", "--dask-local"],
     "give either --scheduler or --dask-local, not both"),
    (["sweep"], "Missing argument 'file'"),
    (["run", "S", "--quarters", "0"], "Invalid value for '--quarters'"),
    (["run", "S", "--scale", "11"], "Invalid value for '--scale': must be above 0 and at most 10, got 11"),
    (["run", "S", "--scale", "nan"], "Invalid value for '--scale': must be a finite number, got nan"),
    (["run", "S", "--scale", "-inf"], "Invalid value for '--scale': must be a finite number, got -inf"),
    (["run", "S", "--scale", "0"], "Invalid value for '--scale': must be above 0 and at most 10, got 0"),
    (["validate", "--scale", "nan"], "Invalid value for '--scale': must be a finite number, got nan"),
    (["validate", "--scale", "0.0005"], "must be at least 0.001 and at most 10, got 0.0005"),
    (["run", "S", "--seed", "-3"], "Invalid value for '--seed'"),
    # values the options pass but the scenario refuses: the option is named, not the file's line
    (["run", "S", "--seed", "99999999999999999999999"], "error: --seed: Input should be less than or equal to"),
    (["run", "S", "--scale", "0.000001"], "error: --scale: scale 1e-06 simulates no firms"),
    (["run", "--frobnicate"], "No such option: --frobnicate"),
    (["run", ""], "the scenario file name is empty"),
    (["check", " "], "the scenario file name is empty"),
    (["frobnicate"], "No such command 'frobnicate'"),
])
def test_bad_arguments_are_one_line_exit_2(in_tmp, args, fragment):
    write(in_tmp, "S", "name: s\nscale: 0.01\nquarters: 1\n")
    result = invoke(*args)
    assert_one_line_error(result, fragment)
    assert not (in_tmp / "results").exists()


def test_locked_results_folder(in_tmp):
    write(in_tmp, "s.yaml", "name: s\nscale: 0.01\nquarters: 1\n")
    assert invoke("sweep", "s.yaml", "--workers", "1").exit_code == 0
    (in_tmp / "results/s/.lock").write_text(f"{os.getpid()} {os.uname().nodename}\n")
    assert_one_line_error(invoke("sweep", "s.yaml", "--workers", "1"),
                          "results/s is in use by another sweep")


def test_not_a_results_folder(in_tmp):
    write(in_tmp, "s.yaml", "name: s\nscale: 0.01\nquarters: 1\n")
    (in_tmp / "docs").mkdir()
    (in_tmp / "docs/thesis.tex").write_text("...")
    for extra in ([], ["--fresh"]):
        result = invoke("sweep", "s.yaml", "--out", "docs", *extra)
        assert_one_line_error(result, "docs is not empty and is not a smegrowth results folder")
    assert [p.name for p in (in_tmp / "docs").iterdir()] == ["thesis.tex"]


# --- sweep end to end -----------------------------------------------------------------------------


def test_sweep_and_resume_through_the_cli(in_tmp):
    write(in_tmp, "g.yaml", """
        name: g
        scale: 0.01
        quarters: 2
        levers: {reloan: {}}
        design:
          type: grid
          replicates: 2
          uncertainties:
            levers.reloan.scale: [0.0, 1.0]
    """)
    result = invoke("sweep", "g.yaml", "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("sweep 'g': 4/4 runs ok in ")
    assert (in_tmp / "results/g/runs.parquet").exists()
    again = invoke("sweep", "g.yaml", "--workers", "1")
    assert again.exit_code == 0 and "4 already done" in again.stdout
    check = invoke("check", "g.yaml")
    assert check.stdout == ("OK: g.yaml: grid sweep 'g', 1 policy x 2 samples x 2 replicates = "
                            "4 runs, scale 0.01, 24 quarters\n".replace("24", "2"))


def test_failed_runs_exit_1_with_a_summary(tmp_path):
    """Through the real console script, with a lever from the scenario's own folder (imports:)."""
    write(tmp_path, "my_levers.py", """
        from smegrowth.levers import Lever, LeverSettings, register_lever

        class Settings(LeverSettings):
            explode: bool = False

        @register_lever
        class Fuse(Lever):
            name = "test_cli_fuse"
            Settings = Settings

            def act(self, model):
                if self.settings.explode:
                    raise ValueError("fuse blown")
    """)
    write(tmp_path, "fuse.yaml", """
        name: fuse
        scale: 0.01
        quarters: 2
        imports: [my_levers]
        design:
          policies:
            baseline: {}
            safe: {levers: {test_cli_fuse: {}}}
            blown: {levers: {test_cli_fuse: {explode: true}}}
    """)
    script = Path(sys.executable).with_name("smegrowth")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "smegrowth.cli"]
    done = subprocess.run([*command, "sweep", "fuse.yaml", "--workers", "2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "failed: blown-s0000-r000: ValueError: fuse blown" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.startswith("sweep 'fuse': 2/3 runs ok, 1 failed in ")
    bad = subprocess.run([*command, "check", "missing.yaml"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert (bad.returncode, bad.stderr) == (2, "error: missing.yaml: file not found\n")
