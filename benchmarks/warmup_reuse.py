"""Warm-up reuse (issue 16 item 3): the README's 4-scenario worked comparison with and
without reusing warm-ups across the scenarios of a replication.

    PYTHONPATH=$PWD python benchmarks/warmup_reuse.py [--replications 2] [--size 10000]
        [--workers 1] [--json out.json]

Runs ``ffs_baseline, mssp_one_sided, mssp_two_sided, capitation_global`` (common random
numbers, one ``sim.runner.run_scenarios`` call) twice in this process: with
``VBCSIM_WARMUP_REUSE=0`` (every task simulates its 5 warm-up years) and with reuse on;
reports wall and CPU time of each, how many warm-ups were simulated and reused, and checks
that the results and side tables are identical. ``capitation_global`` has attribution off
(a warm-up setting), so it simulates its own; the other three share one per replication.
CPU time counts this process only (with ``--workers`` > 1, the wall time is what counts).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.care import warmup  # noqa: E402
from sim.runner import run_scenarios  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCENARIOS = ("ffs_baseline", "mssp_one_sided", "mssp_two_sided", "capitation_global")


def _scenarios(size: int) -> list:
    out = []
    for name in SCENARIOS:
        sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        update = {"population": sc.population.model_copy(update={"size": size})}
        if size < 10_000:  # a small demo panel: below the MSSP minimum of 5,000 assigned
            update["attribution"] = sc.attribution.model_copy(
                update={"enforce_minimum": False})
        out.append(sc.model_copy(update=update))
    return out


def _run(scs: list, reps: int, workers: int, reuse: bool) -> tuple[object, dict]:
    os.environ["VBCSIM_WARMUP_REUSE"] = "1" if reuse else "0"
    warmup.clear_cache()
    counts = {"reused": 0}
    real = warmup.restore

    def counted(*a, **k):
        counts["reused"] += 1
        return real(*a, **k)

    warmup.restore = counted
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_scenarios(scs, replications=reps, workers=workers, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        warmup.restore = real
        warmup.clear_cache()
    tasks = reps * len(scs)
    return res, {"reuse": reuse, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                 "tasks": tasks, "warmups_reused": counts["reused"] if workers == 1 else None,
                 "warmups_simulated": tasks - counts["reused"] if workers == 1 else None}


def _same(a, b) -> bool:
    fa = {"results": a.results, **a.tables}
    fb = {"results": b.results, **b.tables}
    if fa.keys() != fb.keys():
        return False
    try:
        for k in fa:
            pd.testing.assert_frame_equal(fa[k].reset_index(drop=True),
                                          fb[k].reset_index(drop=True), check_exact=True)
    except AssertionError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replications", type=int, default=2)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message=".*below the programme's minimum")
    scs = _scenarios(args.size)
    load = os.getloadavg()
    plain, a = _run(scs, args.replications, args.workers, reuse=False)
    reused, b = _run(scs, args.replications, args.workers, reuse=True)
    same = _same(plain, reused)
    out = {"size": args.size, "replications": args.replications, "workers": args.workers,
           "warmup_years": scs[0].warmup_years, "horizon_years": scs[0].horizon_years,
           "load_average_at_start": [round(x, 2) for x in load],
           "python": platform.python_version(), "runs": [a, b], "identical": same,
           "saving_wall": round(1 - b["wall_s"] / a["wall_s"], 3),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    print(f"{len(scs)} scenarios x {args.replications} replications, {args.size:,} patients, "
          f"{out['warmup_years']} warm-up + {out['horizon_years']} plan years, "
          f"{args.workers} worker(s); load average at start {load[0]:.2f}")
    print("| warm-up | wall s | CPU s (this process) | warm-ups simulated | reused |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in (a, b):
        print(f"| {'reused' if r['reuse'] else 'simulated every time'} | {r['wall_s']:.1f} | "
              f"{r['cpu_s']:.1f} | {r['warmups_simulated']} | {r['warmups_reused']} |")
    print(f"wall-time saving {out['saving_wall']:.0%}; results identical: {same}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
