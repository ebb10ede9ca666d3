"""Where runs execute: in this process, on a local process pool, or on a Dask cluster.

Every executor maps a run function that never raises (:func:`smegrowth.runner.run_one`, or the
sweep's :func:`smegrowth.store.run_encoded`) over run specs and yields results as they finish, in
any order. A run's outcome depends only on its spec (its seed included), so all three
give identical results. Infrastructure failures (a worker process that dies, a lost Dask worker)
do not stop the sweep: the process pool starts new workers and makes the runs that were in flight
again, one at a time, so that a run that kills its worker twice (out of memory, a crash in native
code) is recorded as failed without taking innocent runs with it; Dask reschedules work on its
own. Runs that still fail are retried when the sweep is resumed.

* :class:`InProcess` - one run after another here; used for ``--workers 1`` and single runs.
* :class:`ProcessPool` - ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start
  method (safe with threads, and the same on Linux, macOS and Windows); the default.
* :class:`DaskExecutor` - a ``distributed`` scheduler at an address, or a ``LocalCluster`` on
  127.0.0.1 only. Workers need smegrowth (and any module defining your own levers) installed.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .runner import RunResult, RunSpec

RunFunction = Callable[[RunSpec], RunResult]


class ExecutorError(RuntimeError):
    """An executor that cannot start (bad worker count, unreachable scheduler)."""


class WorkerDiedError(RuntimeError):
    """The worker process making a run died (killed, out of memory, a crash in native code)."""


MAX_WORKER_DEATHS = 2
"""A run whose worker process died this many times (the last time alone) is recorded as failed."""


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


def _worker_init(parent: int) -> None:
    """Worker initializer: leave Ctrl-C to the sweep process (which stops the workers itself, so a
    terminal's Ctrl-C does not print a traceback from every worker), and exit when the sweep
    process dies (even by SIGKILL) instead of idling."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class ProcessPool(Executor):
    """A local pool of ``workers`` processes (``spawn`` start method)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ExecutorError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self.description = f"process pool ({workers} workers)"
        self.restarts = 0
        """How many times the pool was replaced after a worker process died."""
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init, initargs=(os.getpid(),),
        )

    def _restart(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._new_pool()
        self.restarts += 1

    def map(self, fn: RunFunction, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        """Keep ``2 x workers`` runs in flight (so a dying worker takes few runs with it); when
        one dies, start a new pool and make the runs that were in flight again, one at a time.
        """
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
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
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

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def abort(self) -> None:
        terminate = getattr(self._pool, "terminate_workers", None)  # Python >= 3.14
        if terminate is not None:
            terminate()
        else:
            for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                process.terminate()
        # The pool keeps the write end of its result pipe in this process too, so a worker killed
        # while it was sending a result (a run's files fill several pipe buffers) would leave half
        # a message that the pool's manager thread waits for forever, and shutdown with it (a
        # signalled sweep hung about once in fifteen). With this end closed, the dead workers'
        # ends closing make that end-of-file, which the pool takes for a broken pool.
        writer = getattr(getattr(self._pool, "_result_queue", None), "_writer", None)
        if writer is not None:
            writer.close()
        self._pool.shutdown(wait=True, cancel_futures=True)


NANNY_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
"""Dask's nannies set ``MALLOC_TRIM_THRESHOLD_=65536`` in workers, which turns off glibc's dynamic
mmap threshold: every array above 128 kB is then mmapped and unmapped afresh, and a run at scale
0.1 takes ~1.8 times as long (1.1 s instead of 0.6 s). Our local clusters unset it; on your own
cluster set ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null`` in the workers'
Dask config."""


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
                self._client = Client(scheduler, timeout="15s")
                self.description = f"Dask cluster at {scheduler}"
            else:
                workers = local_workers or os.cpu_count() or 1
                with dask.config.set({NANNY_TRIM: None, WORKER_PROFILER: False}):
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

    def map(self, fn: RunFunction, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        from distributed import as_completed as dask_completed

        futures = self._client.map(fn, list(specs), pure=False)
        by_key = {f.key: s for f, s in zip(futures, specs, strict=True)}
        try:
            for future in dask_completed(futures):
                spec = by_key.pop(future.key)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker fails its run only
                    result = RunResult.failure(spec, exc)
                future.release()
                yield result
        finally:
            self._client.cancel([f for f in futures if f.key in by_key])

    def close(self, wait: bool = True) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, scheduler: str | None = None,
                  dask_local: bool = False, runs: int | None = None) -> Executor:
    """The executor for these options: Dask if asked, in-process for one worker, else a pool.

    ``workers`` defaults to the number of CPUs; with ``dask_local`` it is the local cluster's size.
    With ``runs`` (the number of runs to make) no more local workers than runs are started.
    """
    if scheduler and dask_local:
        raise ExecutorError("give either --scheduler or --dask-local, not both")
    if workers is not None and workers < 1:
        raise ExecutorError(f"--workers must be at least 1, got {workers}")
    n = workers or os.cpu_count() or 1
    if runs is not None:
        n = max(1, min(n, runs))
    if scheduler:
        return DaskExecutor(scheduler=scheduler)
    if dask_local:
        return DaskExecutor(local_workers=n)
    return InProcess() if n == 1 else ProcessPool(n)
