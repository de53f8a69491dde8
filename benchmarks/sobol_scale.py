"""Time Sobol indices (SALib, ``sim.sensitivity.sobol``) of the shipped ACO scenario over
its declared uncertain parameters (issue 16 item 6: N >= 1,024 base samples, >= 10
parameters, "in minutes with the fast engine").

    PYTHONPATH=$PWD python benchmarks/sobol_scale.py --n 1024 [--size 10000]
        [--engine des|fast] [--workers 2] [--metric payer_spend_per_capita_usd]
        [--entity population] [--reps 1] [--json out.json]

``--n`` base samples give ``n x (D + 2)`` design points for ``D`` parameters (the
scenario's 17 declared uncertain parameters unless ``--parameters`` names some), each run
``--reps`` times. The run is timed in this process (wall time, CPU time of this process and
its workers, peak RSS), and the time per design point gives the projection to
``--project-n`` (default 1,024) base samples. A small ``--n`` (e.g. 2, 38 design points)
measures; the full run is ``--n 1024``. ``--engine`` is passed only if the scenario schema
has an ``engine`` field (the fast engine); ``--engine fast`` without it is refused.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.psa_scale import SCENARIO, build_scenario, engine_supported  # noqa: E402


def _cpu() -> float:
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2, help="base samples (a power of 2)")
    ap.add_argument("--project-n", type=int, default=1024)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--engine", choices=("des", "fast", "auto"), default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reps", type=int, default=1, help="replications per design point")
    ap.add_argument("--metric", default="payer_spend_per_capita_usd")
    ap.add_argument("--entity", default="population")
    ap.add_argument("--parameters", nargs="*", default=None)
    ap.add_argument("--scenario", type=Path, default=SCENARIO)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message=".*below the programme's minimum")
    from sim.executors import make_executor
    from sim.sensitivity import _factors, sobol

    sc = build_scenario(args.scenario, args.size, args.engine)
    d = len(_factors(sc, args.parameters))
    points = args.n * (d + 2)
    exe = make_executor(workers=args.workers, tasks=points * args.reps)
    load = os.getloadavg()
    t0, c0 = time.perf_counter(), _cpu()
    table = sobol(sc, args.n, args.metric, entity=args.entity, parameters=args.parameters,
                  replications=args.reps, executor=exe, progress=False)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    per_point = wall / points
    full_points = args.project_n * (d + 2)
    projected = per_point * full_points
    rss = max(resource.getrusage(w).ru_maxrss
              for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    engine = args.engine or ("des (schema has no engine field)" if not engine_supported()
                             else "scenario default")
    print(f"Sobol ({args.metric}, {args.entity}) of {args.scenario.name}: {args.size:,} "
          f"patients x 5 plan years, {d} parameters, N = {args.n} -> {points} design points x "
          f"{args.reps} replication(s), engine {engine}, {args.workers} worker(s); load "
          f"average at start {load[0]:.2f}")
    print(f"wall {wall:.1f} s, CPU {cpu:.1f} s, {points / wall:.3f} points/s, peak RSS "
          f"{rss:.0f} MiB")
    projected_cpu = cpu / points * full_points / max(args.workers, 1)
    print(f"projected N = {args.project_n} ({full_points:,} points x {args.reps}): "
          f"{projected:,.0f} s ({projected / 3600:.1f} h) wall at this rate; from CPU time "
          f"({cpu / points:.2f} CPU s a point) on {args.workers} fully used core(s): "
          f"{projected_cpu:,.0f} s ({projected_cpu / 3600:.1f} h)")
    print(table[["parameter", "S1", "S1_conf", "ST", "ST_conf"]].to_string(index=False))
    if args.json:
        args.json.write_text(json.dumps({
            "scenario": args.scenario.name, "size": args.size, "parameters": d, "n": args.n,
            "points": points, "reps": args.reps, "workers": args.workers, "engine": engine,
            "wall_s": wall, "cpu_s": cpu, "peak_rss_mib": rss, "load_average_at_start": load,
            "python": platform.python_version(), "projected_n": args.project_n,
            "projected_wall_s": projected, "projected_from_cpu_s": projected_cpu,
            "indices": table.to_dict(orient="records"),
        }, indent=2, default=float))


if __name__ == "__main__":
    main()
