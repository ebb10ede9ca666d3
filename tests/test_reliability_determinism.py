"""Determinism: the same seed gives the same results whatever runs them and in whatever order.

* across executors and worker counts: in this process, a 3-worker process pool, a Dask
  LocalCluster (``tests/test_sweep.py`` compares a 2-worker pool and Dask with 2 workers);
* whatever ran before in the same process, and in whatever order the runs are made (no state
  leaks from one run into the next: Mesa's id counters, caches, random streams);
* across Python versions (3.11 with Mesa 3.3, 3.12 with Mesa 3.5): when
  ``SMEGROWTH_OTHER_PYTHON`` names another interpreter with smegrowth installed, the fixed sweep
  of ``tests/tools/cross_python_check.py`` must give the same fingerprint under both (skipped
  otherwise; CI sets it). No golden files: they would break at every recalibration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from smegrowth.executors import Executor, InProcess
from smegrowth.runner import execute, plan_runs
from smegrowth.scenario import load_scenario
from smegrowth.sweep import run_sweep

SWEEP = """
    name: determinism
    scale: 0.02
    quarters: 6
    seed: 99
    levers: {reloan: {}, trade_in: {}}
    design:
      type: lhs
      samples: 2
      replicates: 2
      policies:
        baseline: {levers: {reloan: {scale: 0.0}, trade_in: {scale: 0.0}}}
        package: {}
      uncertainties:
        credit.max_pd: {low: 0.06, high: 0.1}
        levers.reloan.quota: {low: 100000, high: 800000}
"""
TOOLS = Path(__file__).parent / "tools" / "cross_python_check.py"


def tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = pd.read_parquet(folder / "runs.parquet").drop(columns=["elapsed_s"])
    runs = runs.sort_values("run_id").reset_index(drop=True)
    ts = pd.read_parquet(folder / "timeseries.parquet").sort_values(["run_id", "step"])
    return runs, ts.reset_index(drop=True)


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("determinism") / "determinism.yaml"
    path.write_text(textwrap.dedent(SWEEP).lstrip(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(scenario_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "out"
    report = run_sweep(load_scenario(scenario_file), out=out, workers=1, progress=False)
    assert report.ok == 8
    return tables(out)


def assert_same(folder: Path, reference) -> None:
    runs, ts = tables(folder)
    assert_frame_equal(runs, reference[0])
    assert_frame_equal(ts, reference[1])


@pytest.mark.parametrize("how", ["pool-3", "dask-1"])
def test_executors_and_worker_counts_agree(scenario_file, reference, tmp_path, how):
    kind, workers = how.split("-")
    report = run_sweep(load_scenario(scenario_file), out=tmp_path / "out", workers=int(workers),
                       dask_local=kind == "dask", progress=False)
    assert report.ok == 8
    assert report.executor.startswith("Dask" if kind == "dask" else "process pool (3 workers)")
    assert_same(tmp_path / "out", reference)


class Reversed(Executor):
    """Makes the runs one after another in this process, last first."""

    description = "in-process, reversed"

    def map(self, fn, specs):
        yield from InProcess().map(fn, list(reversed(specs)))


def test_run_order_and_earlier_runs_do_not_matter(scenario_file, reference, tmp_path):
    """Runs made last-first, after unrelated runs in the same process, give the same tables."""
    scenario = load_scenario(scenario_file)
    for spec in plan_runs(scenario.with_overrides(seed=12345, quarters=3)).runs[:3]:
        execute(spec)  # leave whatever state a run leaves behind
    run_sweep(scenario, out=tmp_path / "out", executor=Reversed(), progress=False)
    assert_same(tmp_path / "out", reference)


def test_the_same_run_twice_in_one_process_is_identical(scenario_file):
    spec = plan_runs(load_scenario(scenario_file)).runs[-1]
    first, second = execute(spec), execute(spec)
    assert_frame_equal(first.timeseries, second.timeseries)
    assert first.summary == second.summary


def fingerprint(python: str) -> dict:
    done = subprocess.run([python, str(TOOLS)], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, f"{python}: {done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not os.environ.get("SMEGROWTH_OTHER_PYTHON"),
                    reason="set SMEGROWTH_OTHER_PYTHON to another interpreter with smegrowth")
def test_same_results_under_another_python():
    other = os.environ["SMEGROWTH_OTHER_PYTHON"]
    here, there = fingerprint(sys.executable), fingerprint(other)
    detail = f"\nhere:  {here['versions']}\nthere: {there['versions']}"
    assert here["runs"] == there["runs"] == 8
    assert here["rounded"] == there["rounded"], "different results" + detail
    assert here["exact"] == there["exact"], "same to 9 digits, different in the last bits" + detail
