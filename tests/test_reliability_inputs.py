"""Reliability on bad input: generated scenario files and command lines, each refused with one
clear line or run cleanly.

Hypothesis generates scenario files (wrong types, missing and unknown keys, NaN, infinite,
negative and huge numbers, zero and huge populations and horizons, unknown levers and parameters,
malformed designs; and raw text, binary junk, truncations, duplicate keys, alias bombs, deep
nesting) and command lines (unknown commands and options, bad values, paths that do not exist or
cannot be written). For every input, ``smegrowth check`` / ``run`` / ``sweep`` must either

* exit 2 with exactly one ``error:`` line that names the file, no traceback, and no results
  folder; or
* succeed (exit 0) and, for the tiny scenarios it is asked to run (scale <= 0.01, <= 2
  quarters), leave a complete results folder: tables, manifest, no lock, no temporary files.

A run that validates but whose model raises would exit 1 with one line; that is a gap in
validation, counted and shown in the failure message. Commands are driven in-process
(``typer.testing.CliRunner``) for speed, plus a few real processes for real exit statuses.

Examples are derandomised (the same inputs on every run, so CI is stable); set
``SMEGROWTH_EXPLORE=1`` to draw fresh inputs and ten times as many. ``pytest -s`` prints how many
inputs were tried; ``$SMEGROWTH_RELIABILITY_LOG``, if set, names a file the counts are appended to.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from smegrowth.cli import app
from smegrowth.levers.base import LEVERS
from smegrowth.scenario import default_parameters
from typer.testing import CliRunner

EXPLORE = os.environ.get("SMEGROWTH_EXPLORE") == "1"
SETTINGS = settings(
    deadline=None,
    derandomize=not EXPLORE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)


def examples(n: int) -> settings:
    return settings(SETTINGS, max_examples=n * (10 if EXPLORE else 1))


COUNTS: Counter[str] = Counter()
MODEL_FAILURES: list[str] = []


def record(label: str, n: int = 1) -> None:
    COUNTS[label] += n


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    inputs = sum(n for k, n in COUNTS.items() if k.startswith("input"))
    print(f"\n[reliability] {__name__}: {inputs} inputs tried: "
          + "; ".join(f"{k} x{n}" for k, n in sorted(COUNTS.items())))
    log = os.environ.get("SMEGROWTH_RELIABILITY_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"module": __name__, "counts": dict(COUNTS)}) + "\n")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("inputs")


def fresh_dir(scratch: Path) -> Path:
    folder = scratch / uuid.uuid4().hex[:12]
    folder.mkdir()
    return folder


RUNNER = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):
    return RUNNER.invoke(app, list(args), env=env)


def outcome(result, file_name: str | None = None) -> str:
    """``ok``, ``refused`` (exit 2, one error line naming the file) or ``model-failed`` (exit 1,
    one line); anything else fails the test with what went wrong."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {type(result.exception).__name__}: {result.exception}")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    if result.exit_code == 0:
        assert not errors, result.stderr
        return "ok"
    assert result.exit_code in (1, 2), (result.exit_code, text)
    if result.exit_code == 1 and not errors:  # a sweep whose runs failed: listed, then a summary
        assert "failed: " in result.stderr and " failed in " in result.stdout, text
        return "model-failed"
    assert len(errors) == 1, f"expected one error line, got:\n{result.stderr}"
    others = [line for line in result.stderr.splitlines()
              if line.strip() and not line.startswith(("error:", "failed:", "... and"))]
    assert not others, result.stderr
    if result.exit_code == 1:
        return "model-failed"
    if file_name is not None:  # names the file (or the file it extends, if that is the problem)
        named = errors[0][len("error: "):].split(":", 1)[0]
        assert file_name in named or Path(named).is_absolute(), errors[0]
    return "refused"


# --- strategies: scenario files -------------------------------------------------------------------

PARAMETER_NAMES = sorted(default_parameters())
LEVER_NAMES = sorted(LEVERS)
LEVER_SETTINGS = sorted({s for cls in LEVERS.values() for s in cls.Settings.model_fields})
TOP_KEYS = ["name", "description", "scale", "quarters", "seed", "levers", "parameters", "outcomes",
            "snapshots", "imports", "design", "extends"]

finite = st.floats(allow_nan=False, allow_infinity=False)
numbers = st.one_of(
    st.integers(-10, 10), st.integers(-(10**30), 10**30), finite,
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300, 1e300, -1.0, 0.5, 2**63]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12),
                    st.sampled_from(["1e3", "0x10", "nan", ".inf", "~", "yes", "2024-01-01"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=8),
                                                                         inner, max_size=3)),
                      max_leaves=6)
keys = st.one_of(st.text(min_size=0, max_size=10), st.integers(-3, 3), st.none(), st.booleans())

tiny_scale = st.sampled_from([0.002, 0.005, 0.01])
tiny_quarters = st.sampled_from([1, 2])
scales = st.one_of(tiny_scale, tiny_scale, tiny_scale, values,
                   st.sampled_from([0, -0.01, 10.5, 1e9, math.nan, math.inf, 1e-9, "0.01"]))
horizons = st.one_of(tiny_quarters, tiny_quarters, tiny_quarters, values,
                     st.sampled_from([0, -1, 201, 10**6, 10**30, 2.0, 1.5, "2"]))
parameter_names = st.one_of(st.sampled_from(PARAMETER_NAMES), st.sampled_from(PARAMETER_NAMES),
                            st.text(max_size=20),
                            st.sampled_from(["credit", "credit.max_pd.x", "sectors.nev",
                                             "population", "", "."]))
parameter_values = st.one_of(numbers, numbers, values,
                             st.sampled_from([0, 1, -1, 10**12, 1e12, 0.99, 1.01]))
lever_names = st.one_of(st.sampled_from(LEVER_NAMES), st.sampled_from(LEVER_NAMES),
                        st.text(max_size=12))
lever_settings = st.dictionaries(
    st.one_of(st.sampled_from(LEVER_SETTINGS), st.text(max_size=10)),
    st.one_of(numbers, values, st.sampled_from([0, 1, 2, 20, 1e9, -5, math.nan])),
    max_size=3,
)
levers = st.one_of(st.dictionaries(lever_names, st.one_of(st.none(), lever_settings), max_size=3),
                   values)
parameters = st.one_of(st.dictionaries(parameter_names, parameter_values, max_size=4), values)


@st.composite
def designs(draw):
    design: dict = {}
    if draw(st.booleans()):
        design["type"] = draw(st.one_of(st.sampled_from(["grid", "zip", "lhs", "sobol", "morris"]), values))
    if draw(st.booleans()):
        design["samples"] = draw(st.one_of(st.sampled_from([1, 2, 4, 3, 0, -1, 10**9]), values))
    if draw(st.booleans()):
        design["replicates"] = draw(st.one_of(st.sampled_from([1, 2, 0, -1, 10**5, 10**9]),
                                              values))
    if draw(st.booleans()):
        design["policies"] = draw(st.one_of(
            st.dictionaries(st.one_of(st.sampled_from(["baseline", "p-1", "bad name", ""]),
                                      keys),
                            st.one_of(st.fixed_dictionaries({}, optional={
                                "levers": levers, "parameters": parameters,
                                "description": values}), values), max_size=2),
            values))
    if draw(st.booleans()):
        bounds = st.fixed_dictionaries({"low": parameter_values, "high": parameter_values})
        design["uncertainties"] = draw(st.one_of(
            st.dictionaries(st.one_of(parameter_names,
                                      st.sampled_from(["levers.reloan.scale", "levers.x",
                                                       "levers.reloan.nope"])),
                            st.one_of(st.lists(parameter_values, max_size=2), bounds, values),
                            max_size=2),
            values))
    if draw(st.booleans()):
        design[draw(st.text(max_size=8))] = draw(values)
    return design


@st.composite
def scenario_mappings(draw):
    """A scenario as a mapping: mostly well-formed, with keys dropped, added and mistyped."""
    doc: dict = {
        "name": draw(st.one_of(st.just("gen"), st.just("gen"), values,
                               st.sampled_from(["", "bad name", "../up", "x" * 100, "ünï"]))),
        "scale": draw(scales),
        "quarters": draw(horizons),
        "seed": draw(st.one_of(st.integers(0, 10), st.integers(-(10**20), 10**20), values)),
        "levers": draw(levers),
        "parameters": draw(parameters),
    }
    if draw(st.booleans()):
        doc["design"] = draw(st.one_of(designs(), values))
    for key in ("outcomes", "snapshots", "imports", "description", "extends"):
        if draw(st.integers(0, 7)) == 0:
            doc[key] = draw(values)
    for key in draw(st.lists(st.sampled_from(TOP_KEYS), max_size=2)):
        doc.pop(key, None)  # missing keys
    if draw(st.integers(0, 4)) == 0:
        doc[draw(keys)] = draw(values)  # an unknown key
    return doc


NUMERIC_PARAMETERS = {k: v for k, v in default_parameters().items()
                      if isinstance(v, int | float) and not isinstance(v, bool)}
FACTORS = [0.0, 0.1, 0.5, 0.9, 1.1, 2.0, 10.0, 1000.0]


def _scaled(default: float, factor: float) -> float | int:
    value = default * factor
    return int(round(value)) if isinstance(default, int) else value


@st.composite
def plausible_scenarios(draw):
    """Well-formed tiny scenarios with levers at odd sizes and parameters scaled from their
    defaults by 0 to 1000x: many validate, and those must run."""
    lever_names_drawn = draw(st.lists(st.sampled_from(LEVER_NAMES), max_size=3, unique=True))
    chosen_levers = {}
    for name in lever_names_drawn:
        fields = LEVERS[name].Settings.model_fields
        settings_drawn = {}
        for setting in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True)):
            default = fields[setting].default
            if isinstance(default, bool) or not isinstance(default, int | float):
                continue
            settings_drawn[setting] = _scaled(default, draw(st.sampled_from(FACTORS)))
        chosen_levers[name] = settings_drawn
    chosen_parameters = {}
    for name in draw(st.lists(st.sampled_from(sorted(NUMERIC_PARAMETERS)), max_size=3,
                              unique=True)):
        chosen_parameters[name] = _scaled(NUMERIC_PARAMETERS[name],
                                          draw(st.sampled_from(FACTORS)))
    doc = {"name": "plausible", "scale": draw(tiny_scale), "quarters": draw(tiny_quarters),
           "seed": draw(st.integers(0, 2**32)), "levers": chosen_levers,
           "parameters": chosen_parameters}
    if draw(st.integers(0, 3)) == 0:
        doc["design"] = {"replicates": draw(st.integers(1, 2)),
                         "policies": {"baseline": {}, "policy": {"levers": chosen_levers}}}
        doc["levers"] = {}
    return doc


@st.composite
def one_thing_wrong(draw):
    """A tiny valid scenario with one value replaced by something hostile, or a key dropped."""
    doc = draw(plausible_scenarios())
    paths = [("scale",), ("quarters",), ("seed",), ("name",), ("levers",), ("parameters",)]
    paths += [("levers", name) for name in doc["levers"]]
    paths += [("levers", name, k) for name, v in doc["levers"].items() for k in v]
    paths += [("parameters", k) for k in doc["parameters"]]
    path = draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.integers(0, 4)) == 0:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = draw(st.one_of(
            values, st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, 10**30, 1e300, "", [],
                                     {}, None, True])))
    return doc


def dump(doc) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None)


NASTY = [
    # alias bombs, recursion, duplicate keys, deep nesting, tags, odd encodings
    "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nname: bomb\n",
    "name: loop\nparameters: &p {credit: *p}\n",
    "name: x\nscale: 0.01\nlevers: &l\n  reloan: *l\n",
    "name: dup\nscale: 0.01\nscale: 0.02\n",
    "name: dup\nlevers:\n  reloan: {}\n  reloan: {scale: 2}\n",
    "name: dup\nparameters: {credit.max_pd: 0.1, credit.max_pd: 0.2}\n",
    "name: deep\nparameters: " + "[" * 5000 + "]" * 5000 + "\n",
    "name: deep\nparameters: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n",
    "name: !!python/object/apply:os.system [echo pwned]\n",
    "name: x\nscale: !!float nan\n",
    "name: x\nscale: 0.01\nquarters: !!int 99999999999999999999999\n",
    "name: x\n<<: {scale: 0.01, quarters: 1}\n",
    "name: x\n? [a, b]\n: 1\n",
    "name: x\n? {a: 1}\n: 1\n",
    "\ufeffname: bom\nscale: 0.01\nquarters: 1\n",
    "name: x\tscale: 0.01\n",
    "name: x\nscale: 0.01\n---\nname: y\n",
    "---\n...\n",
    "%YAML 1.1\n---\nname: x\nscale: 0.01\nquarters: 1\n",
    "name: x\nscale: 0.01\nquarters: 1\nlevers: {trade_in: {goods: {nev: {price: .nan}}}}\n",
    "name: x\nscale: 0.01\nquarters: 1\nparameters: {population.srdi_firms: 0}\n",
    "name: x\nscale: 0.01\nquarters: 1\nparameters: {population.srdi_firms: 10000000000000}\n",
    "name: x\nscale: 0.00001\nquarters: 1\n",
    "name: x\nscale: 0.000001\nquarters: 1\n",
    "name: x\nscale: 10.0\nquarters: 201\n",
    "name: x\nscale: 0.01\nquarters: 1\nlevers: {reloan: {budget: -1}}\n",
    "name: x\nscale: 0.01\nquarters: 1\nlevers: {reloan: {budget: .nan}}\n",
    "name: x\nscale: 0.01\nquarters: 1\nparameters: {credit.lpr_path: [.inf]}\n",
    "name: x\nscale: 0.01\nquarters: 1\ndesign: {replicates: 1000000000}\n",
    "name: x\nscale: 0.01\nquarters: 1\ndesign: {type: sobol, samples: 1024, uncertainties: "
    "{credit.max_pd: {low: 0.01, high: 0.1}}, replicates: 10000}\n",
    "name: x\nscale: 0.01\nquarters: 1\nextends: /proc/self/mem\n",
    "name: x\nscale: 0.01\nquarters: 1\nextends: /dev/zero\n",
    "name: x\nscale: 0.01\nquarters: 1\nextends: .\n",
    "name: x\nscale: 0.01\nquarters: 1\nimports: [os.path.nonexistent_mod]\n",
    "name: x\nscale: 0.01\nquarters: 1\noutcomes: [no_such_outcome]\n",
    "x" * 2_000_000,
    "",
    "   \n\n",
    "# only a comment\n",
    "- a list\n- not a mapping\n",
    "just a string",
    "name: [unclosed\n",
    "name: 'unclosed\n",
    "name: x\n  bad: indentation\n",
]
BINARY = [b"\x00\x01\x02binary", b"name: caf\xe9\n", bytes(range(256)), b"\xff\xfe\x00n\x00a",
          b"PK\x03\x04zipfile", b"\x89PNG\r\n\x1a\n"]


def mutate(text: str, how: str, where: float) -> str:
    """A text mutation: truncation, a duplicated line, a stray character."""
    cut = int(len(text) * where)
    if how == "truncate":
        return text[:cut]
    if how == "duplicate-line":
        lines = text.splitlines(keepends=True)
        if lines:
            i = min(int(len(lines) * where), len(lines) - 1)
            lines.insert(i, lines[i])
        return "".join(lines)
    if how == "insert":
        return text[:cut] + ":[{&*!|>'\"%@`"[int(where * 13) % 13] + text[cut:]
    return text


scenario_files = st.one_of(
    st.builds(dump, scenario_mappings()),
    st.builds(dump, one_thing_wrong()),
    st.builds(dump, one_thing_wrong()),
    st.builds(dump, plausible_scenarios()),
    st.builds(dump, plausible_scenarios()),
    st.builds(dump, plausible_scenarios()),
    st.builds(mutate, st.builds(dump, scenario_mappings()),
              st.sampled_from(["truncate", "duplicate-line", "insert"]),
              st.floats(0, 1)),
    st.sampled_from(NASTY),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.sampled_from(BINARY),
)


def is_tiny(path: Path) -> tuple[bool, bool]:
    """Whether a scenario that validated is small enough to run here (<= 4 tiny runs), and
    whether it is a sweep."""
    from smegrowth.scenario import load_scenario

    scenario = load_scenario(path)
    tiny = scenario.scale <= 0.01 and scenario.quarters <= 2 and scenario.run_count() <= 4
    return tiny, scenario.is_sweep


@examples(160)
@given(content=scenario_files, command=st.sampled_from(["run", "sweep"]))
@example(content=NASTY[0], command="sweep")
@example(content="name: x\nscale: 0.01\nquarters: 1\nparameters: {credit.pd_intercept: .nan}\n",
         command="run")
@example(content="name: x\nscale: 0.01\nquarters: 2\nlevers: {reloan: {quota: 1.0e9}}\n",
         command="sweep")
def test_generated_scenario_files_are_refused_in_one_line_or_run_cleanly(scratch, content,
                                                                         command):
    folder = fresh_dir(scratch)
    path = folder / "scenario.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    record("input: scenario file")
    checked = outcome(invoke("check", str(path)), path.name)
    assert checked in ("ok", "refused")
    out = folder / "out"
    args = ["--out", str(out)] + (["--workers", "1"] if command == "sweep" else [])
    if checked == "refused":
        record("refused by check")
        again = outcome(invoke(command, str(path), *args), path.name)
        assert again == "refused", f"check refused the file but {command} did not"
        assert not out.exists(), "a refused scenario left a results folder"
        return
    record("valid")
    tiny, is_sweep = is_tiny(path)
    if not tiny:
        record("valid, too big to run here")
        return
    if is_sweep and command == "run":
        command, args = "sweep", [*args, "--workers", "1"]
    result = invoke(command, str(path), *args)
    ran = outcome(result, path.name)
    record(f"ran ({command})")
    if ran == "model-failed":
        MODEL_FAILURES.append(f"{content!r}: {result.stderr.strip()}")
        raise AssertionError("a scenario that validates made the model raise:\n"
                             f"{content}\n{result.stderr}")
    assert ran == "ok"
    assert (out / "runs.parquet").exists() and (out / "timeseries.parquet").exists()
    assert (out / "manifest.json").exists() and not (out / ".lock").exists()
    assert not list(out.rglob("*.tmp"))


# --- strategies: command lines --------------------------------------------------------------------

BAD_NUMBERS = ["", "0", "-1", "-0", "nan", "inf", "-inf", "1e309", "1e-400", "2.5", "abc",
               "0x1F", "99999999999999999999999", "\u0661", " 1", "1 ", "--", "-5e3"]
NOT_A_SCALE = [v for v in BAD_NUMBERS if v not in ("2.5", " 1", "1 ")]  # never run big models
OPTIONS = {
    "--workers": st.sampled_from(["1", "2", "16", "100000", *BAD_NUMBERS]),
    "--quarters": st.sampled_from(["1", "2", "201", *BAD_NUMBERS]),
    "--scale": st.sampled_from(["0.001", "0.01", "0.002", "10.5", "1e-7", *NOT_A_SCALE]),
    "--seed": st.sampled_from(["0", "7", "18446744073709551616", *BAD_NUMBERS]),
    "--scheduler": st.sampled_from(["", "garbage", "tcp://", "tcp://:", "::::", "http://x y",
                                    "tcp://[::1", "inproc://"]),
    "--fresh": st.none(),
    "--help": st.none(),
    "--frobnicate": st.none(),
    "-x": st.none(),
}


@st.composite
def command_lines(draw, paths: dict[str, Path]):
    command = draw(st.one_of(st.sampled_from(["run", "sweep", "check", "scenarios"]),
                             st.sampled_from(["", "RUN", "swep", "compare", "report",
                                              "sensitivity", "--version", "-h"])))
    argv = [command] if command else []
    if draw(st.integers(0, 5)) > 0:
        argv.append(str(paths[draw(st.sampled_from(sorted(paths)))]))
    for option in draw(st.lists(st.sampled_from(sorted(OPTIONS)), max_size=3)):
        argv.append(option)
        value = draw(OPTIONS[option])
        if value is not None:
            argv.append(value)
    if "--out" not in argv and draw(st.booleans()):
        argv += ["--out", str(paths[draw(st.sampled_from(sorted(paths)))])]
    if "--scheduler" in argv and draw(st.booleans()):
        argv.append("--dask-local")
    return argv


@pytest.fixture(scope="module")
def argument_paths(scratch) -> dict[str, Path]:
    base = scratch / "args"
    base.mkdir()
    (base / "bundled").mkdir()  # $SMEGROWTH_SCENARIOS: `run` without a file runs a tiny baseline
    (base / "bundled" / "baseline.yaml").write_text("name: baseline\nscale: 0.002\nquarters: 1\n")
    (base / "tiny.yaml").write_text("name: tiny\nscale: 0.002\nquarters: 1\nseed: 3\n")
    (base / "bad.yaml").write_text("name: bad\nscale: lots\n")
    (base / "binary.yaml").write_bytes(b"\x00\x01\x02")
    (base / "a_file").write_text("a plain file")
    (base / "empty_dir").mkdir()
    return {
        "tiny": base / "tiny.yaml", "bad": base / "bad.yaml", "binary": base / "binary.yaml",
        "missing": base / "nope.yaml", "dir": base / "empty_dir",
        "under-a-file": base / "a_file" / "out", "proc": Path("/proc/smegrowth/out"),
        "plain-file": base / "a_file", "dash": Path("-"), "empty": Path(""),
    }


@examples(150)
@given(data=st.data())
def test_generated_command_lines_fail_in_one_line_or_work(argument_paths, data):
    argv = data.draw(command_lines(argument_paths))
    # never start a real Dask cluster or a run at national scale from random arguments
    assume(not ("--dask-local" in argv and "--scheduler" not in argv))
    record("input: command line")
    here = os.getcwd()
    base = argument_paths["tiny"].parent
    os.chdir(base)  # relative --out paths ("-", "") land in the scratch folder
    try:
        result = invoke(*argv, env={"SMEGROWTH_SCENARIOS": str(base / "bundled")})
    finally:
        os.chdir(here)
    text = result.stdout + result.stderr
    assert "Traceback" not in text, (argv, text)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{argv}: uncaught {type(result.exception).__name__}: "
                             f"{result.exception}")
    if result.exit_code == 0:
        record("command line accepted")
        assert "error:" not in result.stderr, (argv, result.stderr)
        return
    record("command line refused")
    assert result.exit_code in (1, 2), (argv, result.exit_code, text)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, (argv, result.stderr)


# --- the same through real processes (real exit statuses) -----------------------------------------


def smegrowth_command() -> list[str]:
    script = Path(sys.executable).with_name("smegrowth")
    return [str(script)] if script.exists() else [sys.executable, "-m", "smegrowth.cli"]


@pytest.mark.parametrize("content, args, code, fragment", [
    (b"\x00\x01binary", ["check"], 2, "binary content"),
    ("name: x\nscale: 0.01\nparameters: {credit.pd_intercept: .nan}\n", ["run"], 2,
     "parameters.credit.pd_intercept: must be a finite number, got nan"),
    ("name: x\nscale: 0.01\nquarters: 1\n", ["sweep", "--workers", "0"], 2,
     "Invalid value for '--workers'"),
    ("name: x\nscale: 0.01\nquarters: 1\n", ["sweep", "--workers", "1", "--out", "/proc/x/y"], 2,
     "cannot create results folder /proc/x/y"),
    ("name: x\nscale: 0.000001\nquarters: 1\n", ["run"], 2, "scale 1e-06 simulates no firms"),
])
def test_real_exit_status_and_one_line(tmp_path, content, args, code, fragment):
    path = tmp_path / "s.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    command = [*smegrowth_command(), args[0], str(path), *args[1:]]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    record("input: real process")
    assert done.returncode == code, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert fragment in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_model_failure_in_run_is_one_line_exit_1(tmp_path, monkeypatch):
    """If the model raises despite validation, ``run`` says so in one line and exits 1."""
    from smegrowth import model as model_module

    def broken(self, quarters):
        raise FloatingPointError("simulated failure")

    monkeypatch.setattr(model_module.EnterpriseModel, "run", broken)
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent("name: s\nscale: 0.01\nquarters: 1\n"))
    result = invoke("run", str(path))
    record("input: model failure")
    assert result.exit_code == 1
    assert result.stderr == ("error: the run failed: FloatingPointError: simulated failure (give "
                             "--out DIR to keep the traceback)\n")


@pytest.fixture
def silent_listener():
    """A TCP port on 127.0.0.1 where something accepts connections and never answers, as a web
    server or another program does to a Dask client's handshake."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_scheduler_address_where_no_dask_answers_fails_in_one_line(tmp_path, monkeypatch, silent_listener):
    """distributed waits for ever for the handshake of a port that accepts and stays silent; the
    sweep gives up after the connection timeout instead, in one line, with nothing written."""
    from smegrowth import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 1.0)
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nscale: 0.002\nquarters: 1\ndesign: {replicates: 2}\n")
    result = invoke("sweep", str(path), "--scheduler", silent_listener, "--out", str(tmp_path / "out"))
    record("input: scheduler that never answers")
    assert outcome(result) == "refused"
    assert result.stderr == (f"error: cannot connect to Dask at {silent_listener}: nothing answered as a Dask "
                             "scheduler within 1 s (does another program listen there?)\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address, fragment", [
    ("", "--scheduler needs the address of a Dask scheduler"),
    (" ", "--scheduler needs the address of a Dask scheduler"),
    ("tls://127.0.0.1:1", "cannot connect to Dask at tls://127.0.0.1:1: TypeError: "),
    ("ucx://127.0.0.1:1", "cannot connect to Dask at ucx://127.0.0.1:1: "),
])
def test_scheduler_addresses_dask_cannot_use_fail_in_one_line(tmp_path, address, fragment):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nscale: 0.002\nquarters: 1\ndesign: {replicates: 2}\n")
    result = invoke("sweep", str(path), f"--scheduler={address}", "--out", str(tmp_path / "out"))
    record("input: scheduler address")
    assert outcome(result) == "refused"
    assert result.stderr.startswith(f"error: {fragment}"), result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_device_or_pipe_given_as_a_scenario_is_refused_without_reading_it(tmp_path):
    """/dev/zero reports a size of 0 and never ends; a named pipe blocks until someone writes."""
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    for path in (Path("/dev/zero"), pipe):
        if not path.exists():
            continue
        result = invoke("check", str(path))
        record("input: device or pipe")
        assert outcome(result) == "refused"
        assert result.stderr == f"error: {path}: is a device, pipe or socket, not a scenario file\n"
