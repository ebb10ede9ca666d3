"""Where runs execute: in this process, on a local process pool, or on a Dask cluster.

Every executor maps a run function that never raises (:func:`smegrowth.runner.run_one`, or the
sweep's :func:`smegrowth.store.run_encoded`) over run specs and yields results as they finish, in
any order. A run's outcome depends only on its spec (its seed included), so all three
give identical results. Infrastructure failures (a worker process that dies, a lost Dask worker)
do not stop the sweep: the process pool starts new workers and makes the runs that were in flight
again, one at a time, so that a run that kills its worker twice (out of memory, a crash in native
code) is recorded as failed without taking innocent runs with it; Dask reschedules work on its
own, and a Dask task of several runs that still fails is sent again run by run. Runs that still
fail are retried when the sweep is resumed.

* :class:`InProcess` - one run after another here; used for ``--workers 1`` and single runs.
* :class:`ProcessPool` - ``concurrent.futures.ProcessPoolExecutor``; the default. Its workers
  are forked from a fork server that has already imported smegrowth (the ``forkserver`` start
  method, on Linux and macOS), so a worker starts in milliseconds instead of importing
  everything again; where there is no fork server (Windows) they are ``spawn``-ed. Never
  ``fork``: the sweep process has threads. See :func:`start_worker_server`.
* :class:`DaskExecutor` - a ``distributed`` scheduler at an address, or a ``LocalCluster`` on
  127.0.0.1 only, whose nannies fork their workers from the same fork server where there is one.
  Workers need smegrowth (and any module defining your own levers) installed. Each task makes up
  to four runs (:func:`batch_size`), which halves Dask's processor time per run.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when used: the command line starts the fork server before them
    from .runner import RunResult, RunSpec

RunFunction = Callable[["RunSpec"], "RunResult"]


class ExecutorError(RuntimeError):
    """An executor that cannot start (bad worker count, unreachable scheduler)."""


class WorkerDiedError(RuntimeError):
    """The worker process making a run died (killed, out of memory, a crash in native code)."""


MAX_WORKER_DEATHS = 2
"""A run whose worker process died this many times (the last time alone) is recorded as failed."""

WATCH_INTERVAL = 1.0
"""Seconds between the process pool's checks that its workers are alive."""
MAX_STOPS = 3
"""How many times a stuck pool is stopped (see :meth:`ProcessPool._wait`) before the sweep gives up."""
STUCK_AFTER = 3.0
"""Seconds a worker may lie dead in a pool that is not broken before the pool counts as stuck (the
pool notices a dead worker itself within milliseconds, except in the case of
:meth:`ProcessPool._wait`)."""


class Executor:
    """Base class: runs specs and yields their results as they complete."""

    description = "executor"

    def map(self, fn: RunFunction, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        raise NotImplementedError

    def close(self, wait: bool = True) -> None:
        """Release workers and connections (letting runs in progress finish).

        With ``wait`` false, return at once where workers can exit on their own (the process
        pool's; this process still waits for them before it exits).
        """

    def abort(self) -> None:
        """Stop at once (after Ctrl-C or an error): drop runs in progress, release workers."""
        self.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcess(Executor):
    """Runs one after another in this process."""

    description = "in-process"

    def map(self, fn: RunFunction, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        for spec in specs:
            yield fn(spec)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread while worker processes may be started: they inherit the mask,
    so a Ctrl-C that reaches them while they are still importing cannot print a traceback (the
    sweep process still gets it, through another thread)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


WORKER_MODULES = ("smegrowth.pool_worker",)
"""What the fork server imports before it forks workers: the model, the run function a sweep maps
(:func:`smegrowth.store.run_encoded`) and, from a tiny run, the model's compiled loops."""

WORKER_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Environment of the fork server (and so of its workers): BLAS and OpenMP on one thread each.

OpenBLAS starts its thread pool when numpy is imported; with these it starts none, and a pool
uses every core with its processes already (Dask's nannies set the same in their workers). The
fork server then runs one other thread: the background purge thread of the jemalloc that pyarrow
bundles, started when pyarrow loads. Forking with it is safe: jemalloc takes its locks in a
``pthread_atfork`` handler and restarts the thread in the child when needed."""


def has_fork_server() -> bool:
    """Whether this platform has the ``forkserver`` start method (Linux, macOS; not Windows)."""
    return "forkserver" in multiprocessing.get_all_start_methods()


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set while inside, as it was afterwards."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_worker_server(preload: Sequence[str] = ()) -> None:
    """Start the fork server that pool workers are forked from, unless it runs already (or the
    platform has none); returns at once, the server imports :data:`WORKER_MODULES` and
    ``preload`` meanwhile (modules the workers would import anyway, such as those the main script
    imports: each worker runs it again, as ``__mp_main__``).

    A process pool starts it when needed; the ``smegrowth sweep`` command starts it before it
    imports the model itself, so the two imports overlap. The server is one fresh interpreter
    (started with :data:`WORKER_ENVIRONMENT`; it ignores Ctrl-C from its first import on, see
    :mod:`smegrowth.pool_worker`, and so do its workers); it exits with this process.
    """
    if not has_fork_server():
        return
    from multiprocessing import forkserver

    modules = [*WORKER_MODULES, *preload]
    multiprocessing.get_context("forkserver").set_forkserver_preload(modules)
    with _environment(WORKER_ENVIRONMENT), _sigint_blocked():
        forkserver.ensure_running()


def worker_context(preload: Sequence[str] = ()) -> BaseContext:
    """How local workers start: forked from the fork server (started with ``preload`` if it is not
    running yet) where there is one, else spawned."""
    if has_fork_server():
        start_worker_server(preload)
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def _worker_init() -> None:
    """Worker initializer: leave Ctrl-C to the sweep process (which stops the workers itself, so a
    terminal's Ctrl-C does not print a traceback from every worker), and exit when the sweep
    process dies (even by SIGKILL) instead of idling.

    The parent-watch thread waits on the sweep process's end of a pipe, which the kernel closes
    however that process ends (the worker's parent process may be the fork server instead)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    assert parent is not None, "a pool worker has a parent process"

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class ProcessPool(Executor):
    """A local pool of ``workers`` processes (see :func:`worker_context`)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ExecutorError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self.description = f"process pool ({workers} workers)"
        self.restarts = 0
        """How many times the pool was replaced after a worker process died."""
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=worker_context(),
                                   initializer=_worker_init)

    def _restart(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._new_pool()
        self.restarts += 1

    def map(self, fn: RunFunction, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        """Keep ``2 x workers`` runs in flight (so a dying worker takes few runs with it); when
        one dies, start a new pool and make the runs that were in flight again, one at a time.
        """
        from .runner import RunResult

        todo: deque[RunSpec] = deque(specs)
        suspects: deque[RunSpec] = deque()
        deaths: dict[str, int] = {}
        inflight: dict[Future[RunResult], RunSpec] = {}
        restarts = 0
        try:
            while todo or suspects or inflight:
                queue, limit = (suspects, 1) if suspects else (todo, 2 * self.workers)
                while queue and len(inflight) < limit:
                    spec = queue.popleft()
                    try:
                        with _sigint_blocked():
                            future = self._pool.submit(fn, spec)
                        inflight[future] = spec
                    except BrokenProcessPool:  # broke meanwhile: sorted out below
                        queue.appendleft(spec)
                        break
                if not inflight:
                    restarts += 1
                    if restarts > 2 * len(specs) + 10:
                        raise ExecutorError("worker processes keep dying as they start")
                    self._restart()
                    continue
                done = self._wait(inflight)
                broken = any(isinstance(f.exception(), BrokenProcessPool) for f in done
                             if not f.cancelled())
                if broken:
                    done, _ = wait(inflight)  # every run in flight fails with the pool
                alone = len(inflight) == 1
                for future in done:
                    spec = inflight.pop(future)
                    exc = None if future.cancelled() else future.exception()
                    if isinstance(exc, BrokenProcessPool):
                        deaths[spec.run_id] = deaths.get(spec.run_id, 0) + 1
                        if deaths[spec.run_id] >= MAX_WORKER_DEATHS and alone:
                            yield RunResult.failure(spec, WorkerDiedError(
                                f"the worker process making this run died {deaths[spec.run_id]} "
                                "times (killed, or out of memory?)"))
                        else:
                            suspects.append(spec)
                    elif exc is not None and not isinstance(exc, Exception):
                        raise exc  # Ctrl-C reached the workers too: the sweep is interrupted
                    elif exc is not None or future.cancelled():
                        yield RunResult.failure(spec, exc or WorkerDiedError("run cancelled"))
                    else:
                        yield future.result()
                if broken:
                    self._restart()
        finally:
            for future in inflight:
                future.cancel()

    def _wait(self, inflight: dict[Future[RunResult], RunSpec]) -> set[Future[RunResult]]:
        """Wait until a run in flight is done, and break the pool if it is stuck.

        A worker killed while it sends a result (the OOM killer at the end of a run: a run's files
        fill several pipe buffers) leaves half a message in the result pipe, which the pool's
        manager thread waits to read to the end, forever: it never sees that the worker died, and
        no future ever completes. A worker dead for :data:`STUCK_AFTER` seconds while the pool is not
        broken is that case: the pool's workers are stopped and its result pipe closed, so the
        manager thread reads end-of-file and breaks the pool, and its runs are made again.
        """
        dead_since: float | None = None
        stops = 0
        while True:
            done, _ = wait(inflight, timeout=WATCH_INTERVAL, return_when=FIRST_COMPLETED)
            if done:
                return done
            if getattr(self._pool, "_broken", False):
                continue  # the manager thread is failing the runs in flight
            # a sentinel is readable once its process has ended; waiting on it reads nothing
            if not multiprocessing.connection.wait([p.sentinel for p in self._workers()], timeout=0):
                dead_since = None
            elif dead_since is None:
                dead_since = time.monotonic()
            elif time.monotonic() - dead_since > STUCK_AFTER:
                if stops == MAX_STOPS:
                    raise ExecutorError("the worker pool is stuck: a worker died and the pool did not notice")
                logging.getLogger(__name__).warning("a worker died while sending a result: restarting the pool")
                self._stop_workers()
                stops += 1
                dead_since = None

    def _workers(self) -> list[multiprocessing.process.BaseProcess]:
        """The pool's worker processes (none once it has shut down)."""
        return list((getattr(self._pool, "_processes", None) or {}).values())

    def _stop_workers(self) -> None:
        """Terminate the pool's workers and close this process's end of their result pipe.

        The pool keeps the write end of its result pipe in this process too, so a worker killed
        while it was sending a result would leave half a message that the pool's manager thread
        waits for forever, and shutdown with it (a signalled sweep hung about once in fifteen). With
        this end closed, the workers' ends closing as they die make that end-of-file, which the pool
        takes for a broken pool. (Not ``terminate_workers()`` of Python 3.14: it shuts the pool down
        first, which forgets the pipe and would leave it open.)"""
        processes = self._workers()
        writer = getattr(getattr(self._pool, "_result_queue", None), "_writer", None)
        for process in processes:
            process.terminate()
        if writer is not None:
            writer.close()

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def abort(self) -> None:
        self._stop_workers()
        self._pool.shutdown(wait=True, cancel_futures=True)


NANNY_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
"""Dask's nannies set ``MALLOC_TRIM_THRESHOLD_=65536`` in workers, which turns off glibc's dynamic
mmap threshold: every array above 128 kB is then mmapped and unmapped afresh, and a run at scale
0.1 takes ~1.8 times as long (1.1 s instead of 0.6 s). Our local clusters unset it; on your own
cluster set ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null`` in the workers'
Dask config."""


DASK_START_METHOD = "distributed.worker.multiprocessing-method"
"""How a Dask nanny starts its worker process. Our local clusters fork them from the fork server
(:func:`start_worker_server`, with ``distributed`` preloaded too), where there is one: a worker
then starts with the model loaded instead of importing everything (about 2 s of CPU each)."""
DASK_WORKER_MODULES = ("distributed",)
"""What the fork server imports besides :data:`WORKER_MODULES` when it serves a Dask local cluster."""

WORKER_PROFILER = "distributed.worker.profile.enabled"
"""Dask workers sample their threads' stacks every 10 ms for the dashboard's profile; on a model run,
which is all computing, that costs ~10 % of the run (at scale 0.1: 0.17 s a run instead of 0.155 s,
medians of 16 runs in a one-worker cluster, three alternations each way). Our local clusters turn it
off; on your own cluster set ``distributed.worker.profile.enabled: false`` in the workers' config."""


class DaskExecutor(Executor):
    """Runs on a Dask ``distributed`` cluster: at ``scheduler``, or a new local one."""

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
            raise ExecutorError(f"Dask executor needs dask[distributed]: {exc}") from None
        self._cluster: Any = None
        try:
            if scheduler:
                self._client = _connect(Client, scheduler)
                self.description = f"Dask cluster at {scheduler}"
            else:
                workers = local_workers or os.cpu_count() or 1
                method = worker_context(DASK_WORKER_MODULES).get_start_method()
                with dask.config.set({NANNY_TRIM: None, WORKER_PROFILER: False, DASK_START_METHOD: method}):
                    self._cluster = LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                    )
                self._client = Client(self._cluster)
                self.description = f"Dask local cluster ({workers} workers)"
        except (OSError, TimeoutError, ValueError) as exc:
            self.close()
            where = scheduler or "a local cluster"
            raise ExecutorError(f"cannot connect to Dask at {where}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - an address of another protocol (tls:// without a
            self.close()  # certificate, ucx:// without UCX, ws:// to a web server) fails in many ways
            if not scheduler:
                raise
            raise ExecutorError(f"cannot connect to Dask at {scheduler}: {type(exc).__name__}: {exc}") from None
        try:
            self._identity = _check_workers(self._client)
        except ExecutorError:
            self.close()
            raise

    def map(self, fn: RunFunction, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        """Runs go to the workers in batches of a few (:func:`batch_size`): Dask's scheduler and
        workers spend several milliseconds of processor time on each task, which on a machine whose
        cores all run workers slows the runs themselves. A batch that fails (its worker was lost, and
        lost again each time Dask retried it) is sent again run by run, so that only the run that
        fails it fails."""
        from distributed import as_completed as dask_completed

        from .runner import RunResult

        specs = list(specs)
        size = batch_size(len(specs), sum(self._client.nthreads().values()))
        batches = [specs[i : i + size] for i in range(0, len(specs), size)]
        futures = self._client.map(run_batch, batches, fn=fn, identity=self._identity, pure=False)
        waiting = {f.key: (f, batch) for f, batch in zip(futures, batches, strict=True)}
        completed = dask_completed(futures)
        try:
            for future in completed:
                _, batch = waiting.pop(future.key)
                try:
                    results = future.result()
                except ModelMismatchError as exc:
                    raise ExecutorError(str(exc)) from None
                except Exception as exc:  # noqa: BLE001 - a lost worker fails its run only
                    if len(batch) > 1:
                        singles = self._client.map(run_batch, [[spec] for spec in batch], fn=fn,
                                                   identity=self._identity, pure=False)
                        for single, spec in zip(singles, batch, strict=True):
                            waiting[single.key] = (single, [spec])
                            completed.add(single)
                        results = []
                    else:
                        results = [RunResult.failure(batch[0], exc)]
                future.release()
                yield from results
        finally:
            self._client.cancel([f for f, _ in waiting.values()])

    def close(self, wait: bool = True) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()


CONNECT_TIMEOUT = 15.0
"""Seconds to wait for a Dask scheduler to answer (see :func:`_connect`)."""


def _connect(client: Callable[..., Any], address: str) -> Any:
    """A Dask ``client`` of the scheduler at ``address``, within :data:`CONNECT_TIMEOUT` seconds.

    ``distributed``'s own timeout covers opening the connection but not the handshake after it, so
    an address where something else listens (a web server, say) would wait for ever: the client is
    made on another thread, which is left behind if it does not finish in time.

    Raises:
        TimeoutError: nothing answered as a Dask scheduler in time.
        Exception: what ``distributed`` raised.
    """
    made: dict[str, Any] = {}

    def connect() -> None:
        try:
            made["client"] = client(address, timeout=f"{CONNECT_TIMEOUT}s")
        except BaseException as exc:  # noqa: BLE001 - raised again below, in the caller's thread
            made["error"] = exc

    thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT + 5.0)
    if "error" in made:
        raise made["error"]
    if "client" not in made:
        raise TimeoutError(f"nothing answered as a Dask scheduler within {CONNECT_TIMEOUT:.0f} s "
                           "(does another program listen there?)")
    return made["client"]


BATCH_MAX = 4
"""The most runs a Dask task makes (see :func:`batch_size`)."""


def batch_size(runs: int, threads: int) -> int:
    """Runs per Dask task for ``runs`` runs on ``threads`` worker threads: up to :data:`BATCH_MAX`,
    keeping at least eight tasks per thread, so that the last tasks to finish leave the other
    workers idle for less than a run or two."""
    return max(1, min(BATCH_MAX, runs // (8 * max(threads, 1))))


def _check_workers(client: Any) -> dict[str, str]:
    """The :func:`~smegrowth.sweep.model_identity` of this process, after checking that every worker
    of the cluster has the same: a worker with another smegrowth (or the same version edited) or
    another numpy would make runs of another model than the manifest records."""
    from .store import model_differences
    from .sweep import model_identity

    mine = model_identity()
    theirs = client.run(model_identity, on_error="return")
    for address, identity in sorted(theirs.items()):
        if isinstance(identity, BaseException):  # cannot import smegrowth, or one without model_identity
            raise ExecutorError(f"Dask worker {address} cannot report its smegrowth ({type(identity).__name__}: "
                                f"{identity}; none installed, or an older one?): install the same smegrowth "
                                "on every worker")
        differ = model_differences(identity, mine, "on the worker", "here")
        if differ:
            raise ExecutorError(f"Dask worker {address} would make runs with another model than this "
                                f"process ({differ}): install the same on every worker")
    return mine


class ModelMismatchError(ExecutorError):
    """A Dask worker that joined after the cluster was checked runs another model than the client."""


def run_batch(specs: Sequence[RunSpec], fn: RunFunction, identity: dict[str, str]) -> list[RunResult]:
    """``fn`` of each of ``specs``, in a Dask worker (a module-level function, so that tasks refer to
    it by name). A worker that joined after the cluster was checked and runs another model than
    ``identity`` (the client's) refuses the batch with :class:`ModelMismatchError`, which stops the
    sweep (its finished runs are kept): the scheduler would otherwise send that worker more runs."""
    from .store import model_differences
    from .sweep import model_identity

    differ = model_differences(model_identity(), identity, "on the worker", "on the client")
    if differ:
        from distributed import get_worker

        try:
            worker = f"Dask worker {get_worker().address}"
        except ValueError:  # not in a worker
            worker = "a Dask worker"
        raise ModelMismatchError(f"{worker}, which joined the cluster during the sweep, would make runs "
                                 f"with another model ({differ}): install the same on every worker, then "
                                 "run the sweep again to resume it")
    return [fn(spec) for spec in specs]


def local_workers(workers: int | None = None, runs: int | None = None) -> int:
    """How many local workers to start: ``workers``, default the number of CPUs, and no more
    than ``runs`` (the number of runs to make) when given."""
    n = workers or os.cpu_count() or 1
    return max(1, min(n, runs)) if runs is not None else n


def uses_worker_server(workers: int | None = None, scheduler: str | None = None,
                       dask_local: bool = False) -> bool:
    """Whether :func:`make_executor` would start worker processes from the fork server for these
    options (if there are at least two runs to make): a :class:`ProcessPool`, or a Dask local
    cluster, where the platform has a fork server."""
    if scheduler or not has_fork_server():
        return False
    return dask_local or local_workers(workers) > 1


def _is_main_test(test: ast.expr) -> bool:
    """Whether ``test`` is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = {test.left.__class__, test.comparators[0].__class__}
    names = [n.id for n in (test.left, test.comparators[0]) if isinstance(n, ast.Name)]
    texts = [n.value for n in (test.left, test.comparators[0]) if isinstance(n, ast.Constant)]
    return sides == {ast.Name, ast.Constant} and names == ["__name__"] and texts == ["__main__"]


def unguarded_main_call() -> tuple[str, int] | None:
    """Where the main script calls this at its top level outside ``if __name__ == "__main__":``
    (its file and line), or None. Local worker processes run the main script again as they start
    (Python's ``forkserver`` and ``spawn`` start methods), so such a call would start a sweep in
    every worker, and the workers die. Scripts run with ``python -c``, notebooks and the
    ``smegrowth`` command are never run again (or are guarded)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path:
        return None
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_globals is vars(main) and frame.f_code.co_name == "<module>"):
        frame = frame.f_back
    if frame is None:
        return None
    line = frame.f_lineno
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.If) and _is_main_test(node.test)
                and node.body[0].lineno <= line <= (node.body[-1].end_lineno or line)):
            return None
    return path, line


def make_executor(workers: int | None = None, scheduler: str | None = None,
                  dask_local: bool = False, runs: int | None = None) -> Executor:
    """The executor for these options: Dask if asked, in-process for one worker, else a pool.

    ``workers`` defaults to the number of CPUs; with ``dask_local`` it is the local cluster's size.
    With ``runs`` (the number of runs to make) no more local workers than runs are started.

    Raises:
        ExecutorError: contradictory options, or local workers asked for by a main script outside
            ``if __name__ == "__main__":`` (see :func:`unguarded_main_call`).
    """
    if scheduler is not None and not scheduler.strip():
        raise ExecutorError("--scheduler needs the address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    if scheduler and dask_local:
        raise ExecutorError("give either --scheduler or --dask-local, not both")
    if workers is not None and workers < 1:
        raise ExecutorError(f"--workers must be at least 1, got {workers}")
    n = local_workers(workers, runs)
    if scheduler:
        return DaskExecutor(scheduler=scheduler)
    if dask_local or n > 1:
        where = unguarded_main_call()
        if where is not None:
            raise ExecutorError(
                f"{where[0]}:{where[1]}: a sweep on local worker processes is started at the top level of the "
                "script, which every worker runs again as it starts: put it under "
                '`if __name__ == "__main__":` (or use workers=1)')
    if dask_local:
        return DaskExecutor(local_workers=n)
    return InProcess() if n == 1 else ProcessPool(n)
