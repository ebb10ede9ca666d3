"""The ``smegrowth`` command line: ``run``, ``sweep``, ``check`` and ``scenarios``.

User errors (a bad scenario file, bad options, a locked or mismatched results folder, a results
folder that cannot be written) print one line, ``error: <what is wrong>``, to stderr and exit with
status 2, without a traceback. A sweep with failed runs exits with status 1 after its summary line,
and so does ``run`` when the model raises (one line; ``--out DIR`` keeps the traceback on disk). A
sweep stopped by Ctrl-C (SIGINT) exits with 130, by SIGTERM with 143, once its finished runs are
safe and its tables consolidated.

Adding commands from another module: define ``register(app)`` in it (or decorate
``smegrowth.cli.app`` with ``@app.command()`` at import) and list the module in :data:`PLUGINS`.
Inside a command, ``with user_errors():`` turns the package's user-facing exceptions into the
one-line message and exit status 2.

This module imports only Typer when it loads; the commands import the model when they run. So
``smegrowth sweep`` with a process pool starts the pool's fork server first, which imports the
model while this process does too (see :func:`smegrowth.executors.start_worker_server`).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.resources
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .options import fail, one_line, share_of_population

SCENARIOS_ENV = "SMEGROWTH_SCENARIOS"
"""Environment variable naming a folder of scenario files to use instead of the bundled ones."""
PLUGINS: list[str] = ["smegrowth.analysis_cli", "smegrowth.validation_cli"]
"""Modules that add commands to :data:`app`; a missing module is skipped."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return one_line(str(exc)) or type(exc).__name__


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so a sweep stops as cleanly as on Ctrl-C."""


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM (a batch scheduler's or ``kill``'s stop) raises :class:`Terminated`
    instead of ending the process at once, so finished runs are consolidated first."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that are the user's to fix: reported in one line, exit status 2."""
    from .executors import ExecutorError
    from .levers.base import LeverError
    from .parameters import ParameterError
    from .scenario import ScenarioError
    from .store import StoreError

    return ScenarioError, ParameterError, LeverError, StoreError, ExecutorError, OSError


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the package's user-facing exceptions into ``error: <one line>`` and exit status 2."""
    try:
        yield
    except Exception as exc:
        if not isinstance(exc, user_error_types()):
            raise
        raise fail(_describe(exc)) from None


class _OneLineErrors(TyperGroup):
    """Usage errors (unknown option, value out of range) as one ``error:`` line, exit status 2."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                              standalone_mode=False, **extra)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            rv = 1
        except typer.TyperException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # type: ignore[attr-defined]
                rv = 0
            else:
                ctx = getattr(exc, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
                typer.echo(f"error: {one_line(message)}{hint}", err=True)
                rv = getattr(exc, "exit_code", 2)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="smegrowth",
    help="Agent-based model of China's innovative SMEs, little giants and unicorns: run scenarios "
    "and policy sweeps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "[default: ...]" is text, not a style tag
)


# --- scenario files -------------------------------------------------------------------------------


def scenarios_dir() -> Path:
    """The folder of bundled scenarios.

    ``$SMEGROWTH_SCENARIOS`` if set; else ``scenarios/`` of the source checkout (the package is
    installed editable from it); else a ``smegrowth.scenarios`` package-data folder, if a
    non-editable install ships one.
    """
    env = os.environ.get(SCENARIOS_ENV)
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "scenarios"
    if checkout.is_dir():
        return checkout
    with contextlib.suppress(ImportError, TypeError, ValueError):
        shipped = Path(str(importlib.resources.files("smegrowth.scenarios")))
        if shipped.is_dir():
            return shipped
    return checkout


def resolve_scenario(arg: str | None) -> Path:
    """A scenario argument as a path: a file, or the name of a bundled scenario (``baseline``)."""
    if arg is None:
        return scenarios_dir() / "baseline.yaml"
    if not arg.strip():
        raise fail("the scenario file name is empty")
    path = Path(arg)
    if path.exists() or os.sep in arg or "/" in arg:
        return path
    for candidate in (arg, f"{arg}.yaml", f"{arg}.yml"):
        bundled = scenarios_dir() / candidate
        if bundled.is_file():
            return bundled
    return path


HEADLINES: list[tuple[str, str, float, bool]] = [
    ("Little giants", "little_giants", 1.0, False),
    ("Unicorns", "unicorns", 1.0, False),
    ("SRDI firms", "srdi_firms", 1.0, False),
    ("Revenue, bn yuan", "revenue", 1e-3, True),
    ("Employment", "employment", 1.0, False),
    ("Investment, bn yuan", "investment", 1e-3, True),
    ("R&D, bn yuan", "rd_spending", 1e-3, True),
    ("Fiscal cost, bn yuan", "fiscal_cost", 1e-3, True),
]
"""Rows of the ``run`` table: label, outcome, unit factor, whether it is a flow (has a total)."""


def _number(value: Any, factor: float) -> str:
    if value is None or value != value:
        return "-"
    x = float(value) * factor
    return f"{x:,.0f}" if factor == 1.0 else f"{x:,.1f}"


def print_headlines(summary: dict[str, Any], title: str, last_quarter: str) -> None:
    """The compact table of final outcomes that ``smegrowth run`` prints."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("outcome")
    table.add_column(f"{last_quarter}", justify="right")
    table.add_column("whole run", justify="right")
    for label, key, factor, flow in HEADLINES:
        total = _number(summary.get(f"{key}_total"), factor) if flow else ""
        table.add_row(label, _number(summary.get(key), factor), total)
    Console().print(table)


# --- commands -------------------------------------------------------------------------------------

ScenarioArg = Annotated[str, typer.Argument(
    help="Scenario YAML file (or a bundled scenario's name).", show_default=False)]
OutOption = Annotated[Path | None, typer.Option(
    "--out", help="Results folder [default: results/<name>].")]
FreshOption = Annotated[bool, typer.Option(
    "--fresh", help="Delete earlier results in the folder first (needed when the scenario has "
    "changed).")]


@app.command()
def run(
    file: Annotated[str | None, typer.Argument(help="Scenario YAML file or bundled name "
                                               "[default: the bundled baseline].",
                                               show_default=False)] = None,
    out: OutOption = None,
    quarters: Annotated[int | None, typer.Option(min=1, max=200,
                                                 help="Horizon in quarters.")] = None,
    scale: Annotated[float | None, typer.Option(
        callback=share_of_population(0.0),
        help="Share of the national firm population, above 0 and at most 10 (1 = ~141,000 firms).")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Root seed.")] = None,
    fresh: FreshOption = False,
) -> None:
    """Run one scenario and print its headline outcomes (nothing is written unless --out)."""
    from .memory import importing_the_model

    with importing_the_model():
        from .scenario import ScenarioError, load_scenario
        from .sweep import format_seconds, run_single, run_sweep

    with user_errors():
        scenario = load_scenario(resolve_scenario(file))
        try:
            scenario = scenario.with_overrides(quarters=quarters, scale=scale, seed=seed)
        except ScenarioError as exc:
            if exc.key in ("quarters", "scale", "seed"):  # the option's value, not the file's
                raise ScenarioError(exc.reason, f"--{exc.key}") from None
            raise
        if scenario.is_sweep:
            raise scenario.error(("design",), "this file defines a sweep; run it with "
                                 "`smegrowth sweep`")
        if out is None:
            try:
                ts, summary, elapsed = run_single(scenario)
            except Exception as exc:  # noqa: BLE001 - the model raised: one line, exit 1
                raise fail(f"the run failed: {type(exc).__name__}: {exc} (give --out DIR to keep "
                           "the traceback)", 1) from None
            last = str(ts["quarter"].iloc[-1])
        else:
            report = run_sweep(scenario, out=out, workers=1, fresh=fresh, progress=False)
            row = report.runs.iloc[0].to_dict() if len(report.runs) else {}
            if row.get("status") != "ok":
                raise fail(f"the run failed: {row.get('error')} (traceback in {out}/runs/)", 1)
            summary, elapsed = row, float(row.get("elapsed_s") or report.elapsed)
            last = _last_quarter(scenario.quarters)
    title = (f"{scenario.name}: {scenario.quarters} quarters at scale {scenario.scale:g}, "
             f"seed {scenario.seed} ({format_seconds(elapsed)})")
    print_headlines(summary, title, last)
    if out is not None:
        typer.echo(f"results in {out}", err=True)


def _last_quarter(quarters: int) -> str:
    from .model import START_QUARTER, START_YEAR

    index = START_YEAR * 4 + START_QUARTER - 1 + quarters
    return f"{index // 4}Q{index % 4 + 1}"


@app.command()
def sweep(
    file: ScenarioArg,
    workers: Annotated[int | None, typer.Option(min=1, help="Local worker processes [default: all "
                                                "CPUs]; 1 runs in this process.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a Dask scheduler, e.g. "
                                                  "tcp://10.0.0.5:8786.")] = None,
    dask_local: Annotated[bool, typer.Option("--dask-local", help="Start a Dask LocalCluster on "
                                             "127.0.0.1 (size: --workers).")] = False,
    out: OutOption = None,
    fresh: FreshOption = False,
) -> None:
    """Run every run of a sweep not yet in its results folder (an interrupted sweep resumes)."""
    from .executors import DASK_WORKER_MODULES, start_worker_server, uses_worker_server

    if uses_worker_server(workers, scheduler, dask_local):
        # before the imports below, which the server makes at the same time; with this module
        # too, which workers import when they run the console script again (not when it is the
        # main module itself, ``python -m smegrowth.cli``: workers run it afresh)
        preload = [*(DASK_WORKER_MODULES if dask_local else ()), *([__name__] if __name__ != "__main__" else [])]
        start_worker_server(preload=preload)
    from .memory import importing_the_model

    with importing_the_model():
        from .scenario import load_scenario
        from .sweep import SweepInterrupted, run_sweep

    with user_errors():
        scenario = load_scenario(resolve_scenario(file))
        try:
            with terminate_as_interrupt():
                report = run_sweep(scenario, out=out, workers=workers, scheduler=scheduler,
                                   dask_local=dask_local, fresh=fresh)
        except SweepInterrupted as exc:
            terminated = isinstance(exc.report.interruption, Terminated)
            how = "terminated" if terminated else "interrupted"
            typer.echo(f"{how}: {exc.report.line()}; give the same command again to resume",
                       err=True)
            raise typer.Exit(143 if terminated else 130) from None
    for run_id, error in report.failures[:5]:
        typer.echo(f"failed: {run_id}: {one_line(error)}", err=True)
    if len(report.failures) > 5:
        typer.echo(f"... and {len(report.failures) - 5} more (see runs.parquet)", err=True)
    typer.echo(report.line())
    if report.failed_total:
        raise typer.Exit(1)


@app.command()
def check(file: ScenarioArg) -> None:
    """Validate a scenario or sweep file without running it."""
    from .runner import plan_runs
    from .scenario import load_scenario

    with user_errors():
        scenario = load_scenario(resolve_scenario(file))
        plan = plan_runs(scenario)
    kind = f"{scenario.design.type} sweep" if scenario.design else "scenario"
    typer.echo(f"OK: {file}: {kind} '{scenario.name}', {plan.describe()}, scale "
               f"{scenario.scale:g}, {scenario.quarters} quarters")


@app.command()
def scenarios() -> None:
    """List the bundled scenarios with their descriptions."""
    from .scenario import ScenarioError, load_scenario

    folder = scenarios_dir()
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        raise fail(f"no scenario files in {folder} (set {SCENARIOS_ENV} to a folder of them)")
    typer.echo(f"Scenarios in {folder}:")
    width = max(len(p.name) for p in files)
    for path in files:
        try:
            scenario = load_scenario(path)
            n = scenario.run_count()
            runs, text = f"{n} run{'' if n == 1 else 's'}", scenario.description
        except ScenarioError as exc:
            runs, text = "invalid", f"line {exc.line}: " if exc.line is not None else ""
            text += f"{exc.key}: {exc.reason}" if exc.key else exc.reason
        typer.echo(f"  {path.name:<{width}}  {runs:>9}  {one_line(text)}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``smegrowth`` console script.

    When the command is done, the garbage collector's objects are frozen: the interpreter's shutdown
    then skips them in its last collections, which would otherwise walk every object that pandas,
    numba, SciPy and Mesa created (about 0.4 s, whatever the command did). Exit handlers still run
    and objects not in reference cycles are still freed; the rest is returned with the process.
    """
    try:
        app(args=list(argv) if argv is not None else None, prog_name="smegrowth")
    finally:
        gc.freeze()


# --- plugins: modules that add commands (see the module docstring) --------------------------------
for _module in PLUGINS:
    if importlib.util.find_spec(_module) is not None:
        _plugin = importlib.import_module(_module)
        if hasattr(_plugin, "register"):
            _plugin.register(app)


if __name__ == "__main__":
    main()
