"""Running a sweep: plan the runs, lock the results folder, run what is not yet done, consolidate.

A sweep that is interrupted (Ctrl-C, a killed process, a lost machine) resumes where it stopped
when the same command is given again: finished runs are skipped, failed ones retried. A run that
raises is recorded as failed and the rest go on. See :mod:`smegrowth.store` for the folder layout.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .executors import Executor, make_executor
from .runner import Plan, RunResult, plan_runs
from .scenario import Scenario
from .stop_signals import kept_stops
from .store import FORMAT, ResultsStore, check_folder, now, run_encoded

RESULTS_ROOT = Path("results")
"""Default parent of results folders, relative to the working directory."""
VERSIONED = ("smegrowth", "numpy", "pandas", "mesa", "scipy", "pyarrow", "pydantic", "SALib")


@dataclass
class SweepReport:
    """What a sweep did: its folder, its runs table and how many runs ended how."""

    name: str
    folder: Path
    runs: pd.DataFrame
    planned: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    elapsed: float = 0.0
    executor: str = ""
    interrupted: bool = False
    interruption: BaseException | None = None
    """What stopped an interrupted sweep (KeyboardInterrupt, or the CLI's SIGTERM exception)."""
    tables_updated: bool = True
    """False if a second stop came while the tables were being written: they are as they were."""
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def pending(self) -> int:
        """Runs neither finished nor failed (an interrupted sweep)."""
        return self.planned - int((self.runs["status"] == "ok").sum()) - self.failed_total

    @property
    def failed_total(self) -> int:
        """Failed runs in the folder (this session's and earlier ones not yet retried)."""
        return int((self.runs["status"] == "failed").sum()) if len(self.runs) else 0

    def line(self) -> str:
        """One-line summary for the terminal."""
        if not self.tables_updated:
            return (f"sweep '{self.name}': {self.ok} runs made and {self.failed} failed in this session, "
                    f"{self.skipped} done before; stopped again while the tables were written, so they "
                    f"are as they were, in {format_seconds(self.elapsed)} on "
                    f"{self.executor or 'no executor'} -> {self.folder}")
        done = int((self.runs["status"] == "ok").sum()) if len(self.runs) else 0
        parts = [f"{done}/{self.planned} runs ok"]
        if self.failed_total:
            parts.append(f"{self.failed_total} failed")
        if self.skipped:
            parts.append(f"{self.skipped} already done")
        if self.interrupted:
            parts.append(f"{self.pending} not yet run")
        return (f"sweep '{self.name}': {', '.join(parts)} in {format_seconds(self.elapsed)} "
                f"on {self.executor or 'no executor'} -> {self.folder}")


def format_seconds(seconds: float) -> str:
    """``0.4 s``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def default_folder(scenario: Scenario) -> Path:
    """``results/<name>`` under the working directory."""
    return RESULTS_ROOT / scenario.name


# --- provenance -----------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    """Versions of Python and the packages that determine results."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state() -> dict[str, Any]:
    """Commit of the smegrowth source checkout, and whether it has uncommitted changes."""
    where = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True,
                                  timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scenario_record(scenario: Scenario) -> dict[str, Any]:
    """The scenario as the manifest keeps it: file texts and hashes, and the resolved settings."""
    resolved = scenario.model_dump(mode="json")
    resolved_text = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    files = [{"path": s.display, "sha256": _sha256(s.text), "text": s.text}
             for s in scenario.sources]
    combined = "\n".join(f["sha256"] for f in files)
    imports = [imported_module_record(name) for name in scenario.imports]
    return {
        "file": files[0]["path"] if files else None,
        "text": files[0]["text"] if files else None,
        "sha256": _sha256(combined) if files else None,
        "files": files,
        "resolved": resolved,
        "resolved_sha256": _sha256(resolved_text),
        "imports": imports,
        "imports_sha256": _sha256("\n".join(m["sha256"] for m in imports)) if imports else None,
    }


def imported_module_record(name: str) -> dict[str, Any]:
    """A module of the scenario's ``imports:`` (a user's levers or firm kinds): its files and a hash
    of their contents, so that a sweep resumed after the module changed is refused, as one resumed
    after its scenario file changed is; a package counts every ``.py`` file under it."""
    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None)
    if origin is None:  # a namespace package or a module without source: nothing to hash
        return {"module": name, "files": [], "sha256": _sha256("")}
    path = Path(origin)
    paths = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
    digest = hashlib.sha256()
    for source in paths:
        digest.update(source.relative_to(path.parent).as_posix().encode() + b"\0" + source.read_bytes() + b"\0")
    return {"module": name, "files": [str(p) for p in paths], "sha256": digest.hexdigest()}


@functools.cache
def source_digest() -> str:
    """A hash of every ``.py`` file of the installed smegrowth package, taken at the first call in a
    process: in an editable install the model can change while its version number stays the same, and
    a sweep resumed after such an edit would mix runs of two models."""
    return imported_module_record(__name__.rpartition(".")[0])["sha256"]


def model_identity() -> dict[str, str]:
    """What decides a run's results besides its scenario and seed: smegrowth's version and source,
    and numpy's version (its random streams and mathematics). Python's and Mesa's versions do not
    (the determinism tests compare 3.11 with Mesa 3.3 and 3.12 with Mesa 3.5)."""
    from . import __version__

    return {"smegrowth": __version__, "source_sha256": source_digest(), "numpy": np.__version__}


def build_manifest(plan: Plan) -> dict[str, Any]:
    """Everything needed to know what a results folder holds and to make it again."""
    scenario = plan.scenario
    design = scenario.design
    return {
        "format": FORMAT,
        "name": scenario.name,
        "description": scenario.description,
        "created": now(),
        "scenario": scenario_record(scenario),
        "design": {
            "type": design.type if design else None,
            "method": design.type if design else None,
            "n_samples": len(plan.design.points),
            "replicates": len(plan.seeds),
            "uncertainties": plan.design.names,
            "points": plan.design.points,
            "problem": plan.design.problem,
        },
        "policies": {name: {"description": p.description, "levers": p.levers,
                            "parameters": p.parameters} for name, p in plan.policies.items()},
        "seeds": {"root": scenario.seed, "method": "numpy.random.SeedSequence(root).spawn(n)"
                  "[r].generate_state(1)[0]", "replicates": plan.seeds},
        "runs": [{**spec.meta(), "config_hash": spec.config_hash} for spec in plan.runs],
        "versions": versions(),
        "model": model_identity(),
        "git": git_state(),
        "platform": platform.platform(),
    }


# --- progress -------------------------------------------------------------------------------------


class Progress:
    """A rich progress bar with ETA when stderr is a terminal; otherwise a line every ~10 %."""

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.enabled = enabled and total > 0
        self.start = time.perf_counter()
        self._bar: Any = None
        self._next_line = 0.1
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[failed]}"), TimeElapsedColumn(),
                            TextColumn("ETA"), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(label, total=total, failed="")

    def add(self, runs: int) -> None:
        """``runs`` more runs to make (runs found damaged and made again)."""
        self.total += runs
        if self._bar is not None:
            self._bar.update(self._task, total=self.total)

    def update(self, result: RunResult) -> None:
        self.done += 1
        self.failed += 0 if result.ok else 1
        if not self.enabled:
            return
        if self._bar is not None:
            failed = f"[red]{self.failed} failed[/red]" if self.failed else ""
            self._bar.update(self._task, advance=1, failed=failed)
        elif self.done >= self._next_line * self.total or self.done == self.total:
            elapsed = time.perf_counter() - self.start
            eta = elapsed / self.done * (self.total - self.done)
            print(f"{self.done}/{self.total} runs, {self.failed} failed, "
                  f"{format_seconds(elapsed)} elapsed, ETA {format_seconds(eta)}",
                  file=sys.stderr, flush=True)
            while self._next_line * self.total <= self.done:
                self._next_line += 0.1

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


# --- the sweep ------------------------------------------------------------------------------------


def _peek_finished(folder: Path, manifest: dict[str, Any], fresh: bool) -> set[str]:
    """Runs already finished in ``folder`` (checked again under the lock); refuses early if the
    folder cannot be used, before any executor is started."""
    if check_folder(folder, manifest, fresh) is None:
        return set()
    return ResultsStore(folder).finished()


def run_sweep(
    scenario: Scenario,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    fresh: bool = False,
    progress: bool = True,
    executor: Executor | None = None,
) -> SweepReport:
    """Run every run of ``scenario`` not already in its results folder; consolidate the tables
    (unless every run was finished before and the tables are current: the runs table is then read back).

    Args:
        scenario: A validated scenario (see :func:`smegrowth.scenario.load_scenario`).
        out: Results folder; default ``results/<name>``.
        workers: Local processes (default: all CPUs; 1 runs in this process). With
            ``dask_local``, the local cluster's size.
        scheduler: Address of a Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
        dask_local: Start a Dask ``LocalCluster`` on 127.0.0.1.
        fresh: Delete the folder's old results first (needed when the scenario changed).
        progress: Show a progress bar (terminal) or progress lines.
        executor: An executor to use instead of the options above.

    Raises:
        StoreError: the folder is locked, made from another scenario or not a results folder.
        StoreWriteError: the folder cannot be written (disk full, read-only); finished runs
            are safe and the same call resumes.
        ExecutorError: the executor cannot start.
        SweepInterrupted: (a KeyboardInterrupt) after Ctrl-C, once the finished runs are safe
            and the tables consolidated.
    """
    plan = plan_runs(scenario)
    folder = Path(out) if out is not None else default_folder(scenario)
    manifest = build_manifest(plan)
    already = _peek_finished(folder, manifest, fresh)
    pending = [s for s in plan.runs if s.run_id not in already]
    start = time.perf_counter()
    own_executor = executor is None and bool(pending)

    def start_executor(runs: int) -> Executor:
        return make_executor(workers, scheduler, dask_local, runs=runs)

    if own_executor:
        executor = start_executor(len(pending))
    session = {"executor": executor.description if executor else "none",
               "runs_pending": len(pending)}
    report = SweepReport(scenario.name, folder, pd.DataFrame(), len(plan.runs),
                         executor=session["executor"])
    try:
        with kept_stops() as stops, ResultsStore.open(folder, manifest, fresh=fresh, session=session) as store:
            done = store.finished(plan.runs)
            todo = [s for s in plan.execution_order() if s.run_id not in done]
            report.skipped = len(plan.runs) - len(todo)
            by_id = {s.run_id: s for s in plan.runs}
            bar = Progress(len(todo), scenario.name, enabled=progress)
            try:
                for _ in range(2):  # a second pass remakes runs found damaged on consolidation
                    if todo and executor is None:
                        executor, own_executor = start_executor(len(todo)), True
                        report.executor = executor.description
                    for result in executor.map(run_encoded, todo) if todo else ():
                        store.write(by_id[result.run_id], result, report.ok + report.skipped)
                        bar.update(result)
                        if result.ok:
                            report.ok += 1
                        else:
                            report.failed += 1
                            error = result.error or {}
                            report.failures.append((result.run_id,
                                                    f"{error.get('type')}: {error.get('message')}"))
                        if stops:  # a Ctrl-C or SIGTERM that Python dropped in a finalizer
                            raise stops[0]
                    if stops:
                        raise stops[0]
                    if own_executor and executor is not None:
                        # no more runs for now: its workers exit while the tables are consolidated
                        executor.close(wait=False)
                        executor = None
                    made = {s.run_id for s in todo}
                    current = None if made else store.current_runs_table(plan.runs)  # a finished sweep again
                    report.runs = current if current is not None else store.consolidate(plan.runs)
                    damaged = set(store.quarantined) & (set(done) | made)
                    store.quarantined.clear()
                    if not damaged:
                        break
                    report.skipped -= len(damaged & set(done))
                    report.ok -= len(damaged & made)
                    done = done - damaged
                    todo = [s for s in plan.execution_order() if s.run_id in damaged]
                    bar.add(len(todo))
            except KeyboardInterrupt as exc:
                report.interrupted, report.interruption = True, exc
                if own_executor and executor is not None:
                    executor.abort()
                try:
                    report.runs = store.consolidate(plan.runs)
                except KeyboardInterrupt:  # stopped again: before the tables were replaced, or after
                    if store.consolidated is None:
                        report.tables_updated = False
                    else:
                        report.runs = store.consolidated
            finally:
                bar.close()
                report.elapsed = time.perf_counter() - start
    finally:  # an executor of ours still open here was stopped by an error or an interrupt
        if own_executor and executor is not None and not report.interrupted:
            executor.abort()  # (the interrupt has aborted it already)
    if report.interrupted:
        raise SweepInterrupted(report)
    return report


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; finished runs are safe. ``report`` says how far it got."""

    def __init__(self, report: SweepReport) -> None:
        super().__init__(report.line())
        self.report = report


def run_single(scenario: Scenario) -> tuple[pd.DataFrame, dict[str, float], float]:
    """One run of a scenario without a design, here and now: time series, summary, seconds.

    Errors from the model propagate (there is no sweep to carry on).
    """
    from .runner import execute

    if scenario.is_sweep:
        raise scenario.error(("design",), "this file defines a sweep; run it with "
                             "`smegrowth sweep`")
    plan = plan_runs(scenario)
    result = execute(plan.runs[0])
    assert result.timeseries is not None and result.summary is not None
    return result.timeseries, result.summary, result.elapsed

