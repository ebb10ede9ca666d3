"""Reliability under faults: killed workers, signals, a full disk, read-only and damaged folders,
two sweeps at once.

Every test ends the same way: the runs that had finished are still there, and the sweep, given the
same command again, leaves the same ``runs.parquet`` and ``timeseries.parquet`` (timing columns
aside) as a sweep that was never disturbed. Faults are injected for real where that is cheap
(signals to real processes, a worker killed with SIGKILL) and by monkeypatching the atomic writer
where the machine cannot provide them (a full disk; a read-only folder, since the tests run as
root). Each injected fault is counted; ``pytest -s`` prints the counts at the end of the module
and ``$SMEGROWTH_RELIABILITY_LOG``, if set, names a file they are appended to.
"""

from __future__ import annotations

import errno
import gc
import json
import multiprocessing.queues
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from smegrowth import store as store_module
from smegrowth.cli import app
from smegrowth.levers import Lever, LeverSettings, register_lever
from smegrowth.runner import plan_runs
from smegrowth.scenario import load_scenario
from smegrowth.store import ResultsStore, StoreError, StoreWriteError
from smegrowth.sweep import SweepInterrupted, run_sweep
from typer.testing import CliRunner

TIMING = ["elapsed_s"]
COUNTS: Counter[str] = Counter()


def record(kind: str, label: str, n: int = 1) -> None:
    """Count ``n`` injected faults or tried inputs of a kind, for the reliability note."""
    COUNTS[f"{kind}: {label}"] += n


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    faults = sum(n for k, n in COUNTS.items() if k.startswith("fault"))
    print(f"\n[reliability] {__name__}: {faults} faults injected: "
          + "; ".join(f"{k.split(': ', 1)[1]} x{n}" for k, n in sorted(COUNTS.items())))
    log = os.environ.get("SMEGROWTH_RELIABILITY_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"module": __name__, "counts": dict(COUNTS)}) + "\n")

SWEEP = """
    name: faults
    scale: 0.02
    quarters: 6
    seed: 5
    levers: {reloan: {}}
    design:
      type: grid
      replicates: 16
      policies:
        baseline: {levers: {reloan: {scale: 0.0}}}
        reloan: {}
"""
"""32 runs of about 0.05 s each: long enough to be interrupted, short enough to redo."""
RUNS = 32


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs table (without timing) and the time series, sorted by run."""
    runs = pd.read_parquet(folder / "runs.parquet").drop(columns=TIMING)
    runs = runs.sort_values("run_id").reset_index(drop=True)
    ts = pd.read_parquet(folder / "timeseries.parquet").sort_values(["run_id", "step"])
    return runs, ts.reset_index(drop=True)


def assert_same_tables(folder: Path, reference: Path) -> None:
    got, expected = tables(folder), tables(reference)
    assert_frame_equal(got[0], expected[0])
    assert_frame_equal(got[1], expected[1])


def finished(folder: Path) -> int:
    runs = folder / "runs"
    if not runs.exists():
        return 0
    return sum(1 for p in runs.glob("*.arrow") if not p.name.endswith(".ts.arrow")
               and not p.name.startswith("."))


def assert_clean(folder: Path) -> None:
    """No lock, no temporary files: nothing half-written is left behind."""
    assert not (folder / ".lock").exists()
    assert not [p for p in folder.rglob("*.tmp")], list(folder.rglob("*.tmp"))


def resume(path: Path, out: Path, workers: int = 1):
    return run_sweep(load_scenario(path), out=out, workers=workers, progress=False)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep made without any fault, in this process: (scenario file, results folder)."""
    folder = tmp_path_factory.mktemp("reference")
    path = write(folder, "faults.yaml", SWEEP)
    report = resume(path, folder / "out")
    assert report.ok == RUNS
    return path, folder / "out"


@pytest.fixture
def scenario(tmp_path, reference):
    """A copy of the scenario file in this test's folder."""
    return Path(shutil.copy(reference[0], tmp_path / "faults.yaml"))


# --- real processes -------------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "smegrowth.cli", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_for_runs(proc: subprocess.Popen, folder: Path, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while finished(folder) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no {n} runs within {timeout} s"
        time.sleep(0.005)


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the children of ``pid``."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != pid:
                continue
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        out.append((int(stat.parent.name), cmd))
    return out


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the children of ``pid``, their children, and so on."""
    found = children(pid)
    return found + [d for child, _ in found for d in descendants(child)]


def pool_workers(pid: int) -> list[int]:
    """The process pool's workers under sweep process ``pid``: spawned by it, or forked by its
    fork server."""
    out = []
    for child, cmd in children(pid):
        if "spawn_main" in cmd:
            out.append(child)
        elif "multiprocessing.forkserver" in cmd:
            out += [worker for worker, _ in children(child)]
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_ctrl_c_while_the_fork_server_loads_the_model_prints_no_traceback(tmp_path, scenario):
    """The terminal's Ctrl-C reaches every process of the sweep, the fork server too while it still
    imports the model (about a second): it ignores it there, and the sweep stops with one line."""
    proc = cli("sweep", str(scenario), "--workers", "2", "--out", "out", cwd=tmp_path)
    deadline = time.monotonic() + 30
    while not any("multiprocessing.forkserver" in cmd for _, cmd in children(proc.pid)):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.002)
    time.sleep(0.2)  # well inside its imports
    os.killpg(proc.pid, signal.SIGINT)
    record("fault", "Ctrl-C while the fork server starts")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert [line for line in stderr.splitlines() if line.strip()] == [
        line for line in stderr.splitlines() if line.startswith("interrupted: ")
    ], stderr


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_killed_worker_costs_no_run(tmp_path, scenario, reference):
    """SIGKILL one worker of a 2-worker pool mid-sweep: the pool is replaced, the runs it held are
    made again, and the sweep finishes with every run ok."""
    proc = cli("sweep", str(scenario), "--workers", "2", "--out", "out", cwd=tmp_path)
    wait_for_runs(proc, tmp_path / "out", 3)
    workers = pool_workers(proc.pid)
    assert workers, descendants(proc.pid)
    os.kill(workers[0], signal.SIGKILL)
    record("fault", "worker SIGKILL")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert f"{RUNS}/{RUNS} runs ok" in stdout and "failed" not in stdout, stdout + stderr
    assert "Traceback" not in stderr
    assert_clean(tmp_path / "out")
    assert_same_tables(tmp_path / "out", reference[1])


def write_half_a_result(hold_the_lock: bool) -> None:
    """In a pool worker: leave in the pool's result pipe what a worker killed while it sends a result
    leaves (a run's files fill several pipe buffers): a frame header and a few bytes of the frame,
    with the pipe's lock held if asked, as that worker held it."""
    queue = next(o for o in gc.get_objects() if type(o) is multiprocessing.queues.SimpleQueue)
    if hold_the_lock and queue._wlock is not None:
        queue._wlock.acquire()
    os.write(queue._writer.fileno(), struct.pack("!i", 1_000_000) + b"partial")


class SuicideSettings(LeverSettings):
    die: bool = False
    while_sending: bool = False


@register_lever
class SuicideLever(Lever):
    """A test lever whose run kills its own worker process (like the OOM killer would); with
    ``while_sending``, half-way through sending a result."""

    name = "test_reliability_suicide"
    Settings = SuicideSettings

    def act(self, model) -> None:
        if self.settings.die and model.quarter >= 1:
            if self.settings.while_sending:
                write_half_a_result(hold_the_lock=True)
            os._exit(9)


def suicide_scenario(folder: Path, while_sending: bool = False) -> Path:
    """Three policies, calm, dies (its run kills its worker) and baseline, one run each."""
    dies = f"{{die: true, while_sending: {str(while_sending).lower()}}}"
    return write(folder, "suicide.yaml", f"""
        name: suicide
        scale: 0.01
        quarters: 2
        design:
          policies:
            calm: {{levers: {{test_reliability_suicide: {{}}}}}}
            dies: {{levers: {{test_reliability_suicide: {dies}}}}}
            baseline: {{}}
    """)


def test_a_run_that_kills_its_worker_fails_alone(tmp_path):
    """A run that kills its worker every time is recorded as failed after its second death (the
    second time running alone); the runs that shared the pool with it finish."""
    path = suicide_scenario(tmp_path)
    report = run_sweep(load_scenario(path), out=tmp_path / "out", workers=2, progress=False)
    record("fault", "worker killed by its run, twice")
    runs = report.runs.set_index("run_id")
    failed = sorted(runs.index[runs.status == "failed"])
    assert failed == ["dies-s0000-r000"]
    assert runs.loc[failed, "error"].str.startswith("WorkerDiedError: the worker process making "
                                                    "this run died 2 times").all()
    assert (runs.status == "ok").sum() == 2
    assert_clean(tmp_path / "out")


def test_a_dask_batch_that_loses_its_worker_is_made_again_run_by_run(tmp_path, monkeypatch):
    """Dask tasks make a few runs each; when a task fails because one of its runs kills the worker,
    its runs are sent again one by one, so that only that run fails."""
    from smegrowth import executors

    monkeypatch.setattr(executors, "batch_size", lambda runs, threads: runs)  # all three in one task
    path = suicide_scenario(tmp_path)
    report = run_sweep(load_scenario(path), out=tmp_path / "out", workers=2, dask_local=True, progress=False)
    record("fault", "Dask worker killed by a run in a batch")
    runs = report.runs.set_index("run_id")
    failed = sorted(runs.index[runs.status == "failed"])
    assert failed == ["dies-s0000-r000"]
    assert runs.loc[failed, "error"].str.startswith("KilledWorker").all()
    assert (runs.status == "ok").sum() == 2
    assert_clean(tmp_path / "out")


# Scripts run in a fresh interpreter, so that a pool that hangs fails its test instead of the suite;
# they and their workers (which run them again) import this module for its lever and helper.
IMPORT_THIS_MODULE = (f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
                      f"import {Path(__file__).stem} as tests\n")

HALF_A_RESULT = IMPORT_THIS_MODULE + """
import os, threading, time
from smegrowth.executors import ProcessPool


def half_a_result(_):
    tests.write_half_a_result(hold_the_lock=False)
    time.sleep(120)


if __name__ == "__main__":
    pool = ProcessPool(1)
    pool._pool.submit(half_a_result, None)
    time.sleep(float(sys.argv[1]))
    stopper = threading.Thread(target=pool.abort, daemon=True)
    stopper.start()
    stopper.join(30)
    print("stuck" if stopper.is_alive() else "stopped", flush=True)
    os._exit(0)
"""


def test_aborting_a_pool_whose_worker_died_sending_a_result_does_not_hang(tmp_path):
    """A worker killed while it sends a result (a run's files fill several pipe buffers) leaves half
    a message in the pool's result pipe; aborting the pool (Ctrl-C, SIGTERM) must still return."""
    script = tmp_path / "half_a_result.py"
    script.write_text(HALF_A_RESULT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), "3"], capture_output=True, text=True,
                          timeout=120, check=False)
    record("fault", "worker died half-way through sending a result")
    assert done.stdout.strip() == "stopped", done.stdout + done.stderr


DIES_SENDING = IMPORT_THIS_MODULE + """
from pathlib import Path
from smegrowth.scenario import load_scenario
from smegrowth.sweep import run_sweep

if __name__ == "__main__":
    report = run_sweep(load_scenario(sys.argv[1]), out=Path(sys.argv[2]), workers=2, progress=False)
    for run in report.runs.sort_values("run_id").itertuples():
        print(run.run_id, run.status, run.error)
"""


def test_a_worker_killed_while_it_sends_a_result_does_not_hang_the_sweep(tmp_path):
    """A worker killed while it sends a result (by the OOM killer, at the end of a run) leaves half a
    message in the pool's result pipe, which the pool would wait for forever. The sweep notices the
    dead worker, replaces the pool, records the run that killed its worker twice as failed and
    finishes the others."""
    script = write(tmp_path, "dies_sending.py", DIES_SENDING)
    path = suicide_scenario(tmp_path, while_sending=True)
    try:
        done = subprocess.run([sys.executable, str(script), str(path), str(tmp_path / "out")],
                              capture_output=True, text=True, timeout=240, check=False)
    except subprocess.TimeoutExpired as stuck:
        raise AssertionError(f"the sweep hung: {stuck.stdout!r} {stuck.stderr!r}") from None
    record("fault", "worker killed half-way through sending a result, twice")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("baseline-s0000-r000 ok"), done.stdout
    assert lines[1].startswith("calm-s0000-r000 ok"), done.stdout
    assert lines[2].startswith("dies-s0000-r000 failed WorkerDiedError: the worker process making this run "
                               "died 2 times"), done.stdout


SIGNALS = {  # signal, to the whole process group (a terminal's Ctrl-C), workers, exit, message
    "SIGINT": (signal.SIGINT, False, 1, 130, "interrupted: "),
    "SIGINT-to-group": (signal.SIGINT, True, 2, 130, "interrupted: "),
    "SIGTERM": (signal.SIGTERM, False, 2, 143, "terminated: "),
    "SIGKILL": (signal.SIGKILL, False, 1, -signal.SIGKILL, None),
}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("how", list(SIGNALS))
def test_signalled_sweep_keeps_its_runs_and_resumes_to_the_same_tables(tmp_path, scenario,
                                                                       reference, how):
    sig, group, workers, code, message = SIGNALS[how]
    for _ in range(3):
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        gc.collect()  # not in the few milliseconds between the third run and the signal
        proc = cli("sweep", str(scenario), "--workers", str(workers), "--out", "out", cwd=tmp_path)
        wait_for_runs(proc, tmp_path / "out", 3)
        pool = [pid for pid, _ in descendants(proc.pid)]
        if proc.poll() is None:
            break
        proc.communicate()  # this process stalled while the sweep (about a second) finished: again
    else:
        raise AssertionError("every sweep finished before it could be signalled")
    if group:  # Ctrl-C in a terminal: the parent and its workers all get SIGINT
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    record("fault", f"parent {how}")
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, (stdout, stderr)
    out = tmp_path / "out"
    kept = finished(out)
    assert 3 <= kept < RUNS
    if message is not None:  # stopped cleanly: one line, tables hold every finished run
        assert "Traceback" not in stderr, stderr
        last = stderr.strip().splitlines()[-1]
        assert last.startswith(message) and "give the same command again to resume" in last
        assert len(pd.read_parquet(out / "runs.parquet")) == kept
        assert_clean(out)
    else:  # SIGKILL: the lock is left behind, naming a dead process
        assert (out / ".lock").exists()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pool) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pool), "worker processes outlived the sweep"
    report = resume(scenario, out)
    assert report.skipped == kept and report.ok == RUNS - kept
    assert_clean(out)
    assert_same_tables(out, reference[1])



class _CtrlCWhenCollected:
    """Garbage whose finalizer receives Ctrl-C: Python prints and drops the KeyboardInterrupt."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)


class CtrlCSettings(LeverSettings):
    at_quarter: int = 1
    how: str = "finalizer"


@register_lever
class CtrlCLever(Lever):
    """A test lever whose first run gets Ctrl-C where it is easily lost: in a finalizer (Python drops
    the KeyboardInterrupt there), or in native code that reports it as another error (numba turns one
    raised in a compiled loop's Python callback into a SystemError caused by it)."""

    name = "test_reliability_ctrl_c"
    Settings = CtrlCSettings
    fired = False

    def act(self, model) -> None:
        if model.quarter != self.settings.at_quarter or CtrlCLever.fired:
            return
        CtrlCLever.fired = True
        if self.settings.how == "finalizer":
            _CtrlCWhenCollected()  # collected at once, in the middle of the run
            return
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise SystemError("a compiled loop returned a result with an exception set") from interrupt


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped Ctrl-C
@pytest.mark.parametrize(("how", "runs_finished"), [("finalizer", 1), ("wrapped", 0)])
def test_a_ctrl_c_that_is_easily_lost_still_stops_the_sweep(tmp_path, how, runs_finished):
    """A Ctrl-C dropped in a finalizer stops the sweep after the run it landed in (garbage collection
    runs many between runs); one that native code wraps in another error stops it at once, and the
    run is not recorded as failed. Either way the finished runs are safe and the sweep resumes to the
    full table."""
    path = write(tmp_path, "ctrl_c.yaml", f"""
        name: ctrl_c
        scale: 0.01
        quarters: 3
        levers: {{test_reliability_ctrl_c: {{how: {how}}}}}
        design:
          replicates: 6
    """)
    CtrlCLever.fired = False
    with pytest.raises(SweepInterrupted) as stopped:
        resume(path, tmp_path / "out")
    record("fault", f"Ctrl-C {how}")
    report = stopped.value.report
    assert report.failed == 0 and runs_finished <= report.ok < 6
    assert len(pd.read_parquet(tmp_path / "out" / "runs.parquet")) == report.ok
    assert not list((tmp_path / "out" / "runs").glob("*.failed.json"))
    assert_clean(tmp_path / "out")
    assert resume(path, tmp_path / "out").ok == 6 - report.ok
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def ctrl_c_sweep(tmp_path: Path) -> tuple[Path, Path]:
    """A 4-run sweep whose first run made (while ``CtrlCLever.fired`` is False) gets Ctrl-C; its
    scenario file and results folder."""
    path = write(tmp_path, "ctrl_c.yaml", """
        name: ctrl_c
        scale: 0.01
        quarters: 3
        levers: {test_reliability_ctrl_c: {how: wrapped, at_quarter: 2}}
        design:
          replicates: 4
    """)
    return path, tmp_path / "out"


def test_a_second_ctrl_c_while_the_tables_are_written_leaves_both_as_they_were(tmp_path, monkeypatch):
    """Ctrl-C stops the runs; a second one comes while the tables are consolidated (after the time
    series is written, before the runs table is): neither table is replaced, so they never disagree,
    no temporary file is left, and the report says so. The same command then brings both up to date."""
    path, out = ctrl_c_sweep(tmp_path)
    CtrlCLever.fired = True  # a first sweep without interruption, for tables to keep
    resume(path, out)
    shutil.rmtree(out / "runs")
    before = {name: (out / name).read_bytes() for name in ("runs.parquet", "timeseries.parquet")}
    real = store_module.ResultsStore._timeseries_writer

    def interrupted_after_the_time_series(self, finished):
        write_timeseries, damaged = real(self, finished)

        def write(tmp):
            write_timeseries(tmp)
            raise KeyboardInterrupt  # the second Ctrl-C

        return write, damaged

    monkeypatch.setattr(store_module.ResultsStore, "_timeseries_writer", interrupted_after_the_time_series)
    CtrlCLever.fired = False
    with pytest.raises(SweepInterrupted) as stopped:
        resume(path, out)
    record("fault", "second Ctrl-C while consolidating")
    report = stopped.value.report
    assert not report.tables_updated and "stopped again while the tables were written" in report.line()
    assert {name: (out / name).read_bytes() for name in before} == before
    assert_clean(out)
    monkeypatch.undo()
    report = resume(path, out)
    assert report.tables_updated and len(pd.read_parquet(out / "runs.parquet")) == 4


def test_a_second_ctrl_c_while_the_tables_are_renamed_comes_after_them(tmp_path, monkeypatch):
    """A second Ctrl-C that lands while the two tables are being renamed is held until both are in
    place: the report counts them as updated, and the runs table holds the finished runs."""
    path, out = ctrl_c_sweep(tmp_path)
    CtrlCLever.fired = True  # a first sweep without interruption makes 4 runs
    resume(path, out)
    for run in ("ctrl_c-s0000-r002", "ctrl_c-s0000-r003"):
        for suffix in (".arrow", ".ts.arrow"):
            (out / "runs" / f"{run}{suffix}").unlink()
    real = os.replace
    renames = []

    def replace(src, dst):
        renames.append(Path(dst).name)
        if Path(dst).name == "timeseries.parquet":
            signal.raise_signal(signal.SIGINT)  # the second Ctrl-C, between the two renames
        return real(src, dst)

    monkeypatch.setattr(store_module.os, "replace", replace)
    CtrlCLever.fired = False  # stops the first of the two runs to make again
    with pytest.raises(SweepInterrupted) as stopped:
        resume(path, out)
    record("fault", "second Ctrl-C while the tables are renamed")
    report = stopped.value.report
    assert renames[-2:] == ["timeseries.parquet", "runs.parquet"]
    assert report.tables_updated and "2/4 runs ok" in report.line()
    assert len(pd.read_parquet(out / "runs.parquet")) == 2
    assert pd.read_parquet(out / "timeseries.parquet")["run_id"].nunique() == 2
    assert_clean(out)


# --- the disk -------------------------------------------------------------------------------------


def failing_writer(monkeypatch, after: int, error: int = errno.ENOSPC, partial: bool = True):
    """Make the store's atomic writer fail with ``error`` from its ``after``-th file on, having
    written part of the file first (as a disk that fills up mid-write would)."""
    real = store_module.atomic_write_all
    calls = {"n": 0}

    def half(tmp):
        if partial:
            tmp.write_bytes(b"PAR1" + b"\0" * 1000)
        raise OSError(error, os.strerror(error), str(tmp))

    def fake(writers, committed=None):
        chosen = {}
        for path, write in writers.items():
            calls["n"] += 1
            chosen[path] = write if calls["n"] <= after else half
        return real(chosen, committed)

    monkeypatch.setattr(store_module, "atomic_write_all", fake)
    return calls


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("after", [0, 9])
def test_full_disk_stops_the_sweep_cleanly_and_resume_completes_it(tmp_path, scenario, reference,
                                                                   monkeypatch, after):
    """The disk fills up after ``after`` files (0: the manifest of a new folder; 9: mid-sweep,
    half-way through the fifth run): one clear line, exit 2, and nothing lost."""
    out = tmp_path / "out"
    failing_writer(monkeypatch, after)
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--workers", "1", "--out", str(out)])
    record("fault", f"ENOSPC after {after} writes")
    line = one_line_error(result, f"cannot write to results folder {out}: No space left on device",
                          "free some space and give the same command again to resume")
    if after == 0:
        assert not out.exists(), "a new folder that could not be started is removed"
    else:
        assert_clean(out)
        kept = finished(out)
        assert kept == (after - 1) // 2  # manifest, then two files per run
        if kept:
            assert f"the {kept} run" in line
    monkeypatch.undo()
    report = resume(scenario, out)
    assert report.ok + report.skipped == RUNS
    assert_clean(out)
    assert_same_tables(out, reference[1])


def test_full_disk_while_consolidating(tmp_path, scenario, reference, monkeypatch):
    """Every run is made but the tables cannot be written: the runs are safe, and the same command
    only consolidates."""
    out = tmp_path / "out"
    failing_writer(monkeypatch, 1 + 2 * RUNS)
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--workers", "1", "--out", str(out)])
    one_line_error(result, "No space left on device")
    assert finished(out) == RUNS and not (out / "runs.parquet").exists()
    monkeypatch.undo()
    report = resume(scenario, out)
    assert (report.skipped, report.ok) == (RUNS, 0)
    assert_same_tables(out, reference[1])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_read_only_destinations(tmp_path, scenario, monkeypatch):
    """A folder that cannot be created or written: one line, exit 2, no folder left behind."""
    plain = tmp_path / "a_file"
    plain.write_text("not a folder")
    runner = CliRunner()
    for out, fragment in [
        (plain / "out", "cannot create results folder"),           # under a regular file
        (Path("/proc/smegrowth-test/out"), "cannot create results folder"),
        (plain, "exists and is not a folder"),
        (Path("/proc/self"), "is not a smegrowth results folder"),  # exists, not ours
    ]:
        result = runner.invoke(app, ["sweep", str(scenario), "--workers", "1", "--out", str(out)])
        one_line_error(result, fragment)
        record("input", "unwritable --out")
    assert plain.read_text() == "not a folder"
    # a folder that exists but refuses writes (root ignores chmod, so refuse them for it)
    out = tmp_path / "ro"
    out.mkdir()
    failing_writer(monkeypatch, 0, errno.EROFS, partial=False)
    result = runner.invoke(app, ["sweep", str(scenario), "--workers", "1", "--out", str(out)])
    record("fault", "read-only folder")
    one_line_error(result, "Read-only file system", "make it writable or choose another --out")
    assert list(out.iterdir()) == []


def test_lock_that_cannot_be_created(tmp_path, scenario, monkeypatch):
    out = tmp_path / "out"
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--workers", "1", "--out", str(out)])
    one_line_error(result, "Permission denied")
    assert not out.exists()


# --- damaged run files ----------------------------------------------------------------------------


def damage(out: Path) -> dict[str, str]:
    """Damage some run files in the ways a disk, a copy or a person might; return what was done."""
    runs = out / "runs"
    done = {}

    def f(run: str, ts: bool = False) -> Path:
        return runs / f"{run}{'.ts' if ts else ''}.arrow"

    data = f("baseline-s0000-r000").read_bytes()
    f("baseline-s0000-r000").write_bytes(data[: len(data) // 2])
    done["baseline-s0000-r000"] = "summary truncated"
    f("baseline-s0000-r001", ts=True).write_bytes(b"")
    done["baseline-s0000-r001"] = "time series emptied"
    f("baseline-s0000-r002").write_bytes(os.urandom(2000))
    done["baseline-s0000-r002"] = "summary overwritten with junk"
    f("baseline-s0000-r003", ts=True).unlink()
    done["baseline-s0000-r003"] = "time series deleted"
    shutil.copy(f("reloan-s0000-r000"), f("reloan-s0000-r001"))
    shutil.copy(f("reloan-s0000-r000", ts=True), f("reloan-s0000-r001", ts=True))
    done["reloan-s0000-r001"] = "another run's files copied over it"
    shutil.copy(f("reloan-s0000-r003", ts=True), f("reloan-s0000-r002", ts=True))
    done["reloan-s0000-r002"] = "another run's time series copied over it"
    ts = bytearray(f("reloan-s0000-r004", ts=True).read_bytes())
    for i in range(len(ts) // 2, len(ts) // 2 + 60):  # inside the record batch; the footer is intact
        ts[i] ^= 0xFF
    f("reloan-s0000-r004", ts=True).write_bytes(bytes(ts))
    done["reloan-s0000-r004"] = "time series bytes flipped inside its data"
    (runs / ".reloan-s0000-r006.arrow.x.tmp").write_bytes(b"ARROW1")  # a write cut short
    return done


def test_damaged_run_files_are_detected_and_made_again(tmp_path, scenario, reference):
    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    damaged = damage(out)
    record("fault", "damaged run files", len(damaged) + 1)
    report = resume(scenario, out)
    assert report.ok == len(damaged), (report.ok, damaged)
    assert report.skipped == RUNS - len(damaged) and report.failed == 0
    assert_clean(out)
    assert_same_tables(out, reference[1])
    kept = sorted(p.name for p in (out / "corrupt").iterdir())
    for run in damaged:
        assert any(run in name for name in kept), (run, kept)


def test_damage_found_while_consolidating_is_made_again_at_once(tmp_path, scenario, reference):
    """Files that look whole (footer intact) but do not read back are caught when the tables are
    consolidated, quarantined, and made again in the same sweep."""
    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    runs = out / "runs"
    shutil.copy(runs / "reloan-s0000-r000.arrow", runs / "reloan-s0000-r007.arrow")
    report = resume(scenario, out)
    assert report.ok == 1 and report.skipped == RUNS - 1
    assert_same_tables(out, reference[1])
    assert any("reloan-s0000-r007" in p.name for p in (out / "corrupt").iterdir())



def test_progress_counts_the_runs_made_again_after_consolidating(tmp_path, scenario, reference, capsys):
    """Two runs missing and one found damaged while consolidating: the progress lines count to 3 of 3
    (they counted past their total, '3/2 runs', with a negative ETA)."""
    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    runs = out / "runs"
    for run in ("baseline-s0000-r001", "baseline-s0000-r002"):
        for suffix in (".arrow", ".ts.arrow"):
            (runs / f"{run}{suffix}").unlink()
    shutil.copy(runs / "reloan-s0000-r000.arrow", runs / "reloan-s0000-r007.arrow")
    report = run_sweep(load_scenario(scenario), out=out, workers=1, progress=True)
    assert report.ok == 3
    lines = [line for line in capsys.readouterr().err.splitlines() if " runs, " in line]
    assert lines[-1].startswith("3/3 runs, 0 failed, "), lines
    assert all("ETA -" not in line for line in lines), lines

def test_run_files_whose_schema_is_damaged_or_foreign_are_made_again(tmp_path, scenario, reference):
    """A time series whose schema no longer matches its checksum (read before its data, to merge the
    runs' columns), and one from elsewhere whose column has another type (checksums valid: not this
    sweep's), are quarantined and made again; the other runs' time series are not disturbed."""
    import pyarrow as pa

    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    runs = out / "runs"

    def ipc(table: pa.Table) -> bytes:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()

    damaged = runs / "reloan-s0000-r002.ts.arrow"
    with pa.ipc.open_file(damaged) as reader:
        table = reader.read_all()
    renamed = table.rename_columns([*table.column_names[:-1], "x" * len(table.column_names[-1])])
    damaged.write_bytes(ipc(renamed.replace_schema_metadata(table.schema.metadata)))  # old checksums
    foreign = runs / "baseline-s0000-r004.ts.arrow"
    table = store_module.read_arrow(foreign)
    smes = table.column_names.index("smes")
    foreign.write_bytes(store_module.arrow_bytes(table.set_column(smes, "smes", table["smes"].cast(pa.string()))))
    record("fault", "time series with a damaged or foreign schema", 2)
    report = resume(scenario, out)
    assert report.ok == 2 and report.skipped == RUNS - 2 and report.failed == 0
    assert_same_tables(out, reference[1])
    kept = [p.name for p in (out / "corrupt").iterdir()]
    assert any("reloan-s0000-r002" in name for name in kept) and any("baseline-s0000-r004" in name for name in kept)


def test_unreadable_failure_record_does_not_stop_consolidation(tmp_path, scenario, reference):
    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    for suffix in (".arrow", ".ts.arrow"):
        (out / "runs" / f"reloan-s0000-r005{suffix}").unlink()
    (out / "runs" / "reloan-s0000-r005.failed.json").write_text("{not json")
    record("fault", "unreadable failure record")
    runs = ResultsStore(out).consolidate(plan_runs(load_scenario(scenario)).runs)
    row = runs.set_index("run_id").loc["reloan-s0000-r005"]
    assert row["status"] == "failed" and "unreadable" in row["error"]
    assert len(runs) == RUNS


def test_unreadable_manifest_is_one_clear_line(tmp_path, scenario, reference):
    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    (out / "manifest.json").write_bytes(b"\x00\x01 not json")
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--workers", "1", "--out", str(out)])
    one_line_error(result, "unreadable manifest", "--fresh")
    assert finished(out) == RUNS



@pytest.mark.parametrize("key, value, kind", [("versions", [], "list"), ("model", "x", "str"),
                                              ("scenario", "x", "str"), ("format", "3", "str")])
def test_a_manifest_field_of_the_wrong_type_is_one_clear_line(tmp_path, scenario, reference, key, value, kind):
    """A manifest edited by hand (or damaged) that is still JSON names the field that is wrong, and
    the sweep's runs stay as they are."""
    out = tmp_path / "out"
    shutil.copytree(reference[1], out)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, key: value}))
    result = CliRunner().invoke(app, ["sweep", str(scenario), "--workers", "1", "--out", str(out)])
    one_line_error(result, f"manifest.json: damaged manifest ({key} is {kind}, not ", "--fresh")
    assert finished(out) == RUNS

# --- two sweeps at once ---------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_two_sweeps_into_one_folder(tmp_path, scenario, reference):
    """Started together: one makes the runs, the other stops at once with one line naming the
    first's pid; the folder ends up as a lone sweep would leave it."""
    first = cli("sweep", str(scenario), "--workers", "1", "--out", "out", cwd=tmp_path)
    second = cli("sweep", str(scenario), "--workers", "1", "--out", "out", cwd=tmp_path)
    results = [p.communicate(timeout=120) + (p.returncode,) for p in (first, second)]
    record("fault", "two concurrent sweeps")
    codes = sorted(r[2] for r in results)
    if codes == [0, 0]:  # one finished before the other started: it found everything done
        assert any(f"{RUNS} already done" in r[0] for r in results)
    else:
        assert codes == [0, 2], results
        loser = next(r for r in results if r[2] == 2)
        assert loser[1].startswith("error: ") and len(loser[1].splitlines()) == 1, loser
        # the holder's pid, or 'another process' if it holds the lock but has not written its pid yet
        assert ("is in use by another sweep (pid " in loser[1]
                or "is in use by another sweep (another process)" in loser[1]), loser
    assert_clean(tmp_path / "out")
    assert_same_tables(tmp_path / "out", reference[1])


def test_lock_is_exclusive_under_contention(tmp_path):
    """Eight threads racing for one folder's lock 25 times each never hold it together."""
    folder = tmp_path / "out"
    folder.mkdir()
    holders, most, taken = [0], [0], [0]
    guard = threading.Lock()

    def contend() -> None:
        for _ in range(25):
            store = ResultsStore(folder)
            try:
                store._lock()
            except StoreError:
                continue
            with guard:
                holders[0] += 1
                most[0] = max(most[0], holders[0])
                taken[0] += 1
            time.sleep(0.0005)
            with guard:
                holders[0] -= 1
            store._unlock()

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record("fault", "lock contention attempts", 200)
    assert most[0] == 1 and taken[0] > 0
    assert not (folder / ".lock").exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_lock_held_by_a_killed_process_is_taken_over(tmp_path, scenario):
    """A sweep killed with SIGKILL leaves .lock naming it; the kernel has dropped its flock and the
    pid is dead, so the next sweep goes ahead."""
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, fcntl, socket, time
        fd = os.open({str(out / '.lock')!r}, os.O_CREAT | os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{{os.getpid()}} {{socket.gethostname()}}\\n".encode())
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(StoreError, match=rf"in use by another sweep \(pid {holder.pid} "):
        resume(scenario, out)
    holder.kill()
    holder.wait()
    report = resume(scenario, out)
    assert report.ok == RUNS
    assert_clean(out)


def test_write_error_is_a_store_error_from_python(tmp_path, scenario, monkeypatch):
    """From the library, a full disk is a :class:`StoreWriteError` (a ``StoreError``)."""
    failing_writer(monkeypatch, 3)
    with pytest.raises(StoreWriteError, match="No space left on device; the 1 run finished"):
        resume(scenario, tmp_path / "out")
