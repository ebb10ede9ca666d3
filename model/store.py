"""The results folder of a sweep: every finished run on disk at once, nothing half-written.

Layout of ``results/<name>/`` (or ``--out DIR``)::

    manifest.json          scenario text and hash, resolved scenario, design, seeds, run list,
                           package versions, git commit, sessions (one per start or resume)
    runs/<run_id>.parquet      one row: the run's ids, lever settings, uncertainty values, outcomes
    runs/<run_id>.ts.parquet   its quarterly time series
    runs/<run_id>.failed.json  a run that raised: error type, message, traceback
    snapshots/<run_id>.parquet per-firm table at the end of the run (``snapshots: true``)
    runs.parquet           all runs, one row each, in run-list order (written after the sweep)
    timeseries.parquet     all time series (written after the sweep)
    .lock                  pid and host of the sweep writing here

Every file is written to a temporary name in its folder and then renamed (``os.replace``), so a
run is either wholly on disk or absent; the summary row is written last and marks a run finished.
Re-running the same sweep skips finished runs and retries failed ones. A scenario whose hash
differs from the manifest's is refused unless ``fresh`` is asked for, which empties the folder
(only once the new scenario has validated, and only if the folder is a results folder).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .runner import META_COLUMNS, TIMING_COLUMNS, RunResult, RunSpec

MANIFEST = "manifest.json"
LOCK = ".lock"
RUNS = "runs"
SNAPSHOTS = "snapshots"
RUNS_TABLE = "runs.parquet"
TIMESERIES_TABLE = "timeseries.parquet"
FORMAT = 1
"""Version of this folder layout, stored in the manifest."""
TS_BATCH_ROWS = 200_000
"""Rows gathered before a row group of the consolidated time series is written."""


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()
"""Permissions of result files: what ``open()`` would give under the umask (mkstemp gives 0600)."""


class StoreError(ValueError):
    """A results folder that cannot be used: locked, made from another scenario, not ours."""


def now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, flush it to disk, rename it over."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, FILE_MODE)
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` to Parquet, atomically."""
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of ``folder``, None if there is none; :class:`StoreError` if unreadable."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: unreadable manifest ({exc}); use --fresh to start "
                         "again") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path}: not a smegrowth manifest; use --fresh to start again")
    return data


def _is_empty(folder: Path) -> bool:
    return all(p.name == LOCK or p.name.endswith(".tmp") for p in folder.iterdir())


def check_folder(folder: Path, manifest: dict[str, Any], fresh: bool) -> dict[str, Any] | None:
    """Refuse a folder this sweep may not write to; return its manifest when resuming.

    Raises:
        StoreError: the folder is a file, holds other files, or was made from another scenario.
    """
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"{folder} exists and is not a folder")
    if not folder.exists() or _is_empty(folder):
        return None
    if not (folder / MANIFEST).exists():
        raise StoreError(f"{folder} is not empty and is not a smegrowth results folder (no "
                         f"{MANIFEST}); choose another --out")
    if fresh:
        return None
    old = read_manifest(folder)
    assert old is not None
    new_s, old_s = manifest["scenario"], old.get("scenario", {})
    changed = [key for key in ("sha256", "resolved_sha256") if new_s.get(key) != old_s.get(key)]
    if changed:
        what = "scenario file" if "sha256" in changed and new_s.get("sha256") else "scenario"
        raise StoreError(
            f"{folder} holds results of a different version of this {what} (hash "
            f"{str(old_s.get(changed[0]))[:12]} there, {str(new_s.get(changed[0]))[:12]} now); "
            "use --fresh to replace them or --out DIR to keep both")
    return old


class ResultsStore:
    """A locked results folder. Open with :meth:`open`; write runs with :meth:`write`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs_dir = folder / RUNS
        self.snapshots_dir = folder / SNAPSHOTS
        self._locked = False

    # --- lifecycle -------------------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def open(cls, folder: str | Path, manifest: dict[str, Any], fresh: bool = False,
             session: dict[str, Any] | None = None) -> Iterator[ResultsStore]:
        """Create or reopen ``folder``, lock it, check and write the manifest; unlock on exit.

        ``manifest`` comes from :func:`smegrowth.sweep.build_manifest`; with ``fresh`` the old
        contents are deleted first (only after the lock is held).
        """
        folder = Path(folder)
        check_folder(folder, manifest, fresh)
        created = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create results folder {folder}: "
                             f"{exc.strerror or exc}") from None
        store = cls(folder)
        try:
            store._lock()
        except BaseException:
            if created:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        try:
            old = check_folder(folder, manifest, fresh)
            if fresh:
                store._clear()
            store._start(manifest, old, session or {})
            yield store
        finally:
            store._unlock()

    def _lock(self) -> None:
        path = self.folder / LOCK
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid_text, _, host = path.read_text().strip().partition(" ")
                    pid = int(pid_text)
                except (OSError, ValueError):
                    pid, host = -1, ""
                if host == socket.gethostname() and not _pid_alive(pid):
                    stale = path.with_name(f"{LOCK}.stale.{os.getpid()}")
                    with contextlib.suppress(FileNotFoundError):
                        os.replace(path, stale)
                        stale.unlink()
                    continue
                who = f"pid {pid} on {host}" if pid > 0 else "another process"
                raise StoreError(f"{self.folder} is in use by another sweep ({who}); wait for it "
                                 f"to finish, or delete {path} if that process is gone") from None
            with os.fdopen(fd, "w") as handle:
                handle.write(me)
            self._locked = True
            return
        raise StoreError(f"could not lock {self.folder}; another sweep keeps taking it")

    def _unlock(self) -> None:
        if not self._locked:
            return
        path = self.folder / LOCK
        with contextlib.suppress(OSError):
            if path.read_text().split()[0] == str(os.getpid()):
                path.unlink()
        self._locked = False

    def _clear(self) -> None:
        for entry in self.folder.iterdir():
            if entry.name == LOCK:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def _start(self, manifest: dict[str, Any], old: dict[str, Any] | None,
               session: dict[str, Any]) -> None:
        self.runs_dir.mkdir(exist_ok=True)
        for stray in self.runs_dir.glob(".*.tmp"):
            stray.unlink(missing_ok=True)
        data = dict(manifest)
        if old is not None:
            data["created"] = old.get("created", data.get("created"))
            data["sessions"] = list(old.get("sessions", []))
        data["sessions"] = [*data.get("sessions", []), {"started": now(), **session}]
        write_json(self.folder / MANIFEST, data)
        self.manifest = data

    # --- runs ------------------------------------------------------------------------------------
    def finished(self) -> set[str]:
        """Ids of runs whose summary row is on disk."""
        if not self.runs_dir.exists():
            return set()
        return {p.name[: -len(".parquet")] for p in self.runs_dir.glob("*.parquet")
                if not p.name.endswith(".ts.parquet") and not p.name.startswith(".")}

    def write(self, spec: RunSpec, result: RunResult) -> None:
        """Write one run's files atomically: time series and snapshot first, summary row last."""
        failed = self.runs_dir / f"{spec.run_id}.failed.json"
        if not result.ok:
            write_json(failed, {**spec.meta(), "config_hash": spec.config_hash,
                                "error_type": (result.error or {}).get("type"),
                                "message": (result.error or {}).get("message"),
                                "traceback": (result.error or {}).get("traceback"),
                                "elapsed_s": result.elapsed, "worker": result.worker,
                                "finished": now()})
            return
        assert result.timeseries is not None and result.summary is not None
        meta = spec.meta()
        ts = result.timeseries.copy()
        for i, (key, value) in enumerate(meta.items()):
            ts.insert(i, key, value)
        write_parquet(self.runs_dir / f"{spec.run_id}.ts.parquet", ts)
        if result.snapshot is not None:
            self.snapshots_dir.mkdir(exist_ok=True)
            snap = result.snapshot.copy()
            snap.insert(0, "run_id", spec.run_id)
            write_parquet(self.snapshots_dir / f"{spec.run_id}.parquet", snap)
        row = {**meta, "status": "ok", "error": None, **spec.columns, **result.summary,
               "elapsed_s": result.elapsed, "config_hash": spec.config_hash}
        write_parquet(self.runs_dir / f"{spec.run_id}.parquet", pd.DataFrame([row]))
        failed.unlink(missing_ok=True)

    # --- consolidation ---------------------------------------------------------------------------
    def consolidate(self, runs: list[RunSpec]) -> pd.DataFrame:
        """Write ``runs.parquet`` and ``timeseries.parquet`` from the run files, in run-list order.

        Failed runs are rows with ``status`` "failed" and their error; runs not yet made are left
        out. Returns the runs table.
        """
        tables: list[pa.Table] = []
        ts_files: list[Path] = []
        for spec in runs:
            path = self.runs_dir / f"{spec.run_id}.parquet"
            failed = self.runs_dir / f"{spec.run_id}.failed.json"
            if path.exists():
                tables.append(pq.read_table(path).replace_schema_metadata(None))
                ts_files.append(self.runs_dir / f"{spec.run_id}.ts.parquet")
            elif failed.exists():
                info = json.loads(failed.read_text(encoding="utf-8"))
                error = f"{info.get('error_type')}: {info.get('message')}"
                row = {**spec.meta(), "status": "failed", "error": error, **spec.columns,
                       "elapsed_s": info.get("elapsed_s"), "config_hash": spec.config_hash}
                tables.append(pa.Table.from_pylist([row]))
        if tables:
            frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
        else:
            frame = pd.DataFrame(columns=[*META_COLUMNS, "status", "error"])
        frame = frame[_ordered(list(frame.columns), runs)]
        write_parquet(self.folder / RUNS_TABLE, frame)
        self._consolidate_timeseries(ts_files)
        return frame

    def _consolidate_timeseries(self, files: list[Path]) -> None:
        target = self.folder / TIMESERIES_TABLE
        if not files:
            write_parquet(target, pd.DataFrame(columns=META_COLUMNS))
            return
        schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        schema = pa.schema([f.remove_metadata() for f in schema]).remove_metadata()

        def write(tmp: Path) -> None:
            with pq.ParquetWriter(tmp, schema) as writer:
                batch: list[pa.Table] = []
                rows = 0
                for f in files:
                    table = pq.read_table(f).replace_schema_metadata(None)
                    columns = [table[n] if n in table.column_names else pa.nulls(len(table), t)
                               for n, t in zip(schema.names, schema.types, strict=True)]
                    batch.append(pa.table(columns, names=schema.names).cast(schema))
                    rows += len(table)
                    if rows >= TS_BATCH_ROWS:
                        writer.write_table(pa.concat_tables(batch))
                        batch, rows = [], 0
                if batch:
                    writer.write_table(pa.concat_tables(batch))

        atomic_write(target, write)


def _ordered(columns: list[str], runs: list[RunSpec]) -> list[str]:
    """Runs-table columns: ids, status, lever settings, uncertainty values, outcomes, timing."""
    param_order = {f"param.{name}": i for i, name in
                   enumerate(dict.fromkeys(k for s in runs for k in s.point))}
    head = [c for c in [*META_COLUMNS, "status", "error"] if c in columns]
    levers = sorted(c for c in columns if c.startswith("lever."))
    params = sorted((c for c in columns if c.startswith("param.")),
                    key=lambda c: (param_order.get(c, len(param_order)), c))
    tail = [c for c in TIMING_COLUMNS if c in columns]
    taken = set(head) | set(levers) | set(params) | set(tail)
    return head + levers + params + [c for c in columns if c not in taken] + tail
