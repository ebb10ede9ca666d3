"""Where runs execute: in this process, on a local process pool, or on a Dask cluster.

Every executor maps :func:`smegrowth.runner.run_one` over run specs and yields results as they
finish, in any order. A run's outcome depends only on its spec (its seed included), so all three
give identical results. Infrastructure failures (a worker process that dies, a lost Dask worker)
come back as failed runs, to be retried when the sweep is resumed.

* :class:`InProcess` - one run after another here; used for ``--workers 1`` and single runs.
* :class:`ProcessPool` - ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start
  method (safe with threads, and the same on Linux, macOS and Windows); the default.
* :class:`DaskExecutor` - a ``distributed`` scheduler at an address, or a ``LocalCluster`` on
  127.0.0.1 only. Workers need smegrowth (and any module defining your own levers) installed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any

from .runner import RunResult, RunSpec

RunFunction = Callable[[RunSpec], RunResult]


class ExecutorError(RuntimeError):
    """An executor that cannot start (bad worker count, unreachable scheduler)."""


class Executor:
    """Base class: runs specs and yields their results as they complete."""

    description = "executor"

    def map(self, fn: RunFunction, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers and connections."""

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


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: exit when the sweep process dies (even by SIGKILL) instead of idling."""

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
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent, initargs=(os.getpid(),),
        )

    def map(self, fn: RunFunction, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        futures: dict[Future[RunResult], RunSpec] = {self._pool.submit(fn, s): s for s in specs}
        try:
            for future in as_completed(futures):
                spec = futures.pop(future)
                try:
                    yield future.result()
                except Exception as exc:  # noqa: BLE001 - a dead worker fails its run, not the sweep
                    yield RunResult.failure(spec, exc)
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


NANNY_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
"""Dask's nannies set ``MALLOC_TRIM_THRESHOLD_=65536`` in workers, which turns off glibc's dynamic
mmap threshold: every array above 128 kB is then mmapped and unmapped afresh, and a run at scale
0.1 takes ~1.8 times as long (1.1 s instead of 0.6 s). Our local clusters unset it; on your own
cluster set ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null`` in the workers'
Dask config."""


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
                with dask.config.set({NANNY_TRIM: None}):
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

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, scheduler: str | None = None,
                  dask_local: bool = False) -> Executor:
    """The executor for these options: Dask if asked, in-process for one worker, else a pool.

    ``workers`` defaults to the number of CPUs; with ``dask_local`` it is the local cluster's size.
    """
    if scheduler and dask_local:
        raise ExecutorError("give either --scheduler or --dask-local, not both")
    if workers is not None and workers < 1:
        raise ExecutorError(f"--workers must be at least 1, got {workers}")
    if scheduler or dask_local:
        return DaskExecutor(scheduler=scheduler, local_workers=workers)
    n = workers or os.cpu_count() or 1
    return InProcess() if n == 1 else ProcessPool(n)
