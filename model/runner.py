"""The runs of a scenario or sweep, and how one run is executed.

:func:`plan_runs` expands a validated :class:`~smegrowth.scenario.Scenario` into its runs: every
policy x every sample point of the design x every replicate. Run ids are deterministic and stable,
``<policy>-s<sample:04d>-r<replicate:03d>``, and each run carries a short hash of its full
configuration. Replicate ``r`` has the same seed in every policy and sample point (common random
numbers; see :mod:`smegrowth.seeds`).

:func:`run_one` executes a run and never raises: a run whose model raises comes back as a failed
:class:`RunResult` with the error's type, message and traceback, so a sweep goes on. After each run
the Mesa model is taken apart (``remove_all_agents``) and garbage-collected: Mesa 3.3 keeps models
alive through agent references (mesa issue #3179), and a worker that runs thousands of models
must not grow. A full collection walks every object in the process (~0.05-0.1 s with pandas,
pyarrow and scipy loaded), which would triple the cost of a small run, so runs shorter than
:data:`FULL_GC_AFTER` collect the young generations only (measured: memory stays flat over 150
runs either way).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import outcomes
from .design import DesignPoints, sample_points
from .levers.base import LEVERS, Lever
from .model import EnterpriseModel
from .scenario import ResolvedPolicy, Scenario
from .seeds import replicate_seeds

if TYPE_CHECKING:
    from .store import RunFiles

META_COLUMNS = ["run_id", "policy", "sample", "replicate", "seed"]
"""Columns identifying a run, first in every results table."""
FULL_GC_AFTER = 1.0
"""Seconds: after a run at least this long, collect all generations (else the young ones)."""
TIMING_COLUMNS = ["elapsed_s", "config_hash"]
"""Columns at the end of the runs table that describe how a run was made, not what it found."""


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to make one run; small and picklable.

    Lever classes travel with the spec (pickled by reference), so a worker process imports the
    module that defines a user's own lever and the lever is registered there too.
    """

    run_id: str
    policy: str
    sample: int
    replicate: int
    seed: int
    scale: float
    quarters: int
    levers: dict[str, dict[str, Any]]
    lever_classes: dict[str, type[Lever]]
    parameters: dict[str, Any]
    point: dict[str, Any]
    outcomes: tuple[str, ...] | None
    snapshots: bool
    config_hash: str
    columns: dict[str, Any] = field(default_factory=dict)
    """Lever settings (``lever.<name>.<setting>``) and uncertainty values (``param.<name>``)."""

    def meta(self) -> dict[str, Any]:
        """The identifying columns of this run."""
        return {
            "run_id": self.run_id,
            "policy": self.policy,
            "sample": self.sample,
            "replicate": self.replicate,
            "seed": self.seed,
        }


@dataclass
class RunResult:
    """What came back from one run: outcomes, or the error that stopped it."""

    run_id: str
    ok: bool
    summary: dict[str, float] | None = None
    timeseries: pd.DataFrame | None = None
    snapshot: pd.DataFrame | None = None
    error: dict[str, str] | None = None
    elapsed: float = 0.0
    worker: str = ""
    files: RunFiles | None = None
    """The run's files, encoded where it was made (:func:`smegrowth.store.run_encoded`); the time
    series and snapshot frames are then left out."""

    @classmethod
    def failure(cls, spec: RunSpec, exc: BaseException, elapsed: float = 0.0, worker: str = "") -> RunResult:
        """A failed run, with the error's type, message and traceback."""
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(
            spec.run_id,
            False,
            error={"type": type(exc).__name__, "message": str(exc), "traceback": tb},
            elapsed=elapsed,
            worker=worker,
        )


@dataclass
class Plan:
    """A scenario expanded into runs, with the design's points and the replicate seeds."""

    scenario: Scenario
    policies: dict[str, ResolvedPolicy]
    design: DesignPoints
    seeds: list[int]
    runs: list[RunSpec]

    def execution_order(self) -> list[RunSpec]:
        """Runs ordered replicate by replicate, so a partial sweep covers every policy evenly."""
        index = {name: i for i, name in enumerate(self.policies)}
        return sorted(self.runs, key=lambda s: (s.replicate, s.sample, index[s.policy]))

    def describe(self) -> str:
        """``4 policies x 8 samples x 2 replicates = 64 runs``."""
        n_pol, n_pts, n_rep = len(self.policies), len(self.design.points), len(self.seeds)

        def plural(n: int, word: str) -> str:
            return f"{n} {word}{'' if n == 1 else 's'}"

        return (
            f"{plural(n_pol, 'policy').replace('policys', 'policies')} x "
            f"{plural(n_pts, 'sample')} x {plural(n_rep, 'replicate')} = "
            f"{plural(len(self.runs), 'run')}"
        )


def run_id(policy: str, sample: int, replicate: int) -> str:
    """The stable id of a run: ``baseline-s0003-r001``."""
    return f"{policy}-s{sample:04d}-r{replicate:03d}"


def config_hash(config: dict[str, Any]) -> str:
    """Short sha256 of a run's configuration in canonical JSON."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _flat_columns(prefix: str, value: Any) -> dict[str, Any]:
    """Nested settings as ``prefix.key`` columns; lists become JSON text (every cell a scalar)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat_columns(f"{prefix}.{k}", v))
        return out
    if isinstance(value, list | tuple):
        return {prefix: json.dumps(value, default=str)}
    return {prefix: value}


def _lever_columns(levers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name, settings in levers.items():
        full = LEVERS[name].Settings.model_validate(settings).model_dump(mode="json")
        columns.update(_flat_columns(f"lever.{name}", full))
    return columns


def plan_runs(scenario: Scenario) -> Plan:
    """Every run of ``scenario``: policies x sample points x replicates, in that nesting order."""
    policies = scenario.policies()
    design = sample_points(scenario)
    replicates = scenario.design.replicates if scenario.design else 1
    seeds = replicate_seeds(scenario.seed, replicates)
    axes = {u.name: u for u in scenario.uncertainties()}
    runs: list[RunSpec] = []
    for policy in policies.values():
        for sample, point in enumerate(design.points):
            levers = {name: dict(settings) for name, settings in policy.levers.items()}
            parameters = dict(policy.parameters)
            param_columns: dict[str, Any] = {}
            for name, value in point.items():
                target = axes[name].lever
                if target is None:
                    parameters[name] = value
                    param_columns.update(_flat_columns(f"param.{name}", value))
                elif target[0] in levers:
                    levers[target[0]][target[1]] = value
            columns = {**_lever_columns(levers), **param_columns}
            classes = {name: LEVERS[name] for name in levers}
            for replicate, seed in enumerate(seeds):
                config = {
                    "scale": scenario.scale,
                    "quarters": scenario.quarters,
                    "seed": seed,
                    "levers": levers,
                    "parameters": parameters,
                    "outcomes": scenario.outcomes,
                    "snapshots": scenario.snapshots,
                }
                runs.append(
                    RunSpec(
                        run_id=run_id(policy.name, sample, replicate),
                        policy=policy.name,
                        sample=sample,
                        replicate=replicate,
                        seed=seed,
                        scale=scenario.scale,
                        quarters=scenario.quarters,
                        levers=levers,
                        lever_classes=classes,
                        parameters=parameters,
                        point=dict(point),
                        outcomes=tuple(scenario.outcomes) if scenario.outcomes is not None else None,
                        snapshots=scenario.snapshots,
                        config_hash=config_hash(config),
                        columns=columns,
                    )
                )
    return Plan(scenario, policies, design, seeds, runs)


def _keep(name: str, wanted: set[str]) -> bool:
    if name in wanted:
        return True
    for suffix in ("_total", "_mean"):
        if name.endswith(suffix) and name[: -len(suffix)] in wanted:
            return True
    return any(f"{name}{suffix}" in wanted for suffix in ("_total", "_mean"))


def release(model: EnterpriseModel) -> None:
    """Take a finished model apart so its memory is freed (mesa issue #3179)."""
    model.release()


def execute(spec: RunSpec) -> RunResult:
    """Make one run and return its outcomes; errors from the model propagate."""
    start = time.perf_counter()
    model = None
    try:
        levers = [spec.lever_classes[name](**settings) for name, settings in spec.levers.items()]
        model = EnterpriseModel(scale=spec.scale, rng=spec.seed, parameters=dict(spec.parameters), levers=levers)
        ts = model.run(spec.quarters)
        summary = outcomes.summarise(ts)  # from the series just made, not a second one
        snapshot = model.firm_table() if spec.snapshots else None
    finally:
        if model is not None:
            release(model)
        del model
        if time.perf_counter() - start >= FULL_GC_AFTER:
            gc.collect()
        else:
            gc.collect(1)
    if spec.outcomes is not None:
        wanted = set(spec.outcomes)
        ts = ts[[c for c in ts.columns if c in ("quarter", "step") or _keep(c, wanted)]]
        summary = {k: v for k, v in summary.items() if k == "quarters" or _keep(k, wanted)}
    return RunResult(
        spec.run_id,
        True,
        summary=summary,
        timeseries=ts,
        snapshot=snapshot,
        elapsed=time.perf_counter() - start,
        worker=worker_name(),
    )


def run_one(spec: RunSpec) -> RunResult:
    """Make one run; an exception in the model comes back as a failed result instead of raising.

    A Ctrl-C (or the command line's SIGTERM) that native code turned into an ordinary exception
    still stops the sweep: numba, for one, reports a ``KeyboardInterrupt`` raised in a Python
    callback of a compiled loop as a ``SystemError`` caused by it."""
    start = time.perf_counter()
    try:
        return execute(spec)
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
        interrupt = _interrupt_behind(exc)
        if interrupt is not None:
            raise interrupt from exc
        return RunResult.failure(spec, exc, time.perf_counter() - start, worker_name())


def _interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The ``KeyboardInterrupt`` among the causes and contexts of ``exc``, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def worker_name() -> str:
    """``host:pid`` of the process making a run."""
    return f"{socket.gethostname()}:{os.getpid()}"
