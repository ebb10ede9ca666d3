"""Sweeps: executors agree, failed runs are recorded, interrupted sweeps resume, folders safe."""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing.forkserver
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal
from smegrowth import executors
from smegrowth import store as store_module
from smegrowth.api import run_scenario, sweep, sweep_report
from smegrowth.levers import LEVERS, Lever, LeverSettings, register_lever
from smegrowth.runner import plan_runs, run_one
from smegrowth.scenario import load_scenario
from smegrowth.seeds import replicate_seeds
from smegrowth.store import StoreError, encode_run, run_encoded
from smegrowth.sweep import model_identity, run_sweep, source_digest

TIMING = ["elapsed_s"]


class ExplodingSettings(LeverSettings):
    explode: bool = False


@register_lever
class ExplodingLever(Lever):
    """A test lever that raises in its first quarter when told to (defined outside the package,
    so process-pool workers must import this module to find it)."""

    name = "test_sweep_exploding"
    Settings = ExplodingSettings

    def act(self, model) -> None:
        if self.settings.explode and model.quarter >= 1:
            raise RuntimeError(f"boom in quarter {model.quarter}")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def comparable(runs: pd.DataFrame) -> pd.DataFrame:
    """A runs table without timing columns, sorted by run id."""
    return runs.drop(columns=TIMING).sort_values("run_id").reset_index(drop=True)


def tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = comparable(pd.read_parquet(folder / "runs.parquet"))
    ts = pd.read_parquet(folder / "timeseries.parquet").sort_values(["run_id", "step"])
    return runs, ts.reset_index(drop=True)


POLICY_SWEEP = """
    name: policies
    scale: 0.01
    quarters: 3
    seed: 11
    levers:
      reloan: {}
    design:
      type: grid
      replicates: 2
      policies:
        baseline: {levers: {reloan: {scale: 0.0}}}
        reloan: {}
      uncertainties:
        credit.max_pd: [0.06, 0.1]
"""


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    """The policy sweep made in this process: its folder and scenario file."""
    folder = tmp_path_factory.mktemp("inproc")
    path = write(folder, "policies.yaml", POLICY_SWEEP)
    report = sweep_report(path, workers=1, out=folder / "out", progress=False)
    assert report.ok == 8 and report.failed == 0
    return folder / "out", path


# --- executors ------------------------------------------------------------------------------------


def test_process_pool_gives_identical_results(in_process, tmp_path):
    folder, path = in_process
    sweep(path, workers=2, out=tmp_path / "pool", progress=False)
    expected_runs, expected_ts = tables(folder)
    runs, ts = tables(tmp_path / "pool")
    assert_frame_equal(runs, expected_runs)
    assert_frame_equal(ts, expected_ts)


def test_pool_workers_are_forked_from_a_fork_server_where_the_platform_has_one(monkeypatch):
    expected = "forkserver" if sys.platform != "win32" else "spawn"
    assert executors.worker_context().get_start_method() == expected
    monkeypatch.setattr(executors, "has_fork_server", lambda: False)
    assert executors.worker_context().get_start_method() == "spawn"


def worker_state(spec) -> dict:
    """Run in a pool worker: what it has loaded and which threads it runs."""
    status = Path("/proc/self/status")
    threads = (int(next(line.split()[1] for line in status.read_text().splitlines()
                        if line.startswith("Threads:"))) if status.exists() else None)
    return {"preloaded": "smegrowth.pool_worker" in sys.modules, "threads": threads,
            "python_threads": sorted(t.name for t in threading.enumerate()),
            "blas": os.environ.get("OPENBLAS_NUM_THREADS"),
            "collecting": gc.isenabled(), "frozen": gc.get_freeze_count()}


@pytest.mark.skipif(not executors.has_fork_server(), reason="no fork server on this platform")
def test_pool_workers_start_with_the_model_loaded_and_no_stray_threads():
    """Workers are forked from a server that imported the model (and so are they), with BLAS on
    one thread: besides the main thread only the parent-watch thread runs, so the server was
    single-threaded when it forked (safe). The server imported with the garbage collector off and
    froze what it made: the workers collect garbage, and skip the imports' objects."""
    with executors.ProcessPool(2) as pool:
        states = list(pool.map(worker_state, [None, None]))
        server = multiprocessing.forkserver._forkserver._forkserver_pid
        tasks = Path(f"/proc/{server}/task")
        if tasks.exists():  # Linux: the server's only other thread is jemalloc's (fork-safe)
            others = sorted((t / "comm").read_text().strip() for t in tasks.iterdir()
                            if t.name != str(server))
            assert others in ([], ["jemalloc_bg_thd"]), others
    for state in states:
        assert state["preloaded"] and state["blas"] == "1"
        assert state["collecting"] and state["frozen"] > 10_000, state
        assert state["python_threads"] == ["MainThread", "parent-watch"]
        if state["threads"] is not None:
            assert state["threads"] == 2, state


@pytest.mark.skipif(not executors.has_fork_server(), reason="no fork server on this platform")
def test_dask_local_workers_are_forked_with_the_model_loaded():
    """A Dask local cluster's workers come from the same fork server as a pool's: they start with
    the model imported and its compiled loops loaded, and with BLAS on one thread."""
    with executors.DaskExecutor(local_workers=1) as cluster:
        state = cluster._client.submit(worker_state, None, pure=False).result()
    assert state["preloaded"] and state["blas"] == "1"


def test_the_command_line_loads_the_model_only_when_a_command_runs():
    code = ("import sys, smegrowth.cli, smegrowth; "
            "print(sorted(m for m in ('pandas', 'numba', 'smegrowth.model') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


SCRIPT_SWEEP = """import smegrowth as sg
runs = sg.sweep({scenario!r}, workers=2, out={out!r}, progress=False)
print(len(runs), (runs.status == "ok").sum())
"""


@pytest.mark.parametrize("guarded", [False, True])
def test_a_script_that_sweeps_on_workers_outside_its_main_guard_is_refused_at_once(tmp_path, guarded):
    """Local workers run the main script again as they start: a sweep at its top level would start
    a sweep in every worker, and every run would fail as its worker died. It is refused before
    anything is written, naming the script's line; under ``if __name__ == "__main__":`` it runs."""
    scenario = write(tmp_path, "s.yaml", "name: s\nscale: 0.005\nquarters: 1\ndesign:\n  replicates: 2\n")
    body = SCRIPT_SWEEP.format(scenario=str(scenario), out=str(tmp_path / "out"))
    if guarded:
        body = 'if __name__ == "__main__":\n' + textwrap.indent(body, "    ")
    script = write(tmp_path, "my_script.py", body)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    if guarded:
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["2", "2"]
    else:
        assert done.returncode != 0
        assert f"{script}:2: a sweep on local worker processes is started at the top level" in done.stderr
        assert 'if __name__ == "__main__":' in done.stderr.splitlines()[-1]
        assert not (tmp_path / "out").exists()


def test_the_package_names_resolve_as_before():
    import smegrowth
    import smegrowth.sweep  # the submodule does not hide the function of the same name

    assert smegrowth.sweep is sweep and smegrowth.run_scenario is run_scenario
    for name in smegrowth.__all__:
        assert getattr(smegrowth, name) is not None
    from smegrowth.model import EnterpriseModel

    assert smegrowth.EnterpriseModel is EnterpriseModel
    with pytest.raises(AttributeError):
        smegrowth.no_such_name  # noqa: B018


def test_dask_local_cluster_gives_identical_results(in_process, tmp_path):
    folder, path = in_process
    report = sweep_report(path, workers=2, dask_local=True, out=tmp_path / "dask", progress=False)
    assert report.executor.startswith("Dask local cluster")
    expected_runs, expected_ts = tables(folder)
    runs, ts = tables(tmp_path / "dask")
    assert_frame_equal(runs, expected_runs)
    assert_frame_equal(ts, expected_ts)


def test_a_dask_cluster_whose_workers_run_another_model_is_refused_before_anything_is_written(
        tmp_path, monkeypatch):
    """Workers with another smegrowth (or the same version edited) or numpy would make runs of a model
    the manifest does not record: the cluster is checked when the sweep connects to it."""
    import importlib

    sweep_code = importlib.import_module("smegrowth.sweep")  # `smegrowth.sweep` is the function
    real = source_digest()
    monkeypatch.setattr(sweep_code, "source_digest", lambda: "f" * 64)  # this process only
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.005\nquarters: 1\n")
    with pytest.raises(executors.ExecutorError, match=(
            rf"Dask worker tcp://127\.0\.0\.1:\d+ would make runs with another model than this process "
            rf"\(source_sha256 {real[:12]} on the worker, ffffffffffff here\): install the same on every worker")):
        sweep(path, workers=1, dask_local=True, out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_dask_worker_that_joined_later_with_another_model_stops_the_sweep(tmp_path):
    """A worker that joins after the check refuses its batches, and the first refusal stops the sweep
    with the reason (the scheduler would send that worker run after run to fail)."""
    spec = plan_runs(load_scenario(write(tmp_path, "s.yaml", "name: s\nscale: 0.005\nquarters: 1\n"))).runs[0]
    client = {**model_identity(), "numpy": "0.0.1"}
    with pytest.raises(executors.ModelMismatchError, match=r"a Dask worker, which joined the cluster during "
                       r"the sweep, would make runs with another model \(numpy \S+ on the worker, 0\.0\.1 on "
                       r"the client\)"):
        executors.run_batch([spec], run_one, client)
    assert executors.run_batch([spec], run_one, model_identity())[0].ok
    with executors.DaskExecutor(local_workers=1) as cluster:
        cluster._identity = client  # as if the worker had joined after the check
        with pytest.raises(executors.ExecutorError, match=r"Dask worker tcp://127\.0\.0\.1:\d+, which joined"):
            list(cluster.map(run_one, [spec, spec]))


def test_runs_table_layout_and_common_random_numbers(in_process):
    folder, _ = in_process
    runs = pd.read_parquet(folder / "runs.parquet")
    assert list(runs.columns[:7]) == ["run_id", "policy", "sample", "replicate", "seed", "status",
                                      "error"]
    assert list(runs["run_id"]) == [f"{p}-s{s:04d}-r{r:03d}" for p in ("baseline", "reloan")
                                    for s in (0, 1) for r in (0, 1)]
    assert (runs["status"] == "ok").all()
    assert "lever.reloan.scale" in runs and "param.credit.max_pd" in runs
    assert set(runs.loc[runs.policy == "baseline", "lever.reloan.scale"]) == {0.0}
    assert list(runs["param.credit.max_pd"][:4]) == [0.06, 0.06, 0.1, 0.1]
    seeds = replicate_seeds(11, 2)
    assert list(runs["seed"]) == [seeds[r] for r in runs["replicate"]]
    assert {"little_giants", "revenue_total", "fiscal_cost_total"} <= set(runs.columns)
    assert runs.columns[-2:].tolist() == ["elapsed_s", "config_hash"]
    ts = pd.read_parquet(folder / "timeseries.parquet")
    assert list(ts.columns[:7]) == ["run_id", "policy", "sample", "replicate", "seed", "quarter",
                                    "step"]
    assert len(ts) == 8 * 4 and ts["quarter"].iloc[0] == "2024Q4"


def test_manifest_holds_the_provenance(in_process):
    folder, path = in_process
    m = json.loads((folder / "manifest.json").read_text())
    text = path.read_text()
    assert m["scenario"]["text"] == text
    assert m["scenario"]["files"][0]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert m["scenario"]["resolved"]["design"]["replicates"] == 2
    assert m["seeds"]["root"] == 11 and m["seeds"]["replicates"] == replicate_seeds(11, 2)
    assert [r["run_id"] for r in m["runs"]][:2] == ["baseline-s0000-r000", "baseline-s0000-r001"]
    assert m["design"]["points"] == [{"credit.max_pd": 0.06}, {"credit.max_pd": 0.1}]
    assert set(m["policies"]) == {"baseline", "reloan"}
    assert {"python", "numpy", "pandas", "mesa", "smegrowth"} <= set(m["versions"])
    assert m["git"]["commit"] is None or len(m["git"]["commit"]) == 40
    assert m["created"] and m["sessions"][0]["executor"] == "in-process"
    assert not (folder / ".lock").exists()


# --- failures, resume and safety ------------------------------------------------------------------

FLAKY = """
    name: flaky
    scale: 0.01
    quarters: 2
    design:
      replicates: 2
      policies:
        baseline: {}
        calm: {levers: {test_sweep_exploding: {}}}
        exploding: {levers: {test_sweep_exploding: {explode: true}}}
"""


def test_a_run_that_raises_is_recorded_and_the_others_finish(tmp_path):
    path = write(tmp_path, "flaky.yaml", FLAKY)
    report = sweep_report(path, workers=2, out=tmp_path / "out", progress=False)
    assert (report.ok, report.failed) == (4, 2)
    runs = report.runs.set_index("run_id")
    failed = runs[runs.status == "failed"]
    assert sorted(failed.index) == ["exploding-s0000-r000", "exploding-s0000-r001"]
    assert failed["error"].str.startswith("RuntimeError: boom in quarter 1").all()
    assert failed["little_giants"].isna().all()
    assert runs.loc["calm-s0000-r000", "status"] == "ok"
    info = json.loads((tmp_path / "out/runs/exploding-s0000-r000.failed.json").read_text())
    assert info["error_type"] == "RuntimeError" and "act" in info["traceback"]
    # the same command retries the failed runs only
    again = sweep_report(path, workers=1, out=tmp_path / "out", progress=False)
    assert (again.skipped, again.ok, again.failed) == (4, 0, 2)
    assert again.failed_total == 2


def test_resume_skips_finished_runs_and_gives_the_same_tables(in_process, tmp_path):
    folder, path = in_process
    out = tmp_path / "resume"
    sweep(path, workers=1, out=out, progress=False)
    for run in ("baseline-s0001-r000", "reloan-s0000-r001"):
        (out / "runs" / f"{run}.arrow").unlink()
    (out / "runs" / "reloan-s0001-r001.ts.arrow").unlink()
    (out / "runs" / "reloan-s0001-r001.arrow").unlink()
    (out / "runs" / ".baseline-s0000-r000.arrow.abc.tmp").write_bytes(b"half-written")
    report = sweep_report(path, workers=1, out=out, progress=False)
    assert (report.skipped, report.ok) == (5, 3)
    assert not list((out / "runs").glob(".*.tmp"))
    assert_frame_equal(tables(out)[0], tables(folder)[0])
    assert_frame_equal(tables(out)[1], tables(folder)[1])
    assert len(json.loads((out / "manifest.json").read_text())["sessions"]) == 2


def test_finished_sweep_run_again_reads_its_runs_table_unless_the_tables_are_stale(in_process, tmp_path,
                                                                                  monkeypatch):
    """Running a finished sweep again gives the runs table it made, without re-reading every run file
    or rewriting the tables; tables that may not match the run files any more are made again."""
    _, path = in_process
    out = tmp_path / "finished"
    first = sweep_report(path, workers=1, out=out, progress=False)
    table, series = out / "runs.parquet", out / "timeseries.parquet"
    reads = []
    original = store_module.ResultsStore._read_summary
    monkeypatch.setattr(store_module.ResultsStore, "_read_summary",
                        lambda self, spec: reads.append(spec.run_id) or original(self, spec))

    def again(made: int = 0) -> int:
        """Run the sweep again; the number of runs whose files it read (0: it read the runs table)."""
        reads.clear()
        report = sweep_report(path, workers=1, out=out, progress=False)
        assert (report.skipped, report.ok, report.failed) == (8 - made, made, 0)
        assert_frame_equal(comparable(report.runs), comparable(first.runs))
        return len(reads)

    def stamps() -> list[tuple[bytes, int]]:
        return [(p.read_bytes(), p.stat().st_mtime_ns) for p in (table, series)]

    written = stamps()
    assert again() == 0 and stamps() == written
    assert_frame_equal(sweep_report(path, workers=1, out=out, progress=False).runs, first.runs)

    # a run file written after the tables (a copy of it put back): made again from the files, once
    summary = out / "runs" / "baseline-s0000-r000.arrow"
    summary.write_bytes(summary.read_bytes())
    assert again() == 8 and again() == 0

    # two runs' time series swapped by renaming (their modification times kept): both made again
    runs = out / "runs"
    os.replace(runs / "reloan-s0000-r000.ts.arrow", runs / "swap.tmp")
    os.replace(runs / "reloan-s0000-r001.ts.arrow", runs / "reloan-s0000-r000.ts.arrow")
    os.replace(runs / "swap.tmp", runs / "reloan-s0000-r001.ts.arrow")
    assert again(made=2) == 8 + 8 and again() == 0  # read, then read again with the two remade

    # a time-series table newer than the runs table (a consolidation stopped between the two)
    os.utime(series, ns=(series.stat().st_atime_ns, table.stat().st_mtime_ns + 1))
    assert again() == 8 and again() == 0

    # a runs table that does not list every run
    pq.write_table(pq.read_table(table).slice(0, 7), table)
    assert again() == 8 and again() == 0

    # a byte of the runs table's data changed in place, its modification time kept: the last byte of
    # the dictionary of little giants' values, the top byte of one of them (found by its page's checksum)
    parquet = pq.ParquetFile(table)
    chunk = parquet.metadata.row_group(0).column(parquet.schema_arrow.names.index("little_giants"))
    assert chunk.has_dictionary_page
    data, when = bytearray(table.read_bytes()), table.stat()
    data[chunk.data_page_offset - 1] ^= 0xFF
    table.write_bytes(bytes(data))
    os.utime(table, ns=(when.st_atime_ns, when.st_mtime_ns))
    assert again() == 8 and again() == 0
    assert_frame_equal(tables(out)[1], tables(in_process[0])[1])


def test_changed_scenario_is_refused_unless_fresh(tmp_path):
    path = write(tmp_path, "s.yaml",
                 "name: s\nscale: 0.01\nquarters: 2\ndesign:\n  replicates: 2\n")
    out = tmp_path / "out"
    sweep(path, workers=1, out=out, progress=False)
    before = (out / "runs.parquet").read_bytes()
    path.write_text(path.read_text().replace("replicates: 2", "replicates: 1"))
    with pytest.raises(StoreError, match=r"different version of this scenario file.*--fresh"):
        sweep(path, workers=1, out=out, progress=False)
    assert (out / "runs.parquet").read_bytes() == before
    assert (out / "runs" / "s-s0000-r001.arrow").exists()
    runs = sweep(path, workers=1, out=out, fresh=True, progress=False)
    assert list(runs["run_id"]) == ["s-s0000-r000"]
    assert not (out / "runs" / "s-s0000-r001.arrow").exists()
    other = write(tmp_path, "t.yaml", "name: t\nscale: 0.01\nquarters: 2\n")
    with pytest.raises(StoreError, match=r"out holds results of another sweep, 's' \(this is 't'\); use --fresh"):
        sweep(other, workers=1, out=out, progress=False)


def test_folder_in_an_older_layout_is_refused_unless_fresh(tmp_path):
    """A folder whose run files are in another version's layout (format 1: Parquet run files) is
    not resumed, which would make every run again beside the old files; it is refused, untouched."""
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.01\nquarters: 2\n")
    out = tmp_path / "out"
    sweep(path, workers=1, out=out, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == store_module.FORMAT == 3
    (out / "manifest.json").write_text(json.dumps({**manifest, "format": 1}))
    before = sorted(p.name for p in (out / "runs").iterdir())
    with pytest.raises(StoreError, match=r"layout of another version of smegrowth \(format 1 there, 3 now\).*--fresh"):
        sweep(path, workers=1, out=out, progress=False)
    assert sorted(p.name for p in (out / "runs").iterdir()) == before
    runs = sweep(path, workers=1, out=out, fresh=True, progress=False)
    assert list(runs["status"]) == ["ok"]


def test_a_folder_made_with_another_version_of_smegrowth_is_refused_unless_fresh(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.005\nquarters: 1\n")
    out = tmp_path / "out"
    sweep(path, workers=1, out=out, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["versions"]["smegrowth"] = "0.0.1"
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=r"made with smegrowth 0\.0\.1, and this is .*mix two versions"):
        sweep(path, workers=1, out=out, progress=False)
    assert list(sweep(path, workers=1, out=out, fresh=True, progress=False)["status"]) == ["ok"]


@pytest.mark.parametrize("change", ["source", "numpy", "missing"])
def test_a_folder_made_with_another_model_of_the_same_version_is_refused_unless_fresh(tmp_path, change):
    """An editable install's model can change under the same version number, and numpy decides the
    random streams: the manifest keeps both (``model``), and a resume with others is refused."""
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.005\nquarters: 1\n")
    out = tmp_path / "out"
    sweep(path, workers=1, out=out, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == model_identity() and manifest["model"]["source_sha256"] == source_digest()
    if change == "missing":
        del manifest["model"]
        expected = r"it has no record of the model it was made with"
    else:
        key, value = ("source_sha256", "0" * 64) if change == "source" else ("numpy", "1.0.0")
        manifest["model"][key] = value
        expected = rf"{key} {value[:12]} there, \S+ now"
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=rf"smegrowth \S+ made with another model than this one \({expected}.*--fresh"):
        sweep(path, workers=1, out=out, progress=False)
    assert list(sweep(path, workers=1, out=out, fresh=True, progress=False)["status"]) == ["ok"]


def test_folder_that_is_not_a_results_folder_is_never_touched(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.01\nquarters: 1\n")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    for fresh in (False, True):
        with pytest.raises(StoreError, match="not a smegrowth results folder"):
            sweep(path, workers=1, out=mine, fresh=fresh, progress=False)
    assert (mine / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_a_changed_imported_module_is_refused_like_a_changed_scenario(tmp_path):
    """Resuming after the user's lever module changed would mix runs of two versions of it."""
    module = write(tmp_path, "audit_levers_v.py", """
        from smegrowth.levers import Lever, register_lever

        PER_FIRM = 0.5

        @register_lever
        class AuditVouchers(Lever):
            name = "audit_vouchers"
    """)
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.005\nquarters: 1\nimports: [audit_levers_v]\n"
                 "levers: {audit_vouchers: {}}\n")
    out = tmp_path / "out"
    try:
        sweep(path, workers=1, out=out, progress=False)
        record = json.loads((out / "manifest.json").read_text())["scenario"]["imports"]
        assert [m["module"] for m in record] == ["audit_levers_v"]
        module.write_text(module.read_text().replace("PER_FIRM = 0.5", "PER_FIRM = 50.0"))
        with pytest.raises(StoreError, match=r"other versions of the modules this scenario imports \(audit_levers_v\)"):
            sweep(path, workers=1, out=out, progress=False)
        assert list(sweep(path, workers=1, out=out, fresh=True, progress=False)["status"]) == ["ok"]
        assert list(sweep(path, workers=1, out=out, progress=False)["status"]) == ["ok"]  # and resumes
        # a folder made before modules were hashed has no record of them: it resumes
        manifest = json.loads((out / "manifest.json").read_text())
        del manifest["scenario"]["imports"], manifest["scenario"]["imports_sha256"]
        (out / "manifest.json").write_text(json.dumps(manifest))
        assert list(sweep(path, workers=1, out=out, progress=False)["status"]) == ["ok"]
    finally:
        LEVERS.pop("audit_vouchers", None)


def test_runs_without_their_manifest_and_a_manifest_of_another_tool(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.005\nquarters: 1\ndesign:\n  replicates: 2\n")
    out = tmp_path / "out"
    sweep(path, workers=1, out=out, progress=False)
    (out / "manifest.json").unlink()
    with pytest.raises(StoreError, match=r"holds smegrowth runs but its manifest.json is missing.*--fresh"):
        sweep(path, workers=1, out=out, progress=False)
    assert len(sweep(path, workers=1, out=out, fresh=True, progress=False)) == 2

    for name in ("manifest.json", "runs.parquet"):  # only the time series left: still ours
        (out / name).unlink()
    shutil.rmtree(out / "runs")
    assert len(sweep(path, workers=1, out=out, fresh=True, progress=False)) == 2

    for text in ('{"name": "my web app"}', '["a", "list"]'):
        theirs = tmp_path / "webapp"
        theirs.mkdir()
        (theirs / "manifest.json").write_text(text)
        (theirs / "report.html").write_text("theirs")
        for fresh in (False, True):
            with pytest.raises(StoreError, match=r"manifest.json is not a smegrowth manifest; choose another --out"):
                sweep(path, workers=1, out=theirs, fresh=fresh, progress=False)
        assert (theirs / "manifest.json").read_text() == text
        assert sorted(p.name for p in theirs.iterdir()) == ["manifest.json", "report.html"]
        shutil.rmtree(theirs)


def test_fresh_deletes_the_results_but_not_what_people_keep_beside_them(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.01\nquarters: 1\ndesign:\n  replicates: 2\n")
    out = tmp_path / "out"
    sweep(path, workers=1, out=out, progress=False)
    (out / "report.html").write_text("a report of the old results")
    (out / "notes.txt").write_text("precious")
    (out / "analysis").mkdir()
    (out / "analysis" / "fit.csv").write_text("a,b\n1,2\n")
    (out / "draft.tmp").write_text("mine too")
    path.write_text(path.read_text().replace("replicates: 2", "replicates: 1"))
    runs = sweep(path, workers=1, out=out, fresh=True, progress=False)
    assert list(runs["run_id"]) == ["s-s0000-r000"]
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["s-s0000-r000.arrow", "s-s0000-r000.ts.arrow"]
    assert not (out / "report.html").exists()
    assert (out / "notes.txt").read_text() == "precious"
    assert (out / "analysis" / "fit.csv").read_text() == "a,b\n1,2\n"
    assert (out / "draft.tmp").read_text() == "mine too"


def test_a_live_lock_stops_a_second_sweep_and_a_stale_one_does_not(tmp_path):
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.01\nquarters: 1\n")
    out = tmp_path / "out"
    sweep(path, workers=1, out=out, progress=False)
    (out / ".lock").write_text(f"{os.getpid()} {os.uname().nodename}\n")
    with pytest.raises(StoreError, match=rf"in use by another sweep \(pid {os.getpid()}"):
        sweep(path, workers=1, out=out, progress=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / ".lock").write_text(f"{dead.pid} {os.uname().nodename}\n")
    sweep(path, workers=1, out=out, progress=False)
    assert not (out / ".lock").exists()


def test_snapshots_and_outcome_selection(tmp_path):
    path = write(tmp_path, "snap.yaml", """
        name: snap
        scale: 0.01
        quarters: 2
        snapshots: true
        outcomes: [little_giants, revenue]
    """)
    runs = sweep(path, workers=1, out=tmp_path / "out", progress=False)
    outcome_columns = [c for c in runs.columns if c not in
                       ("run_id", "policy", "sample", "replicate", "seed", "status", "error",
                        "elapsed_s", "config_hash")]
    assert outcome_columns == ["quarters", "little_giants", "revenue", "revenue_total"]
    snap = pd.read_parquet(tmp_path / "out/snapshots/snap-s0000-r000.parquet")
    assert len(snap) > 100 and set(snap["run_id"]) == {"snap-s0000-r000"}
    assert {"kind", "status", "sector", "revenue"} <= set(snap.columns)


def test_run_files_encoded_in_the_worker_are_the_files_the_store_would_write(tmp_path):
    path = write(tmp_path, "snap.yaml", "name: snap\nscale: 0.01\nquarters: 2\nsnapshots: true\n")
    spec = plan_runs(load_scenario(path)).runs[0]
    encoded = run_encoded(spec)
    assert encoded.ok and encoded.files is not None and encoded.files.snapshot is not None
    assert encoded.timeseries is None and encoded.snapshot is None  # not sent twice
    here = run_one(spec)
    here.elapsed = encoded.elapsed
    assert encode_run(spec, here) == encoded.files


def test_run_files_hold_the_columns_types_and_values_pandas_would_write(tmp_path):
    """The run files are built as Arrow tables directly (cheaper than through pandas), with the
    same columns, Arrow types, nulls and values as ``DataFrame.to_parquet`` gives, and they read
    back into the same frames; damage to their data is caught on reading (the Arrow files' CRC-32,
    the snapshot's Parquet page checksums)."""
    path = write(tmp_path, "mixed.yaml", """
        name: mixed
        scale: 0.01
        quarters: 2
        snapshots: true
        levers:
          reloan: {}
          future_industries: {}
        design:
          type: grid
          uncertainties:
            credit.max_pd: [0.08]
    """)
    spec = plan_runs(load_scenario(path)).runs[0]
    result = run_one(spec)
    result.summary["undefined_ratio"] = float("nan")  # pandas writes NaN as null
    files = encode_run(spec, result)
    meta = spec.meta()
    row = {**meta, "status": "ok", "error": None, **spec.columns, **result.summary,
           "elapsed_s": result.elapsed, "config_hash": spec.config_hash}
    assert None in row.values() and any(isinstance(v, str) for v in spec.columns.values())
    ts = result.timeseries.copy()
    for i, (key, value) in enumerate(meta.items()):
        ts.insert(i, key, value)
    snap = result.snapshot.copy()
    snap.insert(0, "run_id", spec.run_id)
    by_pandas = tmp_path / "by_pandas.parquet"
    for data, frame in [(files.summary, pd.DataFrame([row])), (files.timeseries, ts)]:
        target = tmp_path / "file.arrow"
        target.write_bytes(data)
        assert store_module.looks_whole(target)
        frame.to_parquet(by_pandas, index=False)
        table, expected = store_module.read_arrow(target), pq.read_table(by_pandas)
        assert table.schema.equals(expected.schema)  # names and types (metadata aside)
        assert table.equals(expected.replace_schema_metadata(None))  # values and nulls
        assert_frame_equal(pd.read_feather(target), pd.read_parquet(by_pandas))
        body = table.to_batches()[0].serialize().to_pybytes()
        at = bytes(data).index(body[-64:])  # the last bytes of the record batch, values
        damaged = bytearray(data)
        damaged[at + 8] ^= 0x01
        target.write_bytes(bytes(damaged))
        assert store_module.looks_whole(target)  # whole to look at, but not what was written
        with pytest.raises(ValueError, match="checksum"):
            store_module.read_arrow(target)
    target = tmp_path / "file.parquet"
    target.write_bytes(files.snapshot)
    snap.to_parquet(by_pandas, index=False)
    table, expected = pq.read_table(target), pq.read_table(by_pandas)
    assert table.schema.equals(expected.schema) and table.equals(expected.replace_schema_metadata(None))
    chunk = pq.ParquetFile(target).metadata.row_group(0).column(0)
    damaged = bytearray(files.snapshot)
    damaged[chunk.data_page_offset + chunk.total_compressed_size - 2] ^= 0xFF  # page data
    target.write_bytes(bytes(damaged))
    with pytest.raises((OSError, pa.ArrowException)):
        pq.ParquetFile(target, page_checksum_verification=True).read()


def test_run_file_checksum_covers_dictionary_values_and_pandas_types_keep_their_arrow_types(tmp_path):
    """A dictionary column's values are outside its batch's message, so they are checked apart;
    pandas' own column types (categorical, nullable integers) keep the Arrow types pandas gives."""
    frame = pd.DataFrame({
        "kind": pd.Categorical(["alpha", "beta", "alpha"]),
        "code": pd.Categorical([1, 2, None]),
        "count": pd.array([1, None, 3], dtype="Int64"),
        "share": [0.5, float("nan"), 1.0],
        "flag": [True, False, True],
    })
    table = store_module._frame_table({"run_id": "r"}, frame)
    for name in frame.columns:
        assert table[name].type == pa.array(frame[name]).type, name
    assert table["share"].null_count == 1 and table["count"].null_count == 1
    target = tmp_path / "r.arrow"
    data = store_module.arrow_bytes(table)
    target.write_bytes(data)
    assert store_module.read_arrow(target).equals(table)
    assert data.count(b"beta") == 1
    target.write_bytes(data.replace(b"beta", b"Xeta"))
    with pytest.raises(ValueError, match="checksum"):
        store_module.read_arrow(target)


def test_a_run_whose_files_cannot_be_encoded_fails_alone(tmp_path, monkeypatch):
    path = write(tmp_path, "s.yaml", "name: s\nscale: 0.01\nquarters: 1\n")
    spec = plan_runs(load_scenario(path)).runs[0]

    def unencodable(spec, result):
        raise TypeError("cannot encode")

    monkeypatch.setattr(store_module, "encode_run", unencodable)
    result = run_encoded(spec)
    assert not result.ok and result.error is not None
    assert (result.error["type"], result.error["message"]) == ("TypeError", "cannot encode")


def test_run_scenario_in_memory_and_on_disk_agree(tmp_path):
    path = write(tmp_path, "one.yaml", "name: one\nscale: 0.01\nquarters: 2\nseed: 5\n")
    ts = run_scenario(path)
    assert list(ts["quarter"]) == ["2024Q4", "2025Q1", "2025Q2"]
    on_disk = run_scenario(load_scenario(path), out=tmp_path / "out")
    assert_frame_equal(on_disk, ts, check_dtype=False)


# --- a sweep killed midway ------------------------------------------------------------------------


KILLABLE = """
    name: killable
    scale: 0.02
    quarters: 6
    seed: 3
    design:
      replicates: 16
"""


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The killable sweep made without interruption, for comparison."""
    folder = tmp_path_factory.mktemp("whole")
    path = write(folder, "killable.yaml", KILLABLE)
    whole = run_sweep(load_scenario(path), out=folder / "whole", workers=1, progress=False)
    assert whole.ok == 16
    return folder / "whole"


def _cli(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "smegrowth.cli", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _finished(folder: Path) -> int:
    runs = folder / "runs"
    if not runs.exists():
        return 0
    return sum(1 for p in runs.glob("*.arrow") if not p.name.endswith(".ts.arrow"))


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_killed_midway_resumes_to_the_same_runs_table(tmp_path, workers,
                                                            uninterrupted):
    path = write(tmp_path, "killable.yaml", KILLABLE)
    proc = _cli("sweep", str(path), "--workers", str(workers), "--out", "killed", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while _finished(tmp_path / "killed") < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sweep made no runs within 60 s"
        time.sleep(0.01)
    children = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    done = _finished(tmp_path / "killed")
    assert done < 16, "the sweep finished before it could be killed; make it longer"
    assert (tmp_path / "killed" / ".lock").exists()  # stale: its process is dead
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(c) for c in children), "orphaned workers linger"

    resumed = _cli("sweep", str(path), "--workers", str(workers), "--out", "killed", cwd=tmp_path)
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr.decode()
    assert f"{done} already done" in stdout.decode()
    assert_frame_equal(tables(tmp_path / "killed")[0], tables(uninterrupted)[0])
    assert_frame_equal(tables(tmp_path / "killed")[1], tables(uninterrupted)[1])


def test_a_morris_sweep_gives_elementary_effects(tmp_path):
    """A morris design runs as any sweep and `smegrowth sensitivity` reads its elementary effects:
    the runs' parameter values are the design's matrix, and the lending limit and the replicator
    speed both move revenue (mu* > 0), with |mu| <= mu* as for any mean of absolute values."""
    from smegrowth import sensitivity

    path = write(tmp_path, "m.yaml", """
        name: m
        scale: 0.005
        quarters: 4
        design:
          type: morris
          samples: 4
          uncertainties:
            credit.max_pd: {low: 0.02, high: 0.08}
            demand.replicator_speed: {low: 0.08, high: 0.25}
    """)
    runs = sweep(path, workers=1, out=tmp_path / "out", progress=False)
    assert len(runs) == 4 * 3 and (runs.status == "ok").all()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    x = runs.sort_values("sample")[["param.credit.max_pd", "param.demand.replicator_speed"]].to_numpy()
    assert x.tolist() == manifest["design"]["problem"]["X"]
    table = sensitivity.indices(tmp_path / "out", outcomes=["revenue_total"]).set_index("parameter")
    assert (table["method"] == "morris").all() and sorted(table.index) == sorted(manifest["design"]["uncertainties"])
    assert (table["mu_star"] > 0).all() and (table["mu"].abs() <= table["mu_star"] + 1e-9).all()
