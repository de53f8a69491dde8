"""Time a probabilistic sensitivity analysis (PSA) of the shipped ACO scenario (issue 16
item 4): parameter uncertainty on, behaviour on, ``scenarios/mssp_two_sided.yaml``.

    PYTHONPATH=$PWD python benchmarks/psa_scale.py --reps 1000 [--size 10000]
        [--engine des|fast] [--workers 2] [--memory-reps 100] [--out] [--json out.json]

Each measurement runs in a fresh subprocess (``sim.run`` on the scenario resized to
``--size`` patients, ``--reps`` replications, ``--workers`` processes), so its wall time
and peak memory are its own. Two measurements are made: ``--reps`` and ``--memory-reps``
replications (default a fifth of ``--reps``, at least 2). From the two:

* replications per second (of the larger run), wall time, CPU time of all its processes
  (less distorted than wall time by other work on a shared machine);
* peak resident memory of the main process and of the largest worker (``ru_maxrss``,
  MiB): flat in the number of replications if the two runs' peaks agree;
* the projected wall time of 1,000 replications, from the straight line through the two
  runs' wall times (fixed cost + cost per replication), and from their CPU times (CPU
  seconds per replication x 1,000 / workers: what an otherwise idle machine would take).

Targets (issue 16): a 1,000-replication PSA of 10,000 patients x 5 years under 3 minutes on
2 cores, aim under 60 seconds. ``--engine`` is passed to the scenario only if this
checkout's scenario schema has an ``engine`` field (the fast engine); ``--engine fast``
without it is refused. ``--out`` writes the results to a temporary results directory
(each replication streamed to disk as it finishes) instead of keeping them in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENARIO = ROOT / "scenarios" / "mssp_two_sided.yaml"
TARGET_S, AIM_S = 180.0, 60.0


def engine_supported() -> bool:
    """Whether this checkout's scenarios have an ``engine`` field."""
    from sim.scenario.schema import Scenario

    return "engine" in Scenario.model_fields


def build_scenario(path: Path, size: int, engine: str | None):
    """The scenario resized (and its engine set, if the schema has the field)."""
    from sim.scenario import load_scenario

    sc = load_scenario(path)  # model_copy keeps the declared distributions
    update: dict = {"population": sc.population.model_copy(update={"size": size})}
    if size < 10_000:  # a small demo panel: below the MSSP minimum of 5,000 assigned
        update["attribution"] = sc.attribution.model_copy(update={"enforce_minimum": False})
    if engine is not None:
        if engine_supported():
            update["engine"] = engine
        elif engine != "des":
            raise SystemExit(f"--engine {engine}: this checkout's scenario schema has no "
                             "'engine' field (the fast engine is not merged); use --engine des")
    return sc.model_copy(update=update)


def child(args: argparse.Namespace) -> None:
    """One measured run; prints one JSON line."""
    warnings.filterwarnings("ignore", message=".*below the programme's minimum")
    from sim.runner import run
    from sim.scenario.uncertain import uncertainty_of

    sc = build_scenario(args.scenario, args.size, args.engine)
    n_uncertain = len(uncertainty_of(sc).paths())
    if not (sc.parameter_uncertainty and n_uncertain and sc.behavior == "incentives"):
        raise SystemExit("the PSA needs parameter uncertainty (declared distributions) and "
                         "behaviour on")
    with tempfile.TemporaryDirectory(prefix="psa_scale_") as tmp:
        t0 = time.perf_counter()
        res = run(sc, replications=args.reps, seed=args.seed, workers=args.workers,
                  progress=False, out=Path(tmp) / "results" if args.out else None)
        wall = time.perf_counter() - t0
    reps_done = int(res.results["replication"].nunique())
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(json.dumps({
        "reps": args.reps, "reps_done": reps_done, "wall_s": wall,
        "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
        "reps_per_s": args.reps / wall,
        "rss_main_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "result_rows": len(res.results), "uncertain_parameters": n_uncertain,
        "draws_rows": len(res.draws) if getattr(res, "draws", None) is not None else None,
    }))


def measure(args: argparse.Namespace, reps: int) -> dict:
    cmd = [sys.executable, __file__, "--child", "--reps", str(reps), "--size", str(args.size),
           "--workers", str(args.workers), "--seed", str(args.seed),
           "--scenario", str(args.scenario)]
    if args.engine:
        cmd += ["--engine", args.engine]
    if args.out:
        cmd.append("--out")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"measurement at {reps} replications failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--memory-reps", type=int, default=None,
                    help="the second replication count (default: --reps / 5, at least 2)")
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--engine", choices=("des", "fast", "auto"), default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20_240_101)
    ap.add_argument("--scenario", type=Path, default=SCENARIO)
    ap.add_argument("--out", action="store_true", help="stream results to a directory")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    build_scenario(args.scenario, args.size, args.engine)  # refuse a bad --engine early
    small = args.memory_reps or max(2, args.reps // 5)
    load = os.getloadavg()
    runs = [measure(args, small), measure(args, args.reps)]
    a, b = runs
    per_rep = (b["wall_s"] - a["wall_s"]) / (b["reps"] - a["reps"]) if b["reps"] != a["reps"] \
        else b["wall_s"] / b["reps"]
    fixed = max(b["wall_s"] - per_rep * b["reps"], 0.0)
    projected = fixed + per_rep * 1000
    # CPU seconds per replication (less distorted by a busy machine) spread over the workers
    cpu_per_rep = ((b["cpu_s"] - a["cpu_s"]) / (b["reps"] - a["reps"])
                   if b["reps"] != a["reps"] else b["cpu_s"] / b["reps"])
    projected_cpu = cpu_per_rep * 1000 / max(args.workers, 1)
    out = {
        "scenario": args.scenario.name, "size": args.size,
        "engine": args.engine or ("des (schema has no engine field)" if not engine_supported()
                                  else "scenario default"),
        "workers": args.workers, "out": args.out, "load_average_at_start": list(load),
        "python": platform.python_version(), "cpus": os.cpu_count(), "runs": runs,
        "seconds_per_replication": per_rep, "fixed_seconds": fixed,
        "projected_1000_reps_s": projected, "cpu_seconds_per_replication": cpu_per_rep,
        "projected_1000_reps_from_cpu_s": projected_cpu,
    }
    print(f"PSA of {args.scenario.name}: {args.size:,} patients x 5 plan years, parameter "
          f"uncertainty and behaviour on, engine {out['engine']}, {args.workers} worker(s); "
          f"load average at start {load[0]:.2f}")
    print("| replications | wall s | CPU s (all processes) | replications/s | "
          "peak RSS main MiB | peak RSS worker MiB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in runs:
        print(f"| {r['reps']:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['reps_per_s']:.3f} | "
              f"{r['rss_main_mib']:.0f} | {r['rss_worker_mib']:.0f} |")
    verdict = ("PASS (aim met)" if projected <= AIM_S else "PASS" if projected <= TARGET_S
               else "FAIL")
    print(f"per replication {per_rep:.2f} s, fixed {fixed:.1f} s; projected 1,000 "
          f"replications: {projected:,.0f} s ({projected / 60:.1f} min); target <= "
          f"{TARGET_S:.0f} s, aim <= {AIM_S:.0f} s: {verdict}")
    print(f"from CPU time: {cpu_per_rep:.2f} CPU s per replication; 1,000 replications on "
          f"{args.workers} fully used core(s): {projected_cpu:,.0f} s "
          f"({projected_cpu / 60:.1f} min)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
