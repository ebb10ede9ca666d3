"""The Python face of scenarios and sweeps: the same machinery as the ``smegrowth`` command.

Example::

    import smegrowth.api as sg

    ts = sg.run_scenario("scenarios/baseline.yaml")            # quarterly outcomes, in memory
    runs = sg.sweep("scenarios/sweep_reloan_grid.yaml", workers=2)  # one row per run, on disk too
    runs.groupby("lever.reloan.scale")["little_giants"].mean()
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .scenario import Scenario, ScenarioError, load_scenario
from .store import TIMESERIES_TABLE
from .sweep import SweepReport, run_single, run_sweep

__all__ = ["RunFailedError", "Scenario", "ScenarioError", "load_scenario", "run_scenario", "sweep",
           "sweep_report"]


class RunFailedError(RuntimeError):
    """A single run written to a results folder raised; the error and traceback are on disk."""


def _scenario(scenario_or_path: Scenario | str | Path) -> Scenario:
    if isinstance(scenario_or_path, Scenario):
        return scenario_or_path
    return load_scenario(scenario_or_path)


def run_scenario(scenario_or_path: Scenario | str | Path, out: str | Path | None = None,
                 ) -> pd.DataFrame:
    """Run a scenario (no design) once and return its quarterly time series.

    With ``out`` the run is also written to that results folder (manifest, run files, tables);
    a run already there is read back instead of being made again.

    Raises:
        ScenarioError: bad scenario, or a file that defines a sweep.
        RunFailedError: the run raised while writing to ``out`` (without ``out``, the model's own
            exception propagates).
    """
    scenario = _scenario(scenario_or_path)
    if scenario.is_sweep:
        raise scenario.error(("design",), "this file defines a sweep; use sweep()")
    if out is None:
        ts, _, _ = run_single(scenario)
        return ts
    report = run_sweep(scenario, out=out, workers=1, progress=False)
    row = report.runs.iloc[0]
    if row["status"] != "ok":
        raise RunFailedError(f"run {row['run_id']} failed: {row['error']} (see {out}/runs/)")
    ts = pd.read_parquet(Path(out) / TIMESERIES_TABLE)
    return ts.drop(columns=["run_id", "policy", "sample", "replicate", "seed"])


def sweep_report(scenario_or_path: Scenario | str | Path, workers: int | None = None,
                 scheduler: str | None = None, out: str | Path | None = None, fresh: bool = False,
                 dask_local: bool = False, progress: bool = True) -> SweepReport:
    """Like :func:`sweep`, returning the full :class:`SweepReport` (folder, counts, failures)."""
    return run_sweep(_scenario(scenario_or_path), out=out, workers=workers, scheduler=scheduler,
                     dask_local=dask_local, fresh=fresh, progress=progress)


def sweep(scenario_or_path: Scenario | str | Path, workers: int | None = None,
          scheduler: str | None = None, out: str | Path | None = None, fresh: bool = False,
          dask_local: bool = False, progress: bool = True) -> pd.DataFrame:
    """Run a sweep (or resume it) and return its runs table, one row per run.

    Runs go to ``out`` (default ``results/<name>``); ``workers`` local processes (default all
    CPUs, 1 = in this process), or a Dask cluster at ``scheduler`` or a local one
    (``dask_local``). Failed runs are rows with ``status == "failed"``.
    """
    return sweep_report(scenario_or_path, workers, scheduler, out, fresh, dask_local,
                        progress).runs
