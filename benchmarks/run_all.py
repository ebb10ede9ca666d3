"""Every speed and memory benchmark of issue 6, with one command; writes its figures into README.md.

    python benchmarks/run_all.py            # the full set (~13 min on 2 cores), updates README.md
    python benchmarks/run_all.py --quick    # smoke run (~2 min): smaller sizes, prints only
    python benchmarks/run_all.py --json runs.json --no-readme; python benchmarks/run_all.py --render runs.json

Sections (each measurement runs in a fresh subprocess, see ``measure.py``):

a. a 40-quarter baseline at scale 1.0: construction and stepping time, peak memory (median of 5);
b. scaling with population, scale 0.1 to 4.0: cost per firm-quarter, in rounds over the scales;
c. the per-agent reference (``reference_model.py``) against the vectorised model on the same
   population at scale 1.0, and the statistical agreement of their key outcomes;
d. sweep throughput: 200 runs at scale 0.1 on 1 and 2 local workers and a local Dask cluster, in three
   interleaved rounds (ratios within a round, medians over rounds);
e. memory across a 500-run sweep in one worker process;
f. thousands of small runs: 2,000 runs at scale 0.005 on 2 workers, where storing and consolidating
   a run weigh as much as making it (not a target of issue 6; it tracks the sweeps' own overhead).

The machine is shared and noisy: compare ratios within one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN = "<!-- BEGIN run_all.py: generated, do not edit by hand -->"
END = "<!-- END run_all.py -->"

BUSY = 0.3
"""Cores used by other processes above which a parallel-throughput ratio is not judged."""

TARGETS = {
    "full_run_s": 2.0,
    "peak_mb": 1024.0,
    "reference_ratio": 50.0,
    "flatness": 1.5,
    "two_workers": 1.8,
    "dask_gap": 0.20,
    "leak_mb_per_100_runs": 5.0,
}

FULL = {
    "baseline": {"scale": 1.0, "quarters": 40, "seed": 7, "repeats": 5},
    "scaling": {"scales": [0.1, 0.5, 1.0, 2.0, 4.0], "quarters": 40, "rounds": 5},
    "reference": {"scale": 1.0, "quarters": 3, "repeats": 3},
    "agreement": {"scale": 0.02, "quarters": 12, "seeds": 10},
    "sweep": {"runs": 200, "rounds": 5},
    "memory": {"runs": 500, "scale": 0.02, "quarters": 24, "leak_runs": 40},
    "many": {"runs": 2000, "rounds": 3},
}
QUICK = {
    "baseline": {"scale": 1.0, "quarters": 40, "seed": 7, "repeats": 1},
    "scaling": {"scales": [0.1, 0.5, 1.0], "quarters": 40, "rounds": 1},
    "reference": {"scale": 0.1, "quarters": 2, "repeats": 1},
    "agreement": {"scale": 0.01, "quarters": 8, "seeds": 4},
    "sweep": {"runs": 16, "rounds": 1},
    "memory": {"runs": 60, "scale": 0.02, "quarters": 24, "leak_runs": 8},
    "many": {"runs": 100, "rounds": 1},
}


def scaling_method(s: dict) -> str:
    """How section b was measured, in words (results saved before rounds had one block per scale)."""
    if "flatness_rounds" not in s:
        usual = s["repeats"]
        others = ", ".join(
            f"{p['repeats']} at scale {p['scale']:g}" for p in s["points"] if p.get("repeats", usual) != usual
        )
        return f"40 quarters, seed 7, median of {usual} fresh processes per scale{f' ({others})' if others else ''}, "
    rounds = ", ".join(f"{f:.2f}" for f in s["flatness_rounds"])
    n = s["rounds"]
    return (
        f"40 quarters, seed 7, in {n} round{'s' if n != 1 else ''}, each running every scale once in a fresh "
        "process, in an order rotating by round; medians per scale over the rounds; flatness is the median "
        f"over rounds of each round's max/min (rounds: {rounds}); "
    )


def log(msg: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def measure(*args: str) -> dict:
    """Run ``measure.py`` with ``args`` in a fresh interpreter and return its JSON line."""
    done = subprocess.run(
        [sys.executable, str(HERE / "measure.py"), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"measure.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def smegrowth_command() -> str:
    beside = Path(sys.executable).with_name("smegrowth")
    found = str(beside) if beside.exists() else shutil.which("smegrowth")
    if not found:
        raise RuntimeError("the smegrowth command is not installed (pip install -e .)")
    return found


# --- environment ----------------------------------------------------------------------------------------


def memory_speed() -> float:
    """This machine's memory speed now, GB/s: copying a 200 MB array (median of 5). The machine is
    shared; when other tenants load it, this falls with every figure below, so two runs' figures are
    comparable only at similar speeds."""
    source = np.ones(25_000_000)
    target = np.empty_like(source)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(target, source)
        times.append(time.perf_counter() - t)
    return 2 * source.nbytes / statistics.median(times) / 1e9


CPU_PROBE = "x = 0\nfor i in range(20_000_000):\n    x += i * i"


def machine_parallelism() -> float:
    """What two CPU-bound processes get from this machine now, as a multiple of one: a pure-Python
    loop (~1 s) alone, then two at once; 2 x alone / the pair's wall time, median of three such
    pairs of measurements. Two cores of an idle machine
    give 2; on a shared one, another tenant's work on the same physical cores lowers it, and every
    parallel figure with it."""

    def probe(copies: int) -> float:
        t = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", CPU_PROBE]) for _ in range(copies)]
        for proc in procs:
            proc.wait()
        return time.perf_counter() - t

    return statistics.median(2.0 * probe(1) / probe(2) for _ in range(3))


def environment(command: str) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_gb = int(f.readline().split()[1]) / 1024**2
    except OSError:
        mem_gb = float("nan")

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    where = subprocess.run(
        [sys.executable, "-c", "import os, smegrowth; print(os.path.dirname(smegrowth.__file__))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    repo_model = str((HERE.parent / "model").resolve())
    return {
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "smegrowth": "this checkout" if where == repo_model else where,
        "command": command,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_gb, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": version("mesa"),
        "pandas": version("pandas"),
        "dask": version("distributed"),
        "memory_speed_gbs": memory_speed(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty_model": where == repo_model
        and bool(git("status", "--porcelain", "--untracked-files=no", "--", "../model")),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
    }


# --- sections -------------------------------------------------------------------------------------------


def run_models(scale: float, quarters: int, seed: int, repeats: int) -> list[dict]:
    """``repeats`` runs of the model, each in a fresh process (numba's start-up included)."""
    runs = []
    for i in range(repeats):
        log(f"model scale {scale}, {quarters} quarters, repeat {i + 1}/{repeats}")
        runs.append(measure("model", "--scale", str(scale), "--quarters", str(quarters), "--seed", str(seed)))
    return runs


def command_run(scale: float, quarters: int, seed: int, repeats: int) -> dict:
    """The same run as a user makes it, ``smegrowth run``: wall time from start to exit (Python's
    start, imports and the printed table included), median of ``repeats`` commands."""
    exe = smegrowth_command()
    args = ["run", "--scale", str(scale), "--quarters", str(quarters), "--seed", str(seed)]
    walls = []
    for i in range(repeats):
        log(f"smegrowth {' '.join(args)}, repeat {i + 1}/{repeats}")
        res = measure("command", "--", exe, *args)
        if res["returncode"] != 0:
            raise RuntimeError(f"smegrowth run failed:\n{res['stderr_tail']}")
        walls.append(res["wall_s"])
    return {"args": " ".join(args), "wall_s": statistics.median(walls), "wall_s_all": walls}


def summarise_models(runs: list[dict]) -> dict:
    med = {
        key: statistics.median(r[key] for r in runs)
        for key in (
            "construct_s",
            "step_s",
            "total_s",
            "warmup_s",
            "us_per_firm_quarter",
            "us_per_firm_quarter_cpu",
            "mean_active",
            "peak_rss_mb",
            "rss_after_import_mb",
            "step_cpu_s",
            "other_load",
        )
    }
    med["peak_rss_max_mb"] = max(r["peak_rss_mb"] for r in runs)
    med["total_s_all"] = [r["total_s"] for r in runs]
    med["firms_start"] = runs[0]["firms_start"]
    med["firms_end"] = runs[0]["firms_end"]
    med["firms_ever"] = runs[0]["firms_ever"]
    med["finite"] = all(r["finite"] for r in runs)
    med["repeats"] = len(runs)
    return med


def section_scaling(scales: list[float], quarters: int, seed: int, rounds: int) -> dict:
    """Cost per firm-quarter at each of ``scales``, ``rounds`` times.

    Each round runs every scale once, in a fresh process warmed up by a small model (numba's start-up
    and the loading of the compiled loops are a one-off cost per process, not a per-firm-quarter
    cost), in an order that rotates from round to round. Flatness (max/min over the scales) is taken
    within each round and its median over rounds is judged: the shared machine's speed drifts over the
    minutes the section takes, and a ratio of runs a few seconds apart is what it biases least.
    """
    by_scale: dict[float, list[dict]] = {scale: [] for scale in scales}
    per_round: list[dict] = []
    for i in range(rounds):
        this: dict[float, dict] = {}
        for scale in scales[i % len(scales) :] + scales[: i % len(scales)]:
            log(f"model scale {scale}, {quarters} quarters, warm, round {i + 1}/{rounds}")
            run = measure("model", "--scale", str(scale), "--quarters", str(quarters), "--seed", str(seed), "--warm")
            by_scale[scale].append(run)
            this[scale] = run
        cpu = [this[scale]["us_per_firm_quarter_cpu"] for scale in scales]
        wall = [this[scale]["us_per_firm_quarter"] for scale in scales]
        per_round.append({"flatness": max(cpu) / min(cpu), "flatness_wall": max(wall) / min(wall)})
    return {
        "scales": scales,
        "rounds": rounds,
        "points": [{"scale": scale, **summarise_models(by_scale[scale])} for scale in scales],
        "flatness": statistics.median(r["flatness"] for r in per_round),
        "flatness_wall": statistics.median(r["flatness_wall"] for r in per_round),
        "flatness_rounds": [r["flatness"] for r in per_round],
    }


def scenario_with_replicates(base: Path, replicates: int, default: int, workdir: Path) -> Path:
    """The sweep scenario ``base``, or, for another number of ``replicates`` than its ``default``
    (the quick set), a file in ``workdir`` that extends it with that number."""
    if replicates == default:
        return base
    scenario = workdir / f"{base.stem}_{replicates}.yaml"
    scenario.write_text(f"name: {base.stem}\nextends: {base}\ndesign:\n  replicates: {replicates}\n")
    return scenario


def timed_sweep(scenario: Path, flags: list[str], folder: Path) -> tuple[dict, pd.DataFrame]:
    """``smegrowth sweep scenario <flags> --out folder --fresh`` in a fresh process, timed
    (``measure.py command``), with the runs ok and the mean time per run in the worker; and its
    runs table."""
    import pandas as pd

    res = measure("command", "--", smegrowth_command(), "sweep", str(scenario), *flags, "--out", str(folder), "--fresh")
    if res["returncode"] != 0:
        raise RuntimeError(f"sweep failed ({' '.join(flags)}):\n{res['stderr_tail']}")
    table = pd.read_parquet(folder / "runs.parquet")
    res["ok"] = int((table["status"] == "ok").sum())
    res["mean_run_s"] = float(table["elapsed_s"].mean())
    return res, table


def section_sweeps(runs: int, rounds: int, workdir: Path) -> dict:
    """The sweep benchmark through the CLI, on 1 and 2 workers and a local Dask cluster, ``rounds`` times.

    The three setups run in turn within each round, in an order that rotates from round to round, and
    the ratios are taken within a round: a shared machine's speed drifts over minutes, and a ratio of
    two sweeps a minute apart is what it is least likely to bias. The medians over rounds are judged.
    """
    scenario = scenario_with_replicates(HERE / "sweep_throughput.yaml", runs, 200, workdir)
    setups = {
        "in-process (--workers 1)": ["--workers", "1"],
        "process pool (--workers 2)": ["--workers", "2"],
        "Dask LocalCluster (--workers 2 --dask-local)": ["--workers", "2", "--dask-local"],
    }
    labels = list(setups)
    measured: dict[str, list[dict]] = {label: [] for label in labels}
    tables = {}
    parallelism = []
    for r in range(rounds):
        parallelism.append(machine_parallelism())
        log(f"two CPU-bound processes get {parallelism[-1]:.2f}x one now")
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            folder = workdir / f"sweep-{labels.index(label)}"
            log(f"sweep {runs} runs: {label}, round {r + 1}/{rounds}")
            res, table = timed_sweep(scenario, setups[label], folder)
            tables[label] = table.drop(columns=["elapsed_s"]).sort_values("run_id").reset_index(drop=True)
            measured[label].append(res)
            shutil.rmtree(folder, ignore_errors=True)
    first = next(iter(tables.values()))
    identical = all(first.equals(t) for t in tables.values())
    one, pool, dask = (measured[label] for label in labels)
    speedups = [a["wall_s"] / b["wall_s"] for a, b in zip(one, pool, strict=True)]
    gaps = [c["wall_s"] / b["wall_s"] - 1.0 for b, c in zip(pool, dask, strict=True)]
    executors = {}
    for label in labels:
        rs = measured[label]
        e = {key: statistics.median(x[key] for x in rs) for key in ("wall_s", "cpu_s", "mean_run_s", "other_load")}
        e["wall_s_all"] = [x["wall_s"] for x in rs]
        e["peak_rss_mb"] = max(x["peak_rss_mb"] for x in rs)
        e["ok"] = min(x["ok"] for x in rs)
        e["runs_per_min"] = 60.0 * runs / e["wall_s"]
        e["flags"] = " ".join(setups[label])
        executors[label] = e
    cpu = [executors[label]["cpu_s"] / runs for label in labels]
    return {
        "runs": runs,
        "rounds": rounds,
        "scenario": str(scenario.relative_to(HERE.parent))
        if runs == 200
        else f"benchmarks/sweep_throughput.yaml with {runs} replicates",
        "executors": executors,
        "speedup_2_workers": statistics.median(speedups),
        "speedups_2_workers": speedups,
        "machine_parallelism": parallelism,
        "dask_vs_pool": statistics.median(gaps),
        "dask_gaps": gaps,
        "speedup_estimate": 2.0 * cpu[0] / cpu[1],
        "dask_estimate": cpu[2] / cpu[1] - 1.0,
        "busy": statistics.median(
            max(x["other_load"] for x in by_round) for by_round in zip(one, pool, dask, strict=True)
        ),
        "identical": identical,
    }


def section_many_runs(runs: int, rounds: int, workdir: Path) -> dict:
    """Thousands of small runs on 2 workers, where storing and consolidating a run weigh as much as
    making it: wall time of ``smegrowth sweep`` (benchmarks/sweep_many_runs.yaml), ``rounds`` times.

    Consolidation is timed from the folder itself: from the last run file written to the runs table
    (written after the time series table, the last thing a sweep does). Then the same command again,
    start to exit: resuming the finished sweep.
    """
    scenario = scenario_with_replicates(HERE / "sweep_many_runs.yaml", runs, 2000, workdir)
    measured = []
    for r in range(rounds):
        folder = workdir / "sweep-many"
        log(f"sweep {runs} small runs on 2 workers, round {r + 1}/{rounds}")
        res, _ = timed_sweep(scenario, ["--workers", "2"], folder)
        last_run = max(p.stat().st_mtime for p in (folder / "runs").iterdir())
        res["consolidation_s"] = (folder / "runs.parquet").stat().st_mtime - last_run
        res["folder_mb"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
        made = (folder / "runs.parquet").stat().st_mtime_ns
        again = measure(
            "command", "--", smegrowth_command(), "sweep", str(scenario), "--workers", "2", "--out", str(folder)
        )
        if again["returncode"] != 0 or (folder / "runs.parquet").stat().st_mtime_ns != made:
            raise RuntimeError(f"the finished sweep, run again, made its tables again:\n{again['stderr_tail']}")
        res["resume_s"] = again["wall_s"]  # the same command again: nothing to run or consolidate
        measured.append(res)
        shutil.rmtree(folder, ignore_errors=True)
    keys = ("wall_s", "cpu_s", "consolidation_s", "resume_s", "mean_run_s", "folder_mb", "other_load")
    out = {key: statistics.median(x[key] for x in measured) for key in keys}
    out.update(
        runs=runs,
        rounds=rounds,
        ok=min(x["ok"] for x in measured),
        wall_s_all=[x["wall_s"] for x in measured],
        consolidation_s_all=[x["consolidation_s"] for x in measured],
        resume_s_all=[x["resume_s"] for x in measured],
        scenario=str(scenario.relative_to(HERE.parent)) if runs == 2000 else f"{runs} replicates",
    )
    return out


def by_rounds(w: dict) -> dict:
    """Section d's results with the per-round figures, which results saved before the sweeps ran in
    rounds lack: those were one round, and had no measure of the machine's parallelism."""
    w = {
        "rounds": 1,
        "speedups_2_workers": [w["speedup_2_workers"]],
        "dask_gaps": [w["dask_vs_pool"]],
        "machine_parallelism": [],
        **w,
    }
    w["executors"] = {label: {"wall_s_all": [e["wall_s"]], **e} for label, e in w["executors"].items()}
    return w


def leak_slope(samples: list[list[float]], runs: int) -> tuple[float, float, float]:
    """(MB per 100 runs fitted over runs 10 %..end of the sweep, RSS at 10 %, RSS at the last
    in-sweep sample); the consolidation at the end reads every table and is excluded."""
    pts = np.array([(d, r) for d, r in samples if 0.1 * runs <= d < runs], dtype=float)
    if len(pts) < 3:
        pts = np.array(samples, dtype=float)
    slope = float(np.polyfit(pts[:, 0], pts[:, 1], 1)[0]) * 100.0
    return slope, float(pts[0, 1]), float(pts[-1, 1])


# --- report ---------------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "not judged (machine busy)" if ok is None else "**yes**" if ok else "**no**"


def render(res: dict, quick: bool) -> str:
    env = res["env"]
    lines = [BEGIN, ""]
    title = "Latest figures" + (" (quick smoke run: smaller sizes, not for the targets)" if quick else "")
    lines += [
        f"## {title}",
        "",
        f"Command: `{env['command']}` — {env['date']}, commit `{env['commit']}`"
        + (" (model/ had uncommitted changes)" if env["dirty_model"] else "")
        + ("" if env["smegrowth"] == "this checkout" else f", smegrowth imported from `{env['smegrowth']}`")
        + ".  ",
        f"Machine: {env['cpu']}, {env['cores']} cores, {env['memory_gb']} GB, {env['os']}; "
        f"load average {env['load_average']:.1f} at the start (shared, noisy: compare ratios within "
        f"one run); memory speed {env.get('memory_speed_gbs', float('nan')):.1f} GB/s at the start, "
        f"{res.get('memory_speed_end_gbs', float('nan')):.1f} GB/s at the end (a copy of 200 MB: it falls "
        "when other tenants load the machine).  ",
        f"Python {env['python']}, numpy {env['numpy']}, Mesa {env['mesa']}, pandas {env['pandas']}, "
        f"dask/distributed {env['dask']}.",
        "",
    ]

    rows = []
    if "baseline" in res:
        b = res["baseline"]
        rows.append(
            (
                "full-scale 40-quarter run incl. construction, median",
                f"≤ {TARGETS['full_run_s']:.0f} s",
                f"{b['total_s']:.2f} s (stepping CPU time {b['step_cpu_s']:.2f} s; others' load "
                f"{b['other_load']:.1f} cores)",
                b["total_s"] <= TARGETS["full_run_s"],
            )
        )
        rows.append(
            (
                "peak memory of that run",
                "≤ 1 GB",
                f"{b['peak_rss_max_mb']:.0f} MB",
                b["peak_rss_max_mb"] <= TARGETS["peak_mb"],
            )
        )
    if "reference" in res:
        r = res["reference"]
        rows.append(
            (
                f"speed vs the per-agent reference (scale {r['scale']:g}, per quarter)",
                f"≥ {TARGETS['reference_ratio']:.0f}×",
                f"{r['ratio']:.0f}× ({r['ratio_cpu']:.0f}× in CPU time)",
                r["ratio"] >= TARGETS["reference_ratio"],
            )
        )
    if "scaling" in res:
        s = res["scaling"]
        rows.append(
            (
                f"cost per firm-quarter, max/min over scales {s['scales'][0]:g}–{s['scales'][-1]:g}",
                f"≤ {TARGETS['flatness']}",
                f"{s['flatness']:.2f} in CPU time ({s['flatness_wall']:.2f} in wall time)"
                + (f", median of {s['rounds']} rounds" if s.get("rounds", 1) > 1 else ""),
                s["flatness"] <= TARGETS["flatness"],
            )
        )
    if "sweep" in res:
        w = by_rounds(res["sweep"])
        busy = w["busy"] > BUSY
        busy_note = (
            f" (other processes used up to {w['busy']:.1f} cores, median over rounds; from CPU time per run: "
            f"{w['speedup_estimate']:.2f}× and {100 * w['dask_estimate']:+.0f} %)"
            if busy
            else ""
        )
        rows.append(
            (
                f"sweep throughput, 2 workers / 1 ({w['runs']} runs, median of {w['rounds']} rounds)",
                f"≥ {TARGETS['two_workers']}×",
                f"{w['speedup_2_workers']:.2f}×" + busy_note,
                None if busy else w["speedup_2_workers"] >= TARGETS["two_workers"],
            )
        )
        rows.append(
            (
                "Dask LocalCluster wall time vs the process pool",
                "within 20 %",
                f"{100 * w['dask_vs_pool']:+.0f} %" + busy_note,
                None if busy else w["dask_vs_pool"] <= TARGETS["dask_gap"],
            )
        )
    if "memory" in res:
        m = res["memory"]
        rows.append(
            (
                f"RSS growth over a {m['runs']}-run sweep in one worker",
                f"none (< {TARGETS['leak_mb_per_100_runs']:.0f} MB / 100 runs)",
                f"{m['slope_mb_per_100']:+.1f} MB / 100 runs",
                m["slope_mb_per_100"] < TARGETS["leak_mb_per_100_runs"],
            )
        )
    lines += ["### Against the targets", "", "| target | goal | measured | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {verdict(d)} |" for a, b, c, d in rows]
    lines.append("")

    if "baseline" in res:
        b = res["baseline"]
        lines += [
            "### a. Full-scale baseline, 40 quarters",
            "",
            f"`EnterpriseModel(scale=1.0, rng=7).run(40)` in a fresh process per repeat ({b['repeats']} "
            f"repeats, medians); firms {b['firms_start']:,} at the start, {b['firms_end']:,} active at the end and "
            f"{b['firms_ever']:,} simulated in all; all outcomes finite: {b['finite']}.",
            "",
            "| construction | 40 quarters (CPU) | total | total, each repeat | per firm-quarter | peak RSS "
            "| RSS after `import smegrowth` | other processes' load |",
            "|---|---|---|---|---|---|---|---|",
            f"| {b['construct_s']:.2f} s | {b['step_s']:.2f} s ({b['step_cpu_s']:.2f} s) | {b['total_s']:.2f} s | "
            f"{', '.join(f'{t:.2f}' for t in b['total_s_all'])} s | {b['us_per_firm_quarter']:.2f} µs | "
            f"{b['peak_rss_mb']:.0f} MB (max {b['peak_rss_max_mb']:.0f}) | {b['rss_after_import_mb']:.0f} MB | "
            f"{b['other_load']:.2f} cores |",
            "",
        ]
        if "command" in b:
            c = b["command"]
            lines += [
                f"The same run as a command, `smegrowth {c['args']}`, from start to exit (Python's start, "
                f"imports and the printed table included): {c['wall_s']:.2f} s (median; "
                f"{', '.join(f'{t:.2f}' for t in c['wall_s_all'])} s).",
                "",
            ]
    if "scaling" in res:
        s = res["scaling"]
        lines += [
            "### b. Scaling with population",
            "",
            scaling_method(s) + f"each process warmed up by a small model first (median "
            f"{statistics.median(p['warmup_s'] for p in s['points']):.2f} s: numba's "
            "start-up and loading the compiled loops, a one-off cost per process, not per firm-quarter). Cost "
            "per firm-quarter = stepping time / (mean active firms × quarters), in wall time and in the "
            "process's CPU time (the model is single-threaded, so CPU time is the work done, whatever else the "
            "shared machine runs; the target is judged on it).",
            "",
            "| scale | firms at start | mean active | construction | stepping, wall (CPU) | per firm-quarter, wall "
            "| per firm-quarter, CPU | relative (CPU) | other processes' load | peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        base = min(p["us_per_firm_quarter_cpu"] for p in s["points"])
        for p in s["points"]:
            lines.append(
                f"| {p['scale']:g} | {p['firms_start']:,} | {p['mean_active']:,.0f} | {p['construct_s']:.2f} s | "
                f"{p['step_s']:.2f} s ({p['step_cpu_s']:.2f} s) | {p['us_per_firm_quarter']:.2f} µs | "
                f"{p['us_per_firm_quarter_cpu']:.2f} µs | {p['us_per_firm_quarter_cpu'] / base:.2f} | "
                f"{p['other_load']:.2f} cores | {p['peak_rss_max_mb']:.0f} MB |"
            )
        lines.append("")
    if "reference" in res:
        r = res["reference"]
        lines += [
            "### c. Per-agent reference",
            "",
            f"`benchmarks/reference_model.py`: the same core rules with one Python method per firm and stage "
            f"(`agents.shuffle_do`), started from the same population (scale {r['scale']:g}, seed {r['seed']}), "
            f"{r['quarters']} quarters each. Vectorised: median of {r['repeats']}.",
            "",
            "| model | time per quarter | per firm-quarter | ratio |",
            "|---|---|---|---|",
            f"| per-agent reference (core rules) | {r['reference_step_s'] / r['quarters']:.2f} s | "
            f"{r['reference_us_per_firm_quarter']:.1f} µs | 1 |",
            "| `EnterpriseModel`, core rules only (`CORE_ONLY`) | "
            f"{r['vectorised_core_step_s'] / r['quarters']:.3f} s | "
            f"{1e6 * r['vectorised_core_step_s'] / r['vectorised_firm_quarters']:.2f} µs | {r['ratio_core']:.0f}× |",
            f"| `EnterpriseModel`, all stages (default) | {r['vectorised_step_s'] / r['quarters']:.3f} s | "
            f"{r['vectorised_us_per_firm_quarter']:.2f} µs | {r['ratio']:.0f}× |",
            "",
            f"Building the reference's {r['reference_firm_quarters'] / r['quarters']:,.0f} agents from the "
            f"population took {r['reference_construct_s']:.1f} s.",
            "",
        ]
    if "agreement" in res:
        a = res["agreement"]
        lines += [
            f"Agreement of key outcomes, {a['seeds']} seeds, scale {a['scale']:g}, {a['quarters']} quarters, "
            "both models with `CORE_ONLY` (z = difference of means in combined standard errors; KS = "
            "two-sample Kolmogorov-Smirnov p-value; `tests/test_reference.py` checks the same at smaller "
            "size, plus firm-by-firm equality to 1e-9 with the random draws switched off):",
            "",
            "| outcome | reference mean (sd) | vectorised mean (sd) | z | KS p |",
            "|---|---|---|---|---|",
        ]
        for row in a["table"]:
            lines.append(
                f"| {row['outcome'].replace('_', ' ')} | {row['reference_mean']:.4g} ({row['reference_sd']:.2g}) | "
                f"{row['vectorised_mean']:.4g} ({row['vectorised_sd']:.2g}) | {row['z']:+.2f} | {row['ks_p']:.2f} |"
            )
        lines.append("")
    if "sweep" in res:
        w = by_rounds(res["sweep"])
        lines += [
            "### d. Sweep throughput",
            "",
            f"{w['runs']} replicates of the baseline at scale 0.1, 24 quarters ({w['scenario']}), through "
            "`smegrowth sweep FILE <flags> --out DIR --fresh`; wall time from start to exit (start-up, "
            "workers and consolidation included); peak RSS of the largest single process. The three setups "
            f"ran in turn, {w['rounds']} rounds, in an order rotating by round; medians over rounds, and each "
            "round's wall time.",
            "",
            "| executor | wall time (median) | each round | runs per minute | mean time per run in the worker | "
            "CPU s per run, all processes | other processes' load | peak RSS | runs ok |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for label, e in w["executors"].items():
            lines.append(
                f"| {label} | {e['wall_s']:.1f} s | {', '.join(f'{t:.1f}' for t in e['wall_s_all'])} s | "
                f"{e['runs_per_min']:.0f} | {e['mean_run_s']:.2f} s | "
                f"{e['cpu_s'] / w['runs']:.2f} s | {e['other_load']:.2f} cores | {e['peak_rss_mb']:.0f} MB | "
                f"{e['ok']} |"
            )
        lines += [
            "",
            f"2 workers: {w['speedup_2_workers']:.2f}× the throughput of 1 (rounds: "
            f"{', '.join(f'{x:.2f}' for x in w['speedups_2_workers'])}). Dask: "
            f"{100 * w['dask_vs_pool']:+.0f} % wall time against the pool (rounds: "
            f"{', '.join(f'{100 * x:+.0f}' for x in w['dask_gaps'])} %). "
            + (
                "Before each round, two CPU-bound processes (a pure-Python loop) got "
                f"{', '.join(f'{x:.2f}' for x in w['machine_parallelism'])}× the throughput of one from this "
                "machine: the most any two workers could get at that moment. "
                if w["machine_parallelism"]
                else ""
            )
            + "The runs tables are "
            f"{'identical' if w['identical'] else '**not identical**'} (after dropping `elapsed_s`).",
            "",
            "Other processes' load = the machine's busy CPU time (/proc/stat) minus the command's own, per second "
            f"of wall time; above {BUSY} cores the wall-time ratios are not judged. The estimates from CPU time "
            "(2 × CPU per run on 1 worker / CPU per run on 2; Dask CPU per run / pool CPU per run - 1) are what an "
            f"idle machine would give if every CPU second parallelised: {w['speedup_estimate']:.2f}× and "
            f"{100 * w['dask_estimate']:+.0f} %.",
            "",
        ]
    if "memory" in res:
        m = res["memory"]
        pts = m["samples"]
        marks = [int(m["runs"] * f) for f in (0.1, 0.25, 0.5, 0.75)] + [m["runs"] - 1]
        picked = []
        for mark in marks:
            cand = [r for d, r in pts if d >= mark]
            picked.append(f"{mark}: {cand[0]:.0f} MB" if cand else f"{mark}: -")
        lines += [
            "### e. Memory across a long sweep in one worker",
            "",
            f"{m['runs']} runs at scale {m['scale']:g} ({m['quarters']} quarters) through `smegrowth.api.sweep(..., "
            "workers=1)` (what `--workers 1` runs), RSS of that process sampled from a thread every 0.5 s with "
            f"the number of runs finished; {m['ok']} runs ok in {m['elapsed_s']:.0f} s.",
            "",
            f"- RSS before the sweep {m['rss_before_mb']:.0f} MB; after n runs — {'; '.join(picked)}; peak "
            f"{m['peak_rss_mb']:.0f} MB (including the final consolidation of all tables).",
            f"- Fitted growth from run {int(0.1 * m['runs'])} to the end: "
            f"**{m['slope_mb_per_100']:+.1f} MB per 100 runs** "
            f"({m['rss_from_mb']:.0f} → {m['rss_to_mb']:.0f} MB).",
            f"- For scale: the same loop without `release` (Mesa #3179 keeps every model alive) grows "
            f"{m['leak_slope_mb_per_100']:+.0f} MB per 100 runs ({m['leak_runs']} runs).",
            "",
        ]
    if "many" in res:
        f = res["many"]
        lines += [
            "### f. Thousands of small runs",
            "",
            f"{f['runs']} replicates of the baseline at scale 0.005, 8 quarters ({f['scenario']}), through "
            "`smegrowth sweep FILE --workers 2 --out DIR --fresh`, where storing and consolidating a run weigh "
            f"as much as making it; medians of {f['rounds']} round{'s' if f['rounds'] != 1 else ''}. "
            "Consolidation: from the last run file written to the runs table. Resume: the same command "
            "again (without `--fresh`) on the finished sweep, start to exit.",
            "",
            "| wall time (median) | each round | runs per minute | mean time per run in the worker | "
            "consolidation (each round) | resume of the finished sweep (each round) | results folder | runs ok |",
            "|---|---|---|---|---|---|---|---|",
            f"| {f['wall_s']:.1f} s | {', '.join(f'{x:.1f}' for x in f['wall_s_all'])} s | "
            f"{60.0 * f['runs'] / f['wall_s']:.0f} | {1e3 * f['mean_run_s']:.1f} ms | "
            f"{f['consolidation_s']:.1f} s ({', '.join(f'{x:.1f}' for x in f['consolidation_s_all'])} s) | "
            + (f"{f['resume_s']:.1f} s ({', '.join(f'{x:.1f}' for x in f['resume_s_all'])} s)"
               if "resume_s" in f else "not measured")
            + f" | {f['folder_mb']:.0f} MB | {f['ok']} |",
            "",
        ]
    lines.append(END)
    return "\n".join(lines)


def write_readme(block: str) -> None:
    text = README.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        anchor = "\n## "
        i = text.find(anchor)
        text = text + "\n" + block + "\n" if i < 0 else text[: i + 1] + block + "\n\n" + text[i + 1 :]
    README.write_text(text)


# --- main -----------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run (~2 min) with smaller sizes; prints only")
    ap.add_argument("--only", default="a,b,c,d,e,f", help="comma-separated sections to run (default: all)")
    ap.add_argument(
        "--readme",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the figures into benchmarks/README.md (default: yes for the full set)",
    )
    ap.add_argument("--json", type=Path, help="also write all measurements to this JSON file")
    ap.add_argument("--render", type=Path, metavar="JSON", help="measure nothing: write the figures of a --json file")
    args = ap.parse_args()
    if args.render:
        saved = json.loads(args.render.read_text())
        block = render(saved, saved["quick"])
        print(block)
        if args.readme is not False:
            write_readme(block)
            log(f"figures written to {README}")
        return
    cfg = QUICK if args.quick else FULL
    only = set(args.only.split(","))
    command = (
        "python benchmarks/run_all.py"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if only != set("abcdef") else "")
    )
    res: dict = {"env": environment(command), "quick": args.quick}
    log(f"benchmarks ({'quick' if args.quick else 'full'}): sections {sorted(only)}")
    # after an edit of the model numba compiles its loops again on their first use (several seconds):
    # done here, unmeasured, so that no measured process pays for it
    log("compiling the model's loops if they are not cached yet (not measured)")
    # scale 0.02: enough firms that every compiled loop is called (at 0.002 no firm lists, for one)
    measure("model", "--scale", "0.02", "--quarters", "6", "--seed", "1")

    if "a" in only:
        b = cfg["baseline"]
        res["baseline"] = summarise_models(run_models(b["scale"], b["quarters"], b["seed"], b["repeats"]))
        res["baseline"]["command"] = command_run(b["scale"], b["quarters"], b["seed"], b["repeats"])
    if "b" in only:
        s, b = cfg["scaling"], cfg["baseline"]
        res["scaling"] = section_scaling(s["scales"], s["quarters"], b["seed"], s["rounds"])
    if "c" in only:
        r = cfg["reference"]
        log(f"per-agent reference at scale {r['scale']}, {r['quarters']} quarters")
        res["reference"] = measure(
            "reference",
            "--scale",
            str(r["scale"]),
            "--quarters",
            str(r["quarters"]),
            "--seed",
            "7",
            "--repeats",
            str(r["repeats"]),
        )
        res["reference"]["repeats"] = r["repeats"]
        g = cfg["agreement"]
        log(f"agreement over {g['seeds']} seeds at scale {g['scale']}")
        res["agreement"] = measure(
            "agreement", "--scale", str(g["scale"]), "--quarters", str(g["quarters"]), "--seeds", str(g["seeds"])
        )
    with tempfile.TemporaryDirectory(prefix="smegrowth-bench-") as tmp:
        work = Path(tmp)
        if "d" in only:
            res["sweep"] = section_sweeps(cfg["sweep"]["runs"], cfg["sweep"]["rounds"], work)
        if "e" in only:
            m = cfg["memory"]
            log(f"memory: {m['runs']} runs at scale {m['scale']} in one worker")
            mem = measure(
                "memory",
                "--runs",
                str(m["runs"]),
                "--scale",
                str(m["scale"]),
                "--quarters",
                str(m["quarters"]),
                "--folder",
                str(work / "memory"),
            )
            mem["slope_mb_per_100"], mem["rss_from_mb"], mem["rss_to_mb"] = leak_slope(mem["samples"], m["runs"])
            log(f"memory: the same loop without release, {m['leak_runs']} runs")
            leak = measure(
                "leak", "--runs", str(m["leak_runs"]), "--scale", str(m["scale"]), "--quarters", str(m["quarters"])
            )
            pts = np.array(leak["samples"], dtype=float)
            mem["leak_slope_mb_per_100"] = float(np.polyfit(pts[1:, 0], pts[1:, 1], 1)[0]) * 100.0
            mem["leak_runs"] = m["leak_runs"]
            res["memory"] = mem
        if "f" in only:
            res["many"] = section_many_runs(cfg["many"]["runs"], cfg["many"]["rounds"], work)

    res["memory_speed_end_gbs"] = memory_speed()
    block = render(res, args.quick)
    print(block)
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str))
    write = args.readme if args.readme is not None else not args.quick
    if write:
        write_readme(block)
        log(f"figures written to {README}")


if __name__ == "__main__":
    main()
