"""Fingerprint of a small fixed sweep, to compare results across Python, Mesa and numpy versions.

Runs a fixed sweep (2 policies x 2 Latin-hypercube samples x 2 replicates, scale 0.02,
8 quarters) in this process and prints one line of JSON: the versions, and SHA-256 hashes of the
runs table and the time series, sorted by run and quarter, timing columns dropped. ``exact``
hashes every float bit for bit (``float.hex``); ``rounded`` hashes them at 9 significant digits,
so that a difference in the last bits of a floating-point library can be told from a different
result. Not collected by pytest (see ``tests/test_reliability_determinism.py``, which runs it
under two interpreters when ``SMEGROWTH_OTHER_PYTHON`` is set)::

    python tests/tools/cross_python_check.py
    /path/to/other/python tests/tools/cross_python_check.py
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
import tempfile
import textwrap
from importlib import metadata
from pathlib import Path

SCENARIO = """
    name: cross_python
    scale: 0.02
    quarters: 8
    seed: 20241014
    levers: {reloan: {}}
    design:
      type: lhs
      samples: 2
      replicates: 2
      policies:
        baseline: {levers: {reloan: {scale: 0.0}}}
        reloan: {}
      uncertainties:
        credit.max_pd: {low: 0.06, high: 0.1}
"""
TIMING = ("elapsed_s",)


def _cell(value: object, digits: int | None) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return value.hex() if digits is None else format(value, f".{digits}g")
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item(), digits)
    return repr(value)


def fingerprint(frame, digits: int | None) -> str:
    """SHA-256 of a table: columns sorted by name, every cell in a canonical text form."""
    columns = sorted(c for c in frame.columns if c not in TIMING)
    digest = hashlib.sha256("\x1f".join(columns).encode())
    for row in frame[columns].itertuples(index=False):
        digest.update(("\x1e" + "\x1f".join(_cell(v, digits) for v in row)).encode())
    return digest.hexdigest()


def main() -> None:
    import pandas as pd
    from smegrowth.api import sweep

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cross_python.yaml"
        path.write_text(textwrap.dedent(SCENARIO).lstrip(), encoding="utf-8")
        sweep(path, workers=1, out=Path(tmp) / "out", progress=False)
        runs = pd.read_parquet(Path(tmp) / "out" / "runs.parquet")
        ts = pd.read_parquet(Path(tmp) / "out" / "timeseries.parquet")
    runs = runs.sort_values("run_id").reset_index(drop=True)
    ts = ts.sort_values(["run_id", "step"]).reset_index(drop=True)
    versions = {"python": platform.python_version()}
    for name in ("smegrowth", "mesa", "numpy", "scipy", "pandas", "pyarrow"):
        versions[name] = metadata.version(name)
    print(json.dumps({
        "versions": versions,
        "runs": len(runs),
        "exact": {"runs": fingerprint(runs, None), "timeseries": fingerprint(ts, None)},
        "rounded": {"runs": fingerprint(runs, 9), "timeseries": fingerprint(ts, 9)},
    }, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
