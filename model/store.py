"""The results folder of a sweep: every finished run on disk at once, nothing half-written.

Layout of ``results/<name>/`` (or ``--out DIR``)::

    manifest.json          scenario text and hash, resolved scenario, design, seeds, run list,
                           package versions, git commit, sessions (one per start or resume)
    runs/<run_id>.arrow        one row: the run's ids, lever settings, uncertainty values, outcomes
    runs/<run_id>.ts.arrow     its quarterly time series
    runs/<run_id>.failed.json  a run that raised: error type, message, traceback
    snapshots/<run_id>.parquet per-firm table at the end of the run (``snapshots: true``)
    runs.parquet           all runs, one row each, in run-list order (written after the sweep)
    timeseries.parquet     all time series (written after the sweep)
    corrupt/               run files found damaged (truncated, unreadable, another run's), kept
                           for inspection; their runs are made again
    .lock                  pid and host of the sweep writing here (held with ``flock``)

Every file is written to a temporary name in its folder and then renamed (``os.replace``), so a
run is either wholly on disk or absent; the summary row is written last and marks a run finished.
A run's files are encoded where the run was made (:func:`run_encoded`, in a worker process) and
written by the sweep process, the only one that writes to the folder; they are built as Arrow
tables without pandas' metadata (the consolidated tables drop it anyway), with the column types
pandas would give them, so they read back into the same frames. A run's own files are Arrow IPC
files (Feather v2; ``pyarrow.ipc.open_file`` or ``pandas.read_feather`` read them): a run's two
files encode in ~0.15 ms and read back with their checks in ~0.5 ms, against 4.6 ms and 3 ms as
small Parquet files, so a sweep of thousands of small runs spends its time running them. The
tables and snapshots, which people read, are Parquet.
Re-running the same sweep skips finished runs and retries failed ones. A run file damaged
afterwards (a truncated copy, a disk error) is detected, moved to ``corrupt/`` and made again,
never read into the tables (a run file carries a CRC-32 of its schema and data, and one of its
schema alone, checked on reading; Parquet files carry page checksums). A finished sweep run again
with current tables (made after every run file last changed: :meth:`ResultsStore.current_runs_table`)
reads back its runs table without re-reading the run files, so damage that leaves a file's times as
they were (a fault of the disk itself) is found when the tables are next made. A scenario whose hash
differs from the manifest's is refused unless ``fresh`` is asked for, which deletes the folder's
results (only once the new scenario has validated, and only if the folder is a results folder):
what the sweep and ``smegrowth report`` wrote there, not the notes or analyses people keep beside them.

Only one sweep writes to a folder at a time: the ``.lock`` file is held with an exclusive
``flock`` (released by the kernel however the process ends) and names its holder's pid and host
for the message a second sweep gets.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import json
import numbers
import os
import shutil
import signal
import socket
import tempfile
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .runner import META_COLUMNS, TIMING_COLUMNS, RunResult, RunSpec, run_one

try:
    import fcntl
except ImportError:  # Windows: msvcrt's byte-range lock instead of flock
    fcntl = None  # type: ignore[assignment]
    import msvcrt

MANIFEST = "manifest.json"
LOCK = ".lock"
RUNS = "runs"
SNAPSHOTS = "snapshots"
CORRUPT = "corrupt"
RUNS_TABLE = "runs.parquet"
TIMESERIES_TABLE = "timeseries.parquet"
REPORT = "report.html"
"""Where ``smegrowth report`` writes a folder's report unless told otherwise."""
RESULTS = (MANIFEST, RUNS, SNAPSHOTS, CORRUPT, RUNS_TABLE, TIMESERIES_TABLE, REPORT)
"""What a results folder holds of smegrowth's own: all that ``--fresh`` deletes."""
FORMAT = 3
"""Version of this folder layout, stored in the manifest (1: run files were Parquet; 2: Arrow run
files without their schema's own checksum, made only by development versions)."""
SUMMARY_SUFFIX = ".arrow"
TIMESERIES_SUFFIX = ".ts.arrow"
CHECKSUM_KEY = b"smegrowth.crc32"
"""Schema metadata of a run file: the CRC-32 of its schema and record batches (see :func:`arrow_bytes`)."""
SCHEMA_CHECKSUM_KEY = b"smegrowth.schema_crc32"
"""Schema metadata of a run file: the CRC-32 of its schema alone, to check a schema read on its own."""
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


class ForeignManifestError(StoreError):
    """A ``manifest.json`` that another tool wrote: its folder is not ours, even with ``--fresh``."""


class StoreWriteError(StoreError):
    """A results folder that cannot be written to (disk full, read-only, permissions)."""


def _write_error(folder: Path, exc: OSError, done: int | None = None) -> StoreWriteError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    safe = (f"; the {done} run{' finished so far is' if done == 1 else 's finished so far are'} safe" if done
            else "")
    fix = ("free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
           else "make it writable or choose another --out")
    return StoreWriteError(f"cannot write to results folder {folder}: {reason}{safe}; {fix} and "
                           "give the same command again to resume")


PARQUET_MAGIC = b"PAR1"
ARROW_MAGIC = b"ARROW1"


def looks_whole(path: Path) -> bool:
    """Whether ``path`` is a complete file: a Parquet file starts and ends with ``PAR1``, an Arrow
    IPC file (``.arrow``) with ``ARROW1`` (padded to 8 bytes at the start), and the length of the
    footer before the final magic fits (cheap: reads 18 bytes at most; catches truncated, empty and
    overwritten files)."""
    magic = ARROW_MAGIC if path.name.endswith(".arrow") else PARQUET_MAGIC
    head_size = len(magic) if magic == PARQUET_MAGIC else 8
    tail_size = 4 + len(magic)
    try:
        size = path.stat().st_size
        if size < head_size + tail_size:
            return False
        with open(path, "rb") as handle:
            head = handle.read(len(magic))
            handle.seek(-tail_size, os.SEEK_END)
            tail = handle.read(tail_size)
    except OSError:
        return False
    footer = int.from_bytes(tail[:4], "little")
    return head == magic and tail[4:] == magic and 0 < footer <= size - head_size - tail_size


def now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back for a few instructions (they take effect on leaving), so that
    a temporary file is never created or removed without our knowing its name."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum))
                for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        for s in caught:
            signal.raise_signal(s)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, flush it to disk, rename it over.

    An interrupt or error at any point leaves ``path`` as it was and no temporary file behind.
    """
    atomic_write_all({path: write})


def atomic_write_all(
    writers: Mapping[Path, Callable[[Path], None]], committed: Callable[[], None] | None = None
) -> None:
    """:func:`atomic_write` for files that go together (a sweep's two tables): each ``write(tmp)``
    is called in turn, and the files are renamed into place only once all are written, with Ctrl-C
    and SIGTERM held back meanwhile, so that an interrupt leaves all of them as they were or none.
    ``committed()`` runs once they are in place, before a signal held back meanwhile is raised."""
    staged: dict[Path, Path] = {}
    try:
        for path, write in writers.items():
            with _signals_deferred():
                fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                staged[path] = Path(name)
                os.close(fd)
            tmp = staged[path]
            os.chmod(tmp, FILE_MODE)
            write(tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        for path in staged:  # the one rename that fails after others have been made
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        with _signals_deferred():
            for path, tmp in staged.items():
                os.replace(tmp, path)
            if committed is not None:
                committed()
    except BaseException:
        with _signals_deferred():
            for tmp in staged.values():
                tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as a Parquet file with page checksums, in memory."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, write_page_checksum=True)
    return sink.getvalue().to_pybytes()


def _schema_checksum(schema: pa.Schema) -> int:
    """CRC-32 of ``schema`` (without metadata) as an Arrow IPC message."""
    return zlib.crc32(schema.remove_metadata().serialize())


def _checksum(table: pa.Table) -> int:
    """CRC-32 of ``table``'s schema (without metadata) and record batches as Arrow IPC messages,
    with the values of dictionary columns (a batch's message holds only their indices)."""
    crc = _schema_checksum(table.schema)
    dictionaries = [i for i, kind in enumerate(table.schema.types) if pa.types.is_dictionary(kind)]
    for batch in table.to_batches():
        crc = zlib.crc32(batch.serialize(), crc)
        for i in dictionaries:
            crc = zlib.crc32(pa.record_batch([batch.column(i).dictionary], names=["values"]).serialize(), crc)
    return crc


def arrow_bytes(table: pa.Table) -> bytes:
    """``table`` as an Arrow IPC file, in memory, with the CRC-32 of its schema and data, and of its
    schema alone, in its schema metadata (IPC files have no checksums of their own; see
    :func:`read_arrow`). The checksums are of the data as pyarrow serialises it: a pyarrow that
    serialised the same table differently would find every earlier file damaged, and the sweep would
    make those runs again."""
    table = table.replace_schema_metadata(
        {CHECKSUM_KEY: str(_checksum(table)), SCHEMA_CHECKSUM_KEY: str(_schema_checksum(table.schema))}
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def read_arrow(path: Path) -> pa.Table:
    """Read a run file written by :func:`arrow_bytes`, without its metadata.

    Raises:
        ValueError: its checksum is missing or does not match what was read (the file is
            damaged; damage to parts that are not read, such as padding, goes unnoticed).
        OSError, pyarrow.ArrowException: it cannot be read.
    """
    with pa.ipc.open_file(pa.py_buffer(path.read_bytes())) as reader:
        table = reader.read_all()
    _check(path, table.schema, CHECKSUM_KEY, _checksum(table))
    return table.replace_schema_metadata(None)


def read_arrow_schema(path: Path) -> pa.Schema:
    """The schema of a run file written by :func:`arrow_bytes` (without reading its data), checked
    against its own checksum; without metadata.

    Raises:
        ValueError: the schema's checksum is missing or does not match (the file is damaged).
        OSError, pyarrow.ArrowException: it cannot be read.
    """
    with pa.ipc.open_file(path) as reader:
        schema = reader.schema
    _check(path, schema, SCHEMA_CHECKSUM_KEY, _schema_checksum(schema))
    return schema.remove_metadata()


def _check(path: Path, schema: pa.Schema, key: bytes, checksum: int) -> None:
    """Raise ValueError unless the checksum stored under ``key`` in ``schema``'s metadata (that of
    the file ``path``) is ``checksum``."""
    if (schema.metadata or {}).get(key) != str(checksum).encode():
        raise ValueError(f"{path.name}: checksum {key.decode()} does not match")


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, atomically."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


@dataclasses.dataclass(frozen=True)
class RunFiles:
    """A finished run's files, encoded: its time series and summary row as Arrow IPC files
    (:func:`arrow_bytes`) and, with ``snapshots: true``, its firm table as Parquet."""

    timeseries: bytes
    summary: bytes
    snapshot: bytes | None = None


def _scalar_column(value: Any, rows: int) -> pa.Array:
    """``value`` repeated ``rows`` times, typed as a pandas column of it would be in Parquet:
    text as ``large_string``, integers as ``int64``, numbers as ``double`` (NaN as null), None
    as ``null``; any other value as Arrow infers it."""
    if isinstance(value, str):
        kind: pa.DataType | None = pa.large_string()
    elif isinstance(value, bool | np.bool_):
        kind = pa.bool_()
    elif isinstance(value, numbers.Integral):
        kind = pa.int64()
    elif isinstance(value, numbers.Real):
        kind = pa.float64()
    else:
        kind = None
    return pa.array([value] * rows, kind, from_pandas=True)


def _row_table(row: dict[str, Any]) -> pa.Table:
    """A one-row table of ``row`` with the column types ``pd.DataFrame([row])`` would have in
    Parquet, without going through pandas (which costs five times as much for a summary row)."""
    return pa.Table.from_arrays([_scalar_column(v, 1) for v in row.values()], names=list(row))


def _frame_table(ids: dict[str, Any], frame: pd.DataFrame) -> pa.Table:
    """``frame`` with the ``ids`` columns in front, as the Arrow table pandas would write (same
    types, NaN as null) but without pandas' metadata, which readers do not need: the columns
    read back with the same dtypes, with the default index."""
    columns = [_scalar_column(v, len(frame)) for v in ids.values()]
    for _, series in frame.items():
        # numpy numbers straight from their array (NaN as null), twice as fast as through the Series;
        # pandas' own types (categorical, nullable integers, strings) through it, as pandas writes them
        numeric = isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiub"
        columns.append(pa.array(series.to_numpy(), from_pandas=True) if numeric else pa.array(series))
    return pa.Table.from_arrays(columns, names=[*ids, *frame.columns])


def encode_run(spec: RunSpec, result: RunResult) -> RunFiles:
    """The files of a finished run: the time series with the run's ids in front, the firm table
    with its run id, and the summary row (ids, status, lever settings, uncertainty values,
    outcomes, timing)."""
    assert result.timeseries is not None and result.summary is not None
    meta = spec.meta()
    snapshot = None
    if result.snapshot is not None:
        snapshot = parquet_bytes(_frame_table({"run_id": spec.run_id}, result.snapshot))
    row = {**meta, "status": "ok", "error": None, **spec.columns, **result.summary,
           "elapsed_s": result.elapsed, "config_hash": spec.config_hash}
    return RunFiles(arrow_bytes(_frame_table(meta, result.timeseries)),
                    arrow_bytes(_row_table(row)), snapshot)


def run_encoded(spec: RunSpec) -> RunResult:
    """Make one run (:func:`~smegrowth.runner.run_one`) and encode its files in this process.

    A sweep maps this over its runs, so that a worker process does the encoding in parallel with
    the others, and the sweep process, which alone writes to the locked results folder, only
    writes bytes. The result keeps the summary and drops
    the frames, which are in the files. Like a model error, an error while encoding fails the run.
    """
    result = run_one(spec)
    if not result.ok:
        return result
    try:
        files = encode_run(spec, result)
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
        return RunResult.failure(spec, exc, result.elapsed, result.worker)
    return dataclasses.replace(result, timeseries=None, snapshot=None, files=files)


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as dead).

    On Windows ``os.kill(pid, 0)`` would terminate the process, so there a pid is not checked
    (the lock file's own lock already says whether its holder is alive)."""
    if os.name == "nt":
        return False
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


def _read_fd(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 200).decode("utf-8", "replace")
    except OSError:
        return ""


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on the open file ``fd`` without waiting; False if another holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of ``folder``, None if there is none; :class:`StoreError` if unreadable, and
    :class:`ForeignManifestError` if another tool wrote it (JSON without what every smegrowth
    manifest records: the scenario and the package versions)."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: unreadable manifest ({exc}); use --fresh to start "
                         "again") from None
    if not isinstance(data, dict) or "scenario" not in data or "versions" not in data:
        raise ForeignManifestError(f"{path} is not a smegrowth manifest; choose another --out")
    kinds = {"scenario": dict, "versions": dict, "model": dict, "format": int}
    for key, kind in kinds.items():
        if key in data and not (isinstance(data[key], kind) and not isinstance(data[key], bool)):
            raise StoreError(f"{path}: damaged manifest ({key} is {type(data[key]).__name__}, not "
                             f"{'an object' if kind is dict else 'a whole number'}); use --fresh to start again")
    return data


def _is_empty(folder: Path) -> bool:
    """Nothing but a lock, temporary files, or an empty ``runs/`` left by a start that failed."""
    def ignorable(p: Path) -> bool:
        if p.name == LOCK or p.name.endswith(".tmp"):
            return True
        return p.name == RUNS and p.is_dir() and not p.is_symlink() and _is_empty(p)

    return all(ignorable(p) for p in folder.iterdir())


def _holds_runs(folder: Path) -> bool:
    """Whether ``folder`` holds a sweep's run files, tables or snapshots (even without its manifest)."""
    if (folder / RUNS_TABLE).is_file() or (folder / TIMESERIES_TABLE).is_file():
        return True
    runs = folder / RUNS
    if runs.is_dir() and any(p.suffix == ".arrow" or p.name.endswith(".failed.json") for p in runs.iterdir()):
        return True
    return any((folder / name).is_dir() and any((folder / name).iterdir()) for name in (SNAPSHOTS, CORRUPT))


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
        if not _holds_runs(folder):
            raise StoreError(f"{folder} is not empty and is not a smegrowth results folder (no "
                             f"{MANIFEST}); choose another --out")
        if fresh:
            return None
        raise StoreError(f"{folder} holds smegrowth runs but its {MANIFEST} is missing, so what they "
                         "were made from is unknown; use --fresh to replace them or --out DIR")
    if fresh:
        try:
            read_manifest(folder)
        except ForeignManifestError:
            raise
        except StoreError:  # not JSON: a damaged manifest of ours, which --fresh replaces
            pass
        return None
    old = read_manifest(folder)
    assert old is not None
    if old.get("format", 1) != FORMAT:
        raise StoreError(
            f"{folder} holds results in the layout of another version of smegrowth (format "
            f"{old.get('format', 1)} there, {FORMAT} now); finish that sweep with the version that "
            "started it, or use --fresh to replace them or --out DIR to keep both")
    made_with = old.get("versions", {}).get("smegrowth")
    running = manifest.get("versions", {}).get("smegrowth")
    if made_with and running and made_with != running:
        raise StoreError(
            f"{folder} holds results made with smegrowth {made_with}, and this is {running}: its runs "
            "would mix two versions of the model; finish that sweep with the version that started it, "
            "or use --fresh to replace them or --out DIR to keep both")
    if not old.get("model"):
        reason = "it has no record of the model it was made with"
    elif differences := model_differences(old["model"], manifest.get("model") or {}, "there", "now"):
        reason = f"{differences}: smegrowth or numpy was edited or reinstalled since"
    else:
        reason = ""
    if reason:
        raise StoreError(
            f"{folder} holds results of smegrowth {made_with} made with another model than this one "
            f"({reason}): its runs would mix two models; finish that sweep with what started it, or use "
            "--fresh to replace them or --out DIR to keep both")
    if isinstance(old.get("name"), str) and old["name"] != manifest.get("name"):
        raise StoreError(f"{folder} holds results of another sweep, '{old['name']}' (this is "
                         f"'{manifest.get('name')}'); use --fresh to replace them or --out DIR to keep both")
    new_s, old_s = manifest["scenario"], old.get("scenario", {})
    changed = [key for key in ("sha256", "resolved_sha256") if new_s.get(key) != old_s.get(key)]
    if changed:
        what = "scenario file" if "sha256" in changed and new_s.get("sha256") else "scenario"
        raise StoreError(
            f"{folder} holds results of a different version of this {what} (hash "
            f"{str(old_s.get(changed[0]))[:12]} there, {str(new_s.get(changed[0]))[:12]} now); "
            "use --fresh to replace them or --out DIR to keep both")
    # (a folder made before the modules were hashed has no record of them: it resumes, and is
    # checked from then on)
    if "imports_sha256" in old_s and new_s.get("imports_sha256") != old_s["imports_sha256"]:
        modules = ", ".join(m["module"] for m in new_s.get("imports", [])) or "none now"
        raise StoreError(
            f"{folder} holds results made with other versions of the modules this scenario imports "
            f"({modules}); use --fresh to replace them or --out DIR to keep both")
    return old


def model_differences(theirs: dict[str, str], mine: dict[str, str], where_theirs: str, where_mine: str) -> str:
    """What differs between two :func:`~smegrowth.sweep.model_identity` records, e.g. "numpy 2.3.1
    there, 2.4.6 now"; empty if nothing does. Source hashes are shortened to 12 characters."""

    def shown(key: str, value: object) -> str:
        return str(value)[:12] if key == "source_sha256" else str(value)

    return "; ".join(f"{key} {shown(key, theirs.get(key))} {where_theirs}, {shown(key, value)} {where_mine}"
                     for key, value in mine.items() if theirs.get(key) != value)


class ResultsStore:
    """A locked results folder. Open with :meth:`open`; write runs with :meth:`write`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs_dir = folder / RUNS
        self.snapshots_dir = folder / SNAPSHOTS
        self._locked = False
        self._lock_fd = -1
        self.quarantined: list[str] = []
        """Runs whose damaged files were moved to ``corrupt/`` (to be made again)."""
        self.consolidated: pd.DataFrame | None = None
        """The runs table of the last consolidation, once both tables are in place (None before, or
        if it was stopped first)."""

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
        created = False
        try:
            folder.mkdir(parents=True)
            created = True
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot create results folder {folder}: "
                             f"{exc.strerror or exc}") from None
        store = cls(folder)
        try:
            store._lock()
        except StoreWriteError:
            if created:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
        try:
            try:
                old = check_folder(folder, manifest, fresh)
                if fresh:
                    store._clear()
                store._start(manifest, old, session or {})
            except BaseException as exc:
                if created:  # a folder we made and could not start: leave nothing behind
                    with contextlib.suppress(OSError):
                        store._clear()
                    store._unlock()
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                if isinstance(exc, OSError):
                    raise _write_error(folder, exc) from None
                raise
            yield store
        finally:
            store._unlock()

    def _in_use(self, holder: str) -> StoreError:
        pid_text, _, host = holder.strip().partition(" ")
        who = (f"pid {pid_text} on {host}" if pid_text.isdigit() and host
               else "another process")
        return StoreError(f"{self.folder} is in use by another sweep ({who}); wait for it to "
                          f"finish, or delete {self.folder / LOCK} if that process is gone")

    def _lock(self) -> None:
        """Hold ``.lock`` with an exclusive ``flock`` and write our pid and host into it.

        The kernel drops a ``flock`` when its process ends, however it ends, so a lock whose
        holder was killed is simply taken over. A lock file that names a live process although
        no one holds it (a sweep on another host sharing the folder, or an older smegrowth) is
        respected too.
        """
        path = self.folder / LOCK
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(10):
            try:
                fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
            except OSError as exc:
                raise _write_error(self.folder, exc) from None
            try:
                if not _try_lock(fd):
                    raise self._in_use(_read_fd(fd))
                if os.fstat(fd).st_ino != _inode(path):
                    os.close(fd)  # the holder we waited for removed the file; lock the new one
                    continue
                holder = _read_fd(fd)
                pid_text, _, host = holder.strip().partition(" ")
                if pid_text.isdigit() and (
                        (host and host != socket.gethostname()) or _pid_alive(int(pid_text))):
                    raise self._in_use(holder)
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, me.encode())
            except OSError as exc:
                os.close(fd)
                raise _write_error(self.folder, exc) from None
            except BaseException:
                os.close(fd)
                raise
            self._lock_fd = fd
            self._locked = True
            return
        raise StoreError(f"could not lock {self.folder}; another sweep keeps taking it")

    def _unlock(self) -> None:
        if not self._locked:
            return
        with contextlib.suppress(OSError):
            (self.folder / LOCK).unlink()  # while still holding it: no one can be between
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)
        self._locked = False

    def _clear(self) -> None:
        """Delete the folder's results (:data:`RESULTS` and our temporary files); keep anything else."""
        for entry in self.folder.iterdir():
            ours_temporary = entry.name.startswith(".") and entry.name.endswith(".tmp")  # atomic_write's
            if entry.name not in RESULTS and not ours_temporary:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def _start(self, manifest: dict[str, Any], old: dict[str, Any] | None,
               session: dict[str, Any]) -> None:
        for folder in (self.folder, self.runs_dir, self.snapshots_dir):
            for stray in folder.glob(".*.tmp"):
                stray.unlink(missing_ok=True)
        data = dict(manifest)
        if old is not None:
            data["created"] = old.get("created", data.get("created"))
            data["sessions"] = list(old.get("sessions", []))
        data["sessions"] = [*data.get("sessions", []), {"started": now(), **session}]
        write_json(self.folder / MANIFEST, data)
        self.runs_dir.mkdir(exist_ok=True)
        self.manifest = data

    # --- runs ------------------------------------------------------------------------------------
    def finished(self, runs: list[RunSpec] | None = None) -> set[str]:
        """Ids of runs whose files are all on disk and whole.

        With ``runs`` (the sweep's run list), a run whose summary row is there but whose files
        are damaged (truncated, empty, time series missing) is moved to ``corrupt/`` and left
        out, so it is made again.
        """
        if not self.runs_dir.exists():
            return set()
        present = {p.name[: -len(SUMMARY_SUFFIX)] for p in self.runs_dir.glob(f"*{SUMMARY_SUFFIX}")
                   if not p.name.endswith(TIMESERIES_SUFFIX) and not p.name.startswith(".")}
        if runs is None:
            return present
        done = set()
        for spec in runs:
            if spec.run_id not in present:
                continue
            files = self._files(spec)
            if all(looks_whole(f) for f in files):
                done.add(spec.run_id)
            else:
                self.quarantine(spec)
        return done

    def _files(self, spec: RunSpec) -> list[Path]:
        files = [self.runs_dir / f"{spec.run_id}{SUMMARY_SUFFIX}",
                 self.runs_dir / f"{spec.run_id}{TIMESERIES_SUFFIX}"]
        if spec.snapshots:
            files.append(self.snapshots_dir / f"{spec.run_id}.parquet")
        return files

    def quarantine(self, spec: RunSpec) -> None:
        """Move a damaged run's files to ``corrupt/`` (summary first, so it no longer counts as
        finished), to be inspected; the run will be made again."""
        target = self.folder / CORRUPT
        target.mkdir(exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        for path in self._files(spec):
            if path.exists():
                os.replace(path, target / f"{path.parent.name}.{path.name}.{stamp}")
        self.quarantined.append(spec.run_id)

    def write(self, spec: RunSpec, result: RunResult, done: int | None = None) -> None:
        """Write one run's files atomically: time series and snapshot first, summary row last
        (encoded here unless the result brings them, see :func:`run_encoded`).

        Raises:
            StoreWriteError: the folder cannot be written to (``done`` runs are safe there).
        """
        try:
            self._write(spec, result)
        except OSError as exc:
            raise _write_error(self.folder, exc, done) from None

    def _write(self, spec: RunSpec, result: RunResult) -> None:
        failed = self.runs_dir / f"{spec.run_id}.failed.json"
        if not result.ok:
            write_json(failed, {**spec.meta(), "config_hash": spec.config_hash,
                                "error_type": (result.error or {}).get("type"),
                                "message": (result.error or {}).get("message"),
                                "traceback": (result.error or {}).get("traceback"),
                                "elapsed_s": result.elapsed, "worker": result.worker,
                                "finished": now()})
            return
        files = result.files if result.files is not None else encode_run(spec, result)
        write_bytes(self.runs_dir / f"{spec.run_id}{TIMESERIES_SUFFIX}", files.timeseries)
        if files.snapshot is not None:
            self.snapshots_dir.mkdir(exist_ok=True)
            write_bytes(self.snapshots_dir / f"{spec.run_id}.parquet", files.snapshot)
        write_bytes(self.runs_dir / f"{spec.run_id}{SUMMARY_SUFFIX}", files.summary)
        failed.unlink(missing_ok=True)

    # --- consolidation ---------------------------------------------------------------------------
    def _read_summary(self, spec: RunSpec) -> tuple[pa.Table, pa.Schema] | Literal[False] | None:
        """A finished run's summary row, checked to be this run's (id, configuration hash), and
        the schema of its time series; None if the run has no summary, False if its files are
        damaged."""
        path = self.runs_dir / f"{spec.run_id}{SUMMARY_SUFFIX}"
        try:
            if not path.exists():
                return None
            table = read_arrow(path)
            schema = read_arrow_schema(self.runs_dir / f"{spec.run_id}{TIMESERIES_SUFFIX}")
            ok = (table.num_rows == 1 and table["run_id"][0].as_py() == spec.run_id
                  and table["config_hash"][0].as_py() == spec.config_hash
                  and "run_id" in schema.names)
        except (OSError, ValueError, KeyError, pa.ArrowException):
            ok = False
        return (table, schema) if ok else False

    def _read_timeseries(self, spec: RunSpec, schema: pa.Schema) -> pa.Table | None:
        """A finished run's time series, checked to be this run's, with the columns of ``schema``;
        None if damaged."""
        try:
            table = read_arrow(self.runs_dir / f"{spec.run_id}{TIMESERIES_SUFFIX}")
            if table["run_id"].unique().to_pylist() != [spec.run_id]:
                raise ValueError("another run's time series")
            return _conform(table, schema)
        except (OSError, ValueError, KeyError, pa.ArrowException):
            return None

    def consolidate(self, runs: list[RunSpec]) -> pd.DataFrame:
        """Write ``timeseries.parquet`` and ``runs.parquet`` from the run files, in run-list order.

        Failed runs are rows with ``status`` "failed" and their error; runs not yet made are left
        out, and so are runs whose files turn out damaged (moved to ``corrupt/``, listed in
        :attr:`quarantined`, made again on resume). Returns the runs table.

        Raises:
            StoreWriteError: the tables cannot be written.
        """
        try:
            return self._consolidate(runs)
        except OSError as exc:
            raise _write_error(self.folder, exc) from None

    def current_runs_table(self, runs: list[RunSpec]) -> pd.DataFrame | None:
        """The runs table of the last consolidation if it is still current, else None (consolidate).

        Current means: both tables are whole and were made in order, the time series before the runs
        table (an interrupted consolidation can leave one new and one old), after every run file
        last changed (written, copied or renamed in: its modification or status-change time); and
        the runs table, read with its page checksums, lists every run of ``runs`` in order, finished
        ("ok") with its configuration hash. A finished sweep run again then reads one table instead
        of every run's files. Only for sweeps whose runs are all finished: failed runs are retried,
        and then the tables are made again.
        """
        table, series = self.folder / RUNS_TABLE, self.folder / TIMESERIES_TABLE
        if not (looks_whole(table) and looks_whole(series)):
            return None
        try:
            made = series.stat().st_mtime_ns
            if table.stat().st_mtime_ns < made:
                return None
            with os.scandir(self.runs_dir) as entries:
                for entry in entries:
                    info = entry.stat()
                    if not entry.name.startswith(".") and max(info.st_mtime_ns, info.st_ctime_ns) > made:
                        return None
            frame = pd.read_parquet(table, page_checksum_verification=True)
            listed = list(frame[["run_id", "config_hash", "status"]].itertuples(index=False, name=None))
        except (OSError, ValueError, KeyError, pa.ArrowException):
            return None
        if listed != [(spec.run_id, spec.config_hash, "ok") for spec in runs]:
            return None
        self.consolidated = frame
        return frame

    def _consolidate(self, runs: list[RunSpec]) -> pd.DataFrame:
        rows: dict[str, pa.Table] = {}
        finished: list[tuple[RunSpec, pa.Schema]] = []
        for spec, read in zip(runs, map(self._read_summary, runs), strict=True):
            failed = self.runs_dir / f"{spec.run_id}.failed.json"
            if read is False:  # damaged: made again on resume
                self.quarantine(spec)
            elif read is not None:
                rows[spec.run_id] = read[0]
                finished.append((spec, read[1]))
            elif failed.exists():
                try:
                    info = json.loads(failed.read_text(encoding="utf-8"))
                    if not isinstance(info, dict):
                        raise ValueError("not a JSON object")
                except (OSError, ValueError):
                    info = {"error_type": "unknown", "message": f"unreadable {failed.name}"}
                error = f"{info.get('error_type')}: {info.get('message')}"
                row = {**spec.meta(), "status": "failed", "error": error, **spec.columns,
                       "elapsed_s": info.get("elapsed_s"), "config_hash": spec.config_hash}
                rows[spec.run_id] = pa.Table.from_pylist([row])
        write_timeseries, damaged = self._timeseries_writer(finished)
        table: list[pd.DataFrame] = []
        self.consolidated = None

        def write_runs(tmp: Path) -> None:  # after the time series: without the runs it found damaged
            for spec in damaged:
                del rows[spec.run_id]
            tables = [rows[s.run_id] for s in runs if s.run_id in rows]
            if tables:
                frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
            else:
                frame = pd.DataFrame(columns=[*META_COLUMNS, "status", "error"])
            frame = frame[_ordered(list(frame.columns), runs)]
            frame.to_parquet(tmp, index=False, write_page_checksum=True)
            table.append(frame)

        def committed() -> None:
            for spec in damaged:
                self.quarantine(spec)  # made again on resume
            self.consolidated = table[0]

        # both tables or neither: an interrupt never leaves one up to date and the other not
        tables = {self.folder / TIMESERIES_TABLE: write_timeseries, self.folder / RUNS_TABLE: write_runs}
        atomic_write_all(tables, committed)
        return table[0]

    def _timeseries_writer(
        self, finished: list[tuple[RunSpec, pa.Schema]]
    ) -> tuple[Callable[[Path], None], list[RunSpec]]:
        """A writer streaming the runs' time series into ``timeseries.parquet``, and the list it
        fills with the runs whose time series could not be read whole (to be left out)."""
        damaged: list[RunSpec] = []
        if not finished:
            empty = pd.DataFrame(columns=META_COLUMNS)
            return (lambda tmp: empty.to_parquet(tmp, index=False, write_page_checksum=True)), damaged
        schema, left_out = _merged_schema(finished)
        out_ids = {spec.run_id for spec in left_out}
        finished = [(spec, s) for spec, s in finished if spec.run_id not in out_ids]

        def write(tmp: Path) -> None:
            damaged[:] = left_out  # their time series has a column of another type: not this sweep's
            with pq.ParquetWriter(tmp, schema, write_page_checksum=True) as writer:
                batch: list[pa.Table] = []
                rows = 0
                specs = [spec for spec, _ in finished]
                tables = (self._read_timeseries(spec, schema) for spec in specs)
                for spec, table in zip(specs, tables, strict=True):
                    if table is None:
                        damaged.append(spec)
                        continue
                    batch.append(table)
                    rows += len(table)
                    if rows >= TS_BATCH_ROWS:
                        writer.write_table(pa.concat_tables(batch))
                        batch, rows = [], 0
                if batch:
                    writer.write_table(pa.concat_tables(batch))

        return write, damaged


def _merged_schema(finished: list[tuple[RunSpec, pa.Schema]]) -> tuple[pa.Schema, list[RunSpec]]:
    """The schema of the consolidated time series: the runs' schemas merged (a column that some
    runs lack is null for them), and the runs left out because theirs cannot be merged (a column of
    another type, names twice: a file from elsewhere). The most common schemas are merged first, so
    one odd file cannot make the others the odd ones."""
    try:
        merged = pa.unify_schemas([s for _, s in finished], promote_options="permissive")
        left_out: list[RunSpec] = []
    except pa.ArrowException:
        keys = [s.serialize().to_pybytes() for _, s in finished]
        counts = Counter(keys)
        ranked = [item for _, item in sorted(zip(keys, finished, strict=True), key=lambda pair: -counts[pair[0]])]
        merged, left_out = None, []
        for spec, schema in ranked:
            try:
                merged = pa.unify_schemas([schema] if merged is None else [merged, schema],
                                          promote_options="permissive")
            except pa.ArrowException:
                left_out.append(spec)
        if merged is None:  # not one could be merged, even alone
            merged = pa.schema([])
    return pa.schema([f.remove_metadata() for f in merged]).remove_metadata(), left_out


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with the columns and types of ``schema`` (missing columns as nulls); as it is
    when it has them already, which is the usual case (every run has the same outcomes)."""
    table = table.replace_schema_metadata(None)
    if table.schema.equals(schema):
        return table
    have = set(table.column_names)
    columns = [table[n] if n in have else pa.nulls(len(table), t)
               for n, t in zip(schema.names, schema.types, strict=True)]
    return pa.table(columns, names=schema.names).cast(schema)


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
