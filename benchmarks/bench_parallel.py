"""Parallel execution of Monte Carlo replications: efficiency, Dask overhead, PSA wall time.

Measures, on the default FFS baseline resized to ``--patients`` x ``--years``:

1. serial wall time of ``--replications`` replications (in this process);
2. the same on ``--workers`` local processes: parallel efficiency
   ``T_serial / (workers x T_processes)`` (target >= 85% for 20 x 10,000 x 5 years on 2 cores);
3. the same on a local Dask cluster of ``--workers`` processes: overhead
   ``T_dask / T_processes - 1`` (target <= 10%);
4. a probabilistic sensitivity analysis (uncertain admission rate, DRG price, prevention
   effect and age mix) of ``--psa-replications`` replications on local processes, writing
   every replication as a part (as ``vbcsim run --out`` does); the wall time of 1,000
   replications is extrapolated linearly from it unless ``--psa-replications 1000``
   (target < 20 minutes on 2 cores; the linear extrapolation counts worker start-up 1,000/N
   times, so it slightly overstates).

Every configuration gives bit-identical results (checked). Wall times include starting and
stopping the workers (for Dask also the scheduler and nannies). Usage, from the repository
root::

    python benchmarks/bench_parallel.py --psa-replications 1000 --write   # ~22 min, recorded
    python benchmarks/bench_parallel.py --write      # ~4 min, PSA extrapolated from 40
    python benchmarks/bench_parallel.py --quick      # 2,000 x 2 years, smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_care_model import machine_info  # noqa: E402

from sim.runner import run  # noqa: E402
from sim.scenario import resolve_scenario_dict, scenario_from_dict  # noqa: E402

README = REPO / "benchmarks" / "README.md"
START, END = "<!-- parallel:start -->", "<!-- parallel:end -->"

PSA_DISTRIBUTIONS = {
    ("clinical", "admissions", "rate_per_year"): {"dist": "gamma", "mean": 0.15, "sd": 0.015},
    ("prices", "admission_mean_usd"): {"dist": "normal", "mean": 13000, "sd": 1000,
                                       "low": 9000},
    ("lever_effects", "prevention_acsc_rr"): {"dist": "beta", "mean": 0.6, "sd": 0.08},
    ("population", "age_bands"): {"dist": "dirichlet", "concentration": 500, "mean": {
        "age_65_74": 0.512, "age_75_84": 0.361, "age_85_plus": 0.127}},
}


def scenario(patients: int, years: int, replications: int, psa: bool = False):
    data = resolve_scenario_dict(REPO / "scenarios" / "ffs_baseline.yaml")
    data["population"]["size"] = patients
    data["horizon_years"] = years
    data["replications"] = replications
    data["seed"] = 2024
    if psa:
        data["name"] = "ffs_baseline_psa"
        for keys, spec in PSA_DISTRIBUTIONS.items():
            node = data
            for k in keys[:-1]:
                node = node.setdefault(k, {})
            node[keys[-1]] = spec
    return scenario_from_dict(data, "ffs_baseline.yaml", base_dir=REPO / "scenarios")


def timed(label: str, **kwargs):
    t0 = time.perf_counter()
    result = run(progress=False, **kwargs)
    wall = time.perf_counter() - t0
    print(f"  {label:<28} {wall:8.1f} s", flush=True)
    return result, wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--psa-replications", type=int, default=40)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--quick", action="store_true", help="2,000 x 2 years, 6 replications")
    ap.add_argument("--json", type=Path, help="write all numbers to this file")
    ap.add_argument("--write", action="store_true", help="update benchmarks/README.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.patients, args.years, args.replications, args.psa_replications = 2000, 2, 6, 6

    sc = scenario(args.patients, args.years, args.replications)
    load0 = os.getloadavg()[0]
    print(f"{args.replications} replications of {args.patients:,} patients x {args.years} "
          f"years (+{sc.warmup_years} warm-up), {args.workers} workers", flush=True)
    serial, t_serial = timed("serial", scenario=sc, workers=1)
    procs, t_procs = timed(f"{args.workers} local processes", scenario=sc, workers=args.workers)
    pd.testing.assert_frame_equal(serial.results, procs.results)
    numbers: dict[str, float | int | str | None] = {
        "patients": args.patients, "years": args.years, "warmup_years": sc.warmup_years,
        "replications": args.replications, "workers": args.workers,
        "serial_s": round(t_serial, 2), "processes_s": round(t_procs, 2),
        "parallel_efficiency": round(t_serial / (args.workers * t_procs), 3),
        "seconds_per_replication_serial": round(t_serial / args.replications, 3),
    }
    if not args.skip_dask:
        dask, t_dask = timed(f"Dask local cluster ({args.workers})", scenario=sc,
                             dask_local=args.workers)
        pd.testing.assert_frame_equal(serial.results, dask.results)
        numbers["dask_s"] = round(t_dask, 2)
        numbers["dask_overhead"] = round(t_dask / t_procs - 1, 3)

    psa = scenario(args.patients, args.years, args.psa_replications, psa=True)
    with tempfile.TemporaryDirectory() as tmp:
        psa_result, t_psa = timed(f"PSA {args.psa_replications} reps (parts)", scenario=psa,
                                  workers=args.workers, out=Path(tmp) / "psa")
    assert psa_result.draws["replication"].nunique() == args.psa_replications
    numbers["psa_replications"] = args.psa_replications
    numbers["psa_s"] = round(t_psa, 2)
    numbers["psa_1000_minutes"] = round(t_psa / args.psa_replications * 1000 / 60, 1)
    numbers["psa_1000_extrapolated"] = args.psa_replications != 1000
    numbers["load_average_start"] = round(load0, 2)
    numbers["load_average_end"] = round(os.getloadavg()[0], 2)
    numbers["cpus"] = len(os.sched_getaffinity(0))
    numbers["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    numbers["commit"] = machine_info()["commit"]
    numbers["python"] = platform.python_version()
    print(json.dumps(numbers, indent=2))
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    if args.write:
        write_readme(numbers, " ".join(["python", "benchmarks/bench_parallel.py",
                                         *(argv if argv is not None else sys.argv[1:])]))
    return 0


def write_readme(n: dict, command: str) -> None:
    dask = (f"| Dask local cluster, {n['workers']} workers | {n['dask_s']:.1f} s | overhead vs "
            f"local processes **{n['dask_overhead']:+.1%}** (target <= +10%) |\n"
            if "dask_s" in n else "")
    how = "extrapolated linearly from" if n["psa_1000_extrapolated"] else "measured:"
    body = (
        f"{START}\n"
        f"Measured {n['date']} with `{command.replace(' --write', '')}` at commit "
        f"`{n['commit']}` on {n['cpus']} CPUs, Python {n['python']}; load average "
        f"{n['load_average_start']} at the start and "
        f"{n['load_average_end']} at the end (other work on the machine slows the parallel "
        "runs).\n\n"
        f"{n['replications']} replications of {n['patients']:,} patients x {n['years']} years "
        f"(+{n['warmup_years']} warm-up years):\n\n"
        "| configuration | wall time | result |\n| --- | --- | --- |\n"
        f"| serial (1 process) | {n['serial_s']:.1f} s | "
        f"{n['seconds_per_replication_serial']:.2f} s per replication |\n"
        f"| local processes, {n['workers']} workers | {n['processes_s']:.1f} s | parallel "
        f"efficiency **{n['parallel_efficiency']:.0%}** (target >= 85%) |\n"
        f"{dask}"
        f"| PSA, {n['psa_replications']} replications, {n['workers']} processes, parts "
        f"written | {n['psa_s']:.1f} s | 1,000 replications: **{n['psa_1000_minutes']:.1f} "
        f"min** ({how} {n['psa_replications']}; target < 20 min) |\n"
        f"{END}"
    )
    text = README.read_text(encoding="utf-8")
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: body, text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
