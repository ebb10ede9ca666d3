"""The ``smegrowth validate`` command; ``register(app)`` adds it to the ``smegrowth`` Typer app.

It runs the baseline over several seeds, compares the statistics with the calibration targets
(``smegrowth/validation/targets.yaml``) and writes ``validation.csv``, ``validation.md``,
``statistics.csv`` and ``panel.png`` to the output folder (see :mod:`smegrowth.validation.report`).
User errors print ``error: <message>`` to stderr and exit with status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from .options import fail, share_of_population


def _overrides(pairs: list[str] | None) -> dict[str, Any]:
    """``["credit.max_pd=0.05", ...]`` as a validated ``{dotted name: value}`` mapping."""
    from .parameters import ParameterError, Parameters
    from .scenario import yaml_value

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise fail(f"--set {pair!r}: expected NAME=VALUE, e.g. credit.max_pd=0.05")
        try:
            out[key.strip()] = yaml_value(text)
        except yaml.YAMLError as exc:
            raise fail(f"--set {pair!r}: value is not valid YAML ({exc})") from None
    try:
        Parameters().override(out)
    except ParameterError as exc:
        raise fail(str(exc)) from None
    return out


def validate_command(
    seeds: Annotated[int, typer.Option(min=1, max=100, help="Replicate runs.")] = 5,
    scale: Annotated[float, typer.Option(callback=share_of_population(0.001),
                                         help="Share of the national firm population, 0.001 to 10.")
                     ] = 1.0,
    years: Annotated[int, typer.Option(min=1, max=20, help="Simulated years from 2024Q4.")] = 4,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("results/validation"),
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes running replicates.")] = 2,
    flow_years: Annotated[int, typer.Option(min=1, max=20, help="Simulated years the flow "
                                            "targets average over (1: the year 2025).")] = 1,
    seed: Annotated[int, typer.Option(min=0, help="Root seed of the replicates.")] = 20241014,
    targets: Annotated[Path | None, typer.Option(help="Targets YAML [default: the packaged "
                                                 "targets.yaml].")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Parameter override "
                                                   "NAME=VALUE (repeatable).")] = None,
    no_figure: Annotated[bool, typer.Option("--no-figure", help="Skip panel.png.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit with status 1 if any target "
                                         "fails.")] = False,
) -> None:
    """Validate the baseline against the stylised facts and the 2024 calibration targets."""
    import pandas as pd

    from .validation.report import run_validation
    from .validation.targets import load_targets

    parameters = _overrides(set_)
    try:
        target_list = load_targets(targets) if targets is not None else load_targets()
    except OSError as exc:
        raise fail(f"--targets {exc.filename or targets}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise fail(str(exc)) from None

    done = 0

    def progress(result: Any) -> None:
        nonlocal done
        done += 1
        typer.echo(f"  run {done}/{seeds} done (seed {result.seed})", err=True)

    typer.echo(f"validate: {seeds} run(s) at scale {scale:g}, {years} year(s), "
               f"{min(workers, seeds)} worker(s)", err=True)
    try:
        validation = run_validation(out=out, seeds=seeds, scale=scale, years=years,
                                    workers=workers, flow_years=flow_years, root_seed=seed,
                                    parameters=parameters, targets=target_list,
                                    figure=not no_figure, progress=progress)
    except OSError as exc:
        raise fail(f"--out {exc.filename or out}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a target whose statistic the model does not compute
        raise fail(f"{targets}: {exc}" if targets is not None else str(exc)) from None
    table = validation.table
    width = max(len(n) for n in table["name"])
    for row in table.itertuples(index=False):
        status = "-   " if pd.isna(row.passed) else ("pass" if row.passed else "FAIL")
        typer.echo(f"{status}  {row.name:<{width}}  {row.model_mean:>12.4g}  target {row.target}")
    typer.echo(f"{validation.n_passed} of {len(table)} targets pass "
               f"({validation.elapsed:.0f} s); wrote "
               + ", ".join(str(p) for p in validation.files.values()))
    if strict and validation.n_passed < len(table):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""
    app.command("validate")(validate_command)
