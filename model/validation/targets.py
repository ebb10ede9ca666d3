"""Calibration and validation targets, and their comparison with model statistics.

The targets live in ``targets.yaml`` next to this module: the 2024 counts and flows of
docs/FACTS.md §1–7 and the stylised facts of firm dynamics of §8. Each names the model statistic
it is compared with; :func:`compare` takes, for each statistic, its values over replicate runs and
reports whether their mean falls inside the target's acceptance range.

A target is one of:

- a number with a tolerance, ``{relative: r}`` (accept target·(1 ± r)) or ``{absolute: a}``
  (accept target ± a);
- a range ``[low, high]`` (either end may be ``null`` for an open bound), optionally widened on
  both sides by a tolerance;
- a boolean: the statistic is 1.0 (true) or 0.0 (false) per run, and the target passes when more
  than half of the runs agree with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from ..scenario import YamlLoader

__all__ = ["DEFAULT_TARGETS", "Target", "compare", "load_targets"]

DEFAULT_TARGETS = Path(__file__).with_name("targets.yaml")
"""The packaged targets file."""

ToleranceKind = Literal["absolute", "relative"]


@dataclass(frozen=True)
class Target:
    """One published figure that a model statistic should reproduce.

    Attributes:
        name: short identifier of the target.
        statistic: name of the model statistic compared with it (a key of ``model_stats`` in
            :func:`compare`).
        target: a number, a ``(low, high)`` range (``None`` for an open end) or a boolean.
        tolerance: size of the tolerance, or ``None``.
        tolerance_kind: ``"absolute"`` (in the statistic's units) or ``"relative"`` (a fraction of
            the target), or ``None``.
        units: units of the statistic.
        source: citation, as in docs/FACTS.md.
        note: how the acceptance range was derived and what the statistic means.
    """

    name: str
    statistic: str
    target: float | bool | tuple[float | None, float | None]
    tolerance: float | None = None
    tolerance_kind: ToleranceKind | None = None
    units: str = ""
    source: str = ""
    note: str = ""

    @property
    def is_boolean(self) -> bool:
        """Whether the target is a yes/no stylised fact."""
        return isinstance(self.target, bool)

    def bounds(self) -> tuple[float, float]:
        """Acceptance range ``(low, high)`` for the mean of the statistic over runs (inclusive).

        For a boolean target this is the range of the share of runs in which the fact holds:
        ``(0.5, 1.0)`` for ``true`` (the lower end exclusive, see :meth:`passes`).
        """
        if isinstance(self.target, bool):
            return (0.5, 1.0) if self.target else (0.0, 0.5)
        if isinstance(self.target, tuple):
            low = -math.inf if self.target[0] is None else float(self.target[0])
            high = math.inf if self.target[1] is None else float(self.target[1])
        else:
            low = high = float(self.target)
        if self.tolerance is not None:
            if self.tolerance_kind == "relative":
                # Each end moves by the tolerance times its own magnitude; open ends stay open.
                low -= abs(low) * self.tolerance if math.isfinite(low) else 0.0
                high += abs(high) * self.tolerance if math.isfinite(high) else 0.0
            else:
                low -= self.tolerance
                high += self.tolerance
        return low, high

    def passes(self, value: float) -> bool:
        """Whether a model value (the mean over runs) lies in the acceptance range."""
        if math.isnan(value):
            return False
        if isinstance(self.target, bool):
            return value > 0.5 if self.target else value < 0.5
        low, high = self.bounds()
        return low <= value <= high

    def describe(self) -> str:
        """Human-readable target, e.g. ``141000 ± 2%``, ``[18, 72]``, ``≥ 1``, ``true``."""
        if isinstance(self.target, bool):
            return "true" if self.target else "false"
        if isinstance(self.target, tuple):
            low, high = self.target
            if high is None:
                text = f"≥ {low:g}"
            elif low is None:
                text = f"≤ {high:g}"
            else:
                text = f"[{low:g}, {high:g}]"
        else:
            text = f"{self.target:g}"
        if self.tolerance is not None:
            if self.tolerance_kind == "relative":
                text += f" ± {100 * self.tolerance:g}%"
            else:
                text += f" ± {self.tolerance:g}"
        return text


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number or null, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _parse_target(entry: Any, index: int, path: Path) -> Target:
    where = f"{path}: targets[{index}]"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(entry).__name__}")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: key 'name' is missing or not a string")
    where = f"{path}: target '{name}'"
    known = {"name", "statistic", "target", "tolerance", "units", "source", "note"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(known)}")
    for key in ("statistic", "target", "source"):
        if key not in entry:
            raise ValueError(f"{where}: key '{key}' is missing")
    statistic = entry["statistic"]
    if not isinstance(statistic, str) or not statistic:
        raise ValueError(f"{where}: key 'statistic' must be a non-empty string")

    raw = entry["target"]
    target: float | bool | tuple[float | None, float | None]
    if isinstance(raw, bool):
        target = raw
    elif isinstance(raw, list):
        if len(raw) != 2:
            raise ValueError(f"{where}: key 'target' as a range needs [low, high], got {raw!r}")
        low, high = (_number(v, f"{where}: key 'target'") for v in raw)
        if low is None and high is None:
            raise ValueError(f"{where}: key 'target' range has no bound")
        if low is not None and high is not None and low > high:
            raise ValueError(f"{where}: key 'target' range has low {low:g} > high {high:g}")
        target = (low, high)
    else:
        value = _number(raw, f"{where}: key 'target'")
        if value is None:
            raise ValueError(f"{where}: key 'target' is null")
        target = value

    tolerance: float | None = None
    kind: ToleranceKind | None = None
    raw_tol = entry.get("tolerance")
    if raw_tol is not None:
        if isinstance(target, bool):
            raise ValueError(f"{where}: key 'tolerance' makes no sense for a boolean target")
        if not isinstance(raw_tol, Mapping) or len(raw_tol) != 1:
            raise ValueError(f"{where}: key 'tolerance' must be {{relative: r}} or "
                             f"{{absolute: a}}, got {raw_tol!r}")
        ((kind_raw, size),) = raw_tol.items()
        if kind_raw not in ("absolute", "relative"):
            raise ValueError(f"{where}: key 'tolerance' kind must be 'absolute' or 'relative', "
                             f"got {kind_raw!r}")
        tolerance = _number(size, f"{where}: key 'tolerance'")
        if tolerance is None or tolerance < 0:
            raise ValueError(f"{where}: key 'tolerance' must be a non-negative number")
        kind = kind_raw
    elif not isinstance(target, bool | tuple):
        raise ValueError(f"{where}: a single-number target needs a 'tolerance'")

    texts = {}
    for key in ("units", "source", "note"):
        value = entry.get(key, "")
        if not isinstance(value, str):
            raise ValueError(f"{where}: key '{key}' must be text")
        texts[key] = " ".join(value.split())
    return Target(name, statistic, target, tolerance, kind, **texts)


def load_targets(path: str | Path | None = None) -> list[Target]:
    """Read calibration targets from YAML (default: the packaged ``targets.yaml``).

    The file holds a mapping with a ``targets`` list; each entry has ``name``, ``statistic``,
    ``target`` and ``source``, and optionally ``tolerance``, ``units`` and ``note`` (see the module
    docstring for the forms of ``target`` and ``tolerance``).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming the file, the target and the key, if an entry is malformed or two
            entries share a name.
    """
    file = Path(path) if path is not None else DEFAULT_TARGETS
    with file.open(encoding="utf-8") as handle:
        try:
            document = yaml.load(handle, Loader=YamlLoader)  # noqa: S506 - a SafeLoader
        except yaml.YAMLError as err:
            raise ValueError(f"{file}: not valid YAML: {err}") from err
        except UnicodeDecodeError as err:
            raise ValueError(f"{file}: not UTF-8 text (byte {err.start} cannot be decoded)") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("targets"), list):
        raise ValueError(f"{file}: expected a mapping with a 'targets' list")
    if not document["targets"]:
        raise ValueError(f"{file}: the 'targets' list is empty: nothing to validate against")
    targets = [_parse_target(entry, i, file) for i, entry in enumerate(document["targets"])]
    names = [t.name for t in targets]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{file}: duplicate target name(s) {duplicates}")
    return targets


def compare(
    targets: Sequence[Target],
    model_stats: Mapping[str, Sequence[float] | np.ndarray | float],
) -> pd.DataFrame:
    """Compare model statistics over replicate runs with the targets.

    Args:
        targets: e.g. ``load_targets()``.
        model_stats: for each statistic name, its value in each replicate run (a single number is
            treated as one run; booleans count as 1.0/0.0). NaN values are ignored; statistics with
            no values, or not given, are reported as missing.

    Returns:
        One row per target, in order, with columns ``name``, ``statistic``, ``target`` (as text),
        ``low`` and ``high`` (the acceptance range for the mean), ``units``, ``model_mean``,
        ``model_sd`` (standard deviation across runs, ddof=1; NaN for one run), ``n_runs``,
        ``passed`` (nullable boolean: ``<NA>`` when the statistic is missing) and ``source``.
    """
    rows = []
    for target in targets:
        raw = model_stats.get(target.statistic)
        values = np.atleast_1d(np.asarray(raw if raw is not None else [], dtype=float)).ravel()
        values = values[~np.isnan(values)]
        n_runs = int(values.size)
        if n_runs:
            mean = float(np.mean(values))
            sd = float(np.std(values, ddof=1)) if n_runs > 1 else math.nan
            passed: bool | None = target.passes(mean)
        else:
            mean = sd = math.nan
            passed = None
        low, high = target.bounds()
        rows.append({
            "name": target.name,
            "statistic": target.statistic,
            "target": target.describe(),
            "low": low,
            "high": high,
            "units": target.units,
            "model_mean": mean,
            "model_sd": sd,
            "n_runs": n_runs,
            "passed": passed,
            "source": target.source,
        })
    frame = pd.DataFrame(rows, columns=["name", "statistic", "target", "low", "high", "units",
                                        "model_mean", "model_sd", "n_runs", "passed", "source"])
    frame["passed"] = frame["passed"].astype("boolean")
    return frame
