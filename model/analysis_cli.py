"""The ``compare``, ``sensitivity`` and ``report`` commands; ``register(app)`` adds them to the
``smegrowth`` Typer app. User errors print ``error: <message>`` to stderr and exit with status 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from .options import fail

FORMATS = ("table", "md", "csv", "latex")


def _write(writers: dict[Path, Callable[[Path], None]]) -> None:
    """Make each output with ``write(tmp)`` on a temporary file renamed over it, all of them or none:
    a path that cannot be written is a user error, reported in one line, with nothing left behind."""
    from .store import atomic_write_all

    try:
        for output in writers:
            output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_all(writers)
    except OSError as exc:
        where = str(exc.filename or "")
        failed = next((o for o in writers if where == str(o) or where.startswith(f"{o.parent}/.{o.name}.")),
                      next(iter(writers)))
        raise fail(_cannot_write(failed, exc)) from None
    for output in writers:
        typer.echo(f"wrote {output}", err=True)


def _cannot_write(output: Path, exc: OSError) -> str:
    """One line on why ``output`` could not be written: the folder on its way that is a file, or the
    system's reason."""
    where = exc.filename
    if where is not None and Path(where) != output and not str(where).endswith(".tmp"):
        if isinstance(exc, FileExistsError | NotADirectoryError):
            return f"cannot write {output}: {where} is a file, not a folder"
        return f"cannot write {output}: {where}: {exc.strerror or exc}"
    return f"cannot write {output}: {exc.strerror or exc}"


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    _write({output: lambda tmp: tmp.write_text(text, encoding="utf-8")})


def compare_command(
    directory: Annotated[Path, typer.Argument(help="results folder of a sweep")],
    baseline: Annotated[str, typer.Option(help="name of the reference policy (a grid sweep of one "
                                                       "policy: its first point)")] = "baseline",
    outcomes: Annotated[str | None, typer.Option(help="comma-separated outcomes")] = None,
    at: Annotated[str | None, typer.Option(help="quarter (e.g. 2026Q4) or step; default final")]
    = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, md, csv or latex")]
    = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to FILE")] = None,
) -> None:
    """Effect of each policy against the baseline, with 95% CIs and cost-effectiveness."""
    if format not in FORMATS:
        raise fail(f"unknown format '{format}' (use {', '.join(FORMATS)})")
    from . import analysis  # imported when used: scipy.stats and statsmodels are slow to import

    names = [o.strip() for o in outcomes.split(",") if o.strip()] if outcomes else None
    try:
        res = analysis.load_results(directory)
        baseline = analysis.baseline_of(res, baseline)
        table = analysis.compare(res, baseline=baseline, outcomes=names, at=at)
    except analysis.OutcomeError as exc:
        raise fail(f"--outcomes: {exc}") from None
    except analysis.ResultsError as exc:
        raise fail(str(exc)) from None
    _emit(analysis.format_table(table, format, baseline), output)


def sensitivity_command(
    directory: Annotated[Path, typer.Argument(help="results folder of a sobol or morris sweep")],
    outcomes: Annotated[str | None, typer.Option(help="comma-separated outcomes")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="CSV of indices (a PNG chart beside it)")]
    = None,
) -> None:
    """Sobol or Morris sensitivity indices of outcomes to the sweep's uncertainties."""
    from . import analysis, plots, sensitivity

    names = [o.strip() for o in outcomes.split(",") if o.strip()] if outcomes else None
    try:
        table = sensitivity.indices(directory, outcomes=names)
    except analysis.OutcomeError as exc:
        raise fail(f"--outcomes: {exc}") from None
    except analysis.ResultsError as exc:
        raise fail(str(exc)) from None
    if output is None:
        typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        return
    text, figure = table.to_csv(index=False), plots.plot_sensitivity(table)
    _write({output: lambda tmp: tmp.write_text(text, encoding="utf-8"),
            output.with_suffix(".png"): lambda tmp: figure.savefig(tmp, format="png")})


def report_command(
    directory: Annotated[Path, typer.Argument(help="results folder of a sweep")],
    baseline: Annotated[str, typer.Option(help="name of the reference policy (a grid sweep of one "
                                                       "policy: its first point)")] = "baseline",
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="HTML file (default DIR/report.html)")]
    = None,
) -> None:
    """One self-contained HTML report: table, charts, breakdowns, provenance."""
    from . import analysis
    from .report import write_report
    from .store import REPORT

    out = output or directory / REPORT
    try:
        write_report(directory, out, baseline=baseline)
    except analysis.ResultsError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(_cannot_write(out, exc)) from None
    typer.echo(f"wrote {out}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``compare``, ``sensitivity`` and ``report`` to ``app``."""
    app.command("compare")(compare_command)
    app.command("sensitivity")(sensitivity_command)
    app.command("report")(report_command)
