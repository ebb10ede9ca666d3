"""What the ``smegrowth`` commands share: the one-line error they end with, and checks of option
values that typer's own cannot make."""

from __future__ import annotations

import math
from collections.abc import Callable

import typer


def one_line(text: object) -> str:
    """``text`` with its line breaks and runs of spaces made single spaces."""
    return " ".join(str(text).split())


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` (on one line) to stderr; return the :class:`typer.Exit` to raise."""
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


def share_of_population(low: float) -> Callable[[float | None], float | None]:
    """The check of a ``--scale`` option (a share of the national firm population): a finite number
    above ``low`` (at least ``low`` when it is not 0) and at most 10. It replaces typer's ``min`` and
    ``max``, which pass NaN to a bounds check that says "should be less than or equal to 10"."""

    def check(value: float | None) -> float | None:
        if value is None:
            return None
        if not math.isfinite(value):
            raise typer.BadParameter(f"must be a finite number, got {value}")
        if not (value > low if low == 0 else value >= low) or value > 10:
            bound = "above 0" if low == 0 else f"at least {low:g}"
            raise typer.BadParameter(f"must be {bound} and at most 10, got {value:g}")
        return value

    return check
