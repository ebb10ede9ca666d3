"""One measurement per process, printed as one line of JSON; ``run_all.py`` starts each in a fresh
subprocess so that peak memory (``ru_maxrss``) and allocator state never carry over.

    python benchmarks/measure.py model --scale 1.0 --quarters 40 --seed 7
    python benchmarks/measure.py reference --scale 1.0 --quarters 3 --seed 7
    python benchmarks/measure.py agreement --scale 0.02 --quarters 12 --seeds 10
    python benchmarks/measure.py memory --runs 500 --scale 0.02 --folder /tmp/mem
    python benchmarks/measure.py leak --runs 40 --scale 0.02
    python benchmarks/measure.py command -- smegrowth sweep ... (wall time and peak RSS of a command)
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def rss_mb() -> float:
    """Current resident set size of this process, MB (from /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
    except OSError:
        return float("nan"), float("nan")
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    total = sum(fields[:8])
    return (total - idle) / hz, total / hz


def peak_mb() -> float:
    """Peak resident set size of this process so far, MB (``ru_maxrss`` is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_model(scale: float, quarters: int, seed: int, warm: bool = False) -> dict:
    """Construction and stepping time, firms simulated and peak memory of one run. ``warm``: first run
    a small model, so that the process's one-off costs (numba's start-up and loading the compiled
    loops from its cache) are not counted: the marginal cost of the run itself."""
    import numpy as np
    from smegrowth import EnterpriseModel

    warmup = 0.0
    if warm:
        t = time.perf_counter()
        EnterpriseModel(scale=0.02, rng=seed + 1).run(4)
        warmup = time.perf_counter() - t
        gc.collect()
    baseline = rss_mb()
    busy0, _ = machine_busy()
    c0 = time.process_time()
    t0 = time.perf_counter()
    model = EnterpriseModel(scale=scale, rng=seed)
    t1 = time.perf_counter()
    c1 = time.process_time()
    active = [int(np.count_nonzero(model.state.active()))]
    for _ in range(quarters):
        model.step()
        active.append(int(np.count_nonzero(model.state.active())))
    t2 = time.perf_counter()
    c2 = time.process_time()
    busy1, _ = machine_busy()
    ts = model.timeseries()
    finite = bool(np.isfinite(ts.drop(columns=["quarter"]).to_numpy(float)).all())
    # firm-quarters stepped: the active firms at the start of each quarter
    firm_quarters = float(sum(active[:-1]))
    return {
        "scale": scale,
        "quarters": quarters,
        "seed": seed,
        "warm": warm,
        "warmup_s": warmup,
        "construct_s": t1 - t0,
        "step_s": t2 - t1,
        "step_cpu_s": c2 - c1,
        "other_load": max(busy1 - busy0 - (c2 - c0), 0.0) / (t2 - t0),
        "total_s": t2 - t0,
        "firms_start": active[0],
        "firms_end": active[-1],
        "firms_ever": int(model.state.next_id),
        "mean_active": firm_quarters / max(quarters, 1),
        "firm_quarters": firm_quarters,
        "us_per_firm_quarter": 1e6 * (t2 - t1) / max(firm_quarters, 1.0),
        "us_per_firm_quarter_cpu": 1e6 * (c2 - c1) / max(firm_quarters, 1.0),
        "rss_after_import_mb": baseline,
        "peak_rss_mb": peak_mb(),
        "finite": finite,
    }


def measure_reference(scale: float, quarters: int, seed: int, repeats: int) -> dict:
    """Per-quarter cost of the vectorised model and of the per-agent reference on one population."""
    sys.path.insert(0, str(HERE))
    from reference_model import CORE_ONLY, ReferenceFirm, ReferenceModel
    from smegrowth import EnterpriseModel
    from smegrowth.runner import release

    def vectorised(parameters: dict | None) -> tuple[float, float, float]:
        times, cpu, firm_quarters = [], [], 0.0
        for _ in range(repeats):
            model = EnterpriseModel(scale=scale, rng=seed, parameters=parameters)
            firm_quarters = 0.0
            t, c = time.perf_counter(), time.process_time()
            for _ in range(quarters):
                firm_quarters += int(model.state.active().sum())
                model.step()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            release(model)
            del model
            gc.collect()
        return statistics.median(times), statistics.median(cpu), firm_quarters

    vec_s, vec_cpu, vec_fq = vectorised(None)
    core_s, _, _ = vectorised(CORE_ONLY)
    t0 = time.perf_counter()
    ref = ReferenceModel(scale, seed, CORE_ONLY)
    t1 = time.perf_counter()
    c1 = time.process_time()
    ref_fq = 0.0
    for _ in range(quarters):
        ref_fq += len(ref.agents_by_type[ReferenceFirm])
        ref.step()
    t2 = time.perf_counter()
    c2 = time.process_time()
    return {
        "scale": scale,
        "quarters": quarters,
        "seed": seed,
        "vectorised_step_s": vec_s,
        "vectorised_core_step_s": core_s,
        "vectorised_firm_quarters": vec_fq,
        "reference_construct_s": t1 - t0,
        "reference_step_s": t2 - t1,
        "reference_firm_quarters": ref_fq,
        "ratio": (t2 - t1) / vec_s,
        "ratio_core": (t2 - t1) / core_s,
        "ratio_cpu": (c2 - c1) / vec_cpu,
        "reference_us_per_firm_quarter": 1e6 * (t2 - t1) / ref_fq,
        "vectorised_us_per_firm_quarter": 1e6 * vec_s / vec_fq,
    }


def measure_agreement(scale: float, quarters: int, seeds: int) -> dict:
    sys.path.insert(0, str(HERE))
    from reference_model import agreement

    table = agreement(scale, quarters, range(seeds))
    return {"scale": scale, "quarters": quarters, "seeds": seeds, "table": table.reset_index().to_dict("records")}


def measure_memory(runs: int, scale: float, quarters: int, folder: Path, every: float) -> dict:
    """A sweep of ``runs`` replicates with one worker (in this process, as ``--workers 1`` does),
    sampling this process's RSS and the number of finished runs from a thread."""
    import smegrowth.api as sg

    folder.mkdir(parents=True, exist_ok=True)
    scenario = folder / "memory_sweep.yaml"
    scenario.write_text(
        f"name: memory_sweep\nextends: {HERE / 'sweep_throughput.yaml'}\nscale: {scale}\nquarters: {quarters}\n"
        f"design:\n  replicates: {runs}\n"
    )
    out = folder / "out"
    samples: list[tuple[int, float]] = []
    stop = threading.Event()

    def sample() -> None:
        runs_dir = out / "runs"
        while not stop.is_set():
            try:
                done = sum(1 for name in os.listdir(runs_dir) if name.endswith(".ts.arrow"))
            except FileNotFoundError:
                done = 0
            samples.append((done, rss_mb()))
            stop.wait(every)

    start_rss = rss_mb()
    thread = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    table = sg.sweep(scenario, workers=1, out=out, fresh=True, progress=False)
    stop.set()
    thread.join()
    samples.append((runs, rss_mb()))
    return {
        "runs": runs,
        "scale": scale,
        "quarters": quarters,
        "elapsed_s": time.perf_counter() - t0,
        "ok": int((table["status"] == "ok").sum()),
        "rss_before_mb": start_rss,
        "samples": samples,
        "peak_rss_mb": peak_mb(),
    }


def measure_leak(runs: int, scale: float, quarters: int) -> dict:
    """The same loop without :func:`smegrowth.runner.release`: what a leak looks like (Mesa #3179)."""
    from smegrowth import EnterpriseModel

    samples = [(0, rss_mb())]
    for i in range(runs):
        model = EnterpriseModel(scale=scale, rng=i)
        model.run(quarters)
        del model
        gc.collect()
        samples.append((i + 1, rss_mb()))
    return {"runs": runs, "scale": scale, "quarters": quarters, "samples": samples}


PR_SET_CHILD_SUBREAPER = 36
"""Linux ``prctl`` option: orphaned descendants are re-parented to this process, not to init."""


def adopt_orphans() -> None:
    """Become the child subreaper (Linux), so that descendants which outlive their parent (a
    fork server and the workers forked from it) are re-parented here and can be reaped, and
    their CPU time counted; elsewhere nothing happens."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_descendants() -> None:
    """Wait for every child process left (re-parented orphans exit once their parent has)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def measure_command(cmd: list[str]) -> dict:
    """Wall time of a command, CPU time of it and all its descendants (a fork server and the
    workers forked from it included, which the command does not wait for), and peak RSS
    (largest single process, parent or worker)."""
    adopt_orphans()
    busy0, _ = machine_busy()
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    reap_descendants()
    busy1, _ = machine_busy()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = usage.ru_maxrss / 1024
    ours = usage.ru_utime + usage.ru_stime
    return {
        "cmd": cmd,
        "wall_s": wall,
        "returncode": done.returncode,
        "peak_rss_mb": peak,
        "cpu_s": ours,
        "other_load": max(busy1 - busy0 - ours, 0.0) / wall,
        "stderr_tail": done.stderr[-2000:],
        "stdout_tail": done.stdout[-2000:],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    m = sub.add_parser("model")
    m.add_argument("--scale", type=float, default=1.0)
    m.add_argument("--quarters", type=int, default=40)
    m.add_argument("--seed", type=int, default=7)
    m.add_argument("--warm", action="store_true", help="run a small model first (one-off costs not counted)")
    r = sub.add_parser("reference")
    r.add_argument("--scale", type=float, default=1.0)
    r.add_argument("--quarters", type=int, default=3)
    r.add_argument("--seed", type=int, default=7)
    r.add_argument("--repeats", type=int, default=3)
    a = sub.add_parser("agreement")
    a.add_argument("--scale", type=float, default=0.02)
    a.add_argument("--quarters", type=int, default=12)
    a.add_argument("--seeds", type=int, default=10)
    mem = sub.add_parser("memory")
    mem.add_argument("--runs", type=int, default=500)
    mem.add_argument("--scale", type=float, default=0.02)
    mem.add_argument("--quarters", type=int, default=24)
    mem.add_argument("--folder", type=Path, required=True)
    mem.add_argument("--every", type=float, default=0.5, help="seconds between RSS samples")
    lk = sub.add_parser("leak")
    lk.add_argument("--runs", type=int, default=40)
    lk.add_argument("--scale", type=float, default=0.02)
    lk.add_argument("--quarters", type=int, default=24)
    c = sub.add_parser("command")
    c.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.what == "model":
        out = measure_model(args.scale, args.quarters, args.seed, args.warm)
    elif args.what == "reference":
        out = measure_reference(args.scale, args.quarters, args.seed, args.repeats)
    elif args.what == "agreement":
        out = measure_agreement(args.scale, args.quarters, args.seeds)
    elif args.what == "memory":
        out = measure_memory(args.runs, args.scale, args.quarters, args.folder, args.every)
    elif args.what == "leak":
        out = measure_leak(args.runs, args.scale, args.quarters)
    else:
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        out = measure_command(cmd)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
