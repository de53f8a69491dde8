"""Speed of the fast engine vs the SimPy engine vs a plain NumPy limit, in one run (issue 16).

For the shipped FFS scenario at ``--size`` patients (default 10,000; its warm-up and
horizon: 10 simulated years), each engine runs the care model through
``CareSimulation`` (fixed levers, no behaviour), timed two ways:

Times are CPU seconds of this process (``time.process_time``), so that a shared machine's
load does not count (cache contention still may).

* executor: the time in ``run_to_year_end`` (state events, stays, beds, clinics) — what
  the engines differ in;
* care model: the whole ``simulate_population`` (rates of each year, routine claims,
  ledger), which both engines share except for the executor.

The plain NumPy limit is the cost of only drawing the random numbers the fast engine
draws (one exponential per interval, a uniform per state event, Poisson requests per
interval) with nothing else: no state, no bookkeeping. Speeds are simulated
patient-years per second of executor time. Runs alternate engines ``--repeat`` times and
report the median (the machine may be shared).

Usage, from the repository root::

    python benchmarks/fast_engine.py                 # 10,000 patients, 3 repeats
    python benchmarks/fast_engine.py --size 2000 --repeat 1
    python benchmarks/fast_engine.py --write         # also update benchmarks/README.md

``--write`` replaces the text between ``<!-- fast-engine:start -->`` and
``<!-- fast-engine:end -->`` in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from readme_section import replace_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- fast-engine:start -->", "<!-- fast-engine:end -->"


def scenario(engine: str, size: int, beds: float | None):  # noqa: ANN201
    from sim.run_setup import run_overrides
    from sim.scenario import load_scenario

    texts = [f"population.size={size}", f"engine={engine}"]
    if beds is not None:
        texts.append(f"capacity.beds_per_1000={beds}")
    return load_scenario(ROOT / "scenarios" / "ffs_baseline.yaml",
                         overrides=run_overrides(texts, False))


def time_engine(engine: str, size: int, beds: float | None, seed: int) -> dict[str, float]:
    """One run of the care model: executor and whole-model seconds, patient-years."""
    from sim.care.engine import CareSimulation

    sc = scenario(engine, size, beds)
    t_all = time.process_time()
    care = CareSimulation(sc, np.random.SeedSequence(seed))
    executor = 0.0
    intervals = events = 0
    for _ in range(care.sim_years):
        care.start_year()
        t = time.process_time()
        care.run_to_year_end()
        executor += time.process_time() - t
        intervals += len(care.des.log.iv_pid)
        events += len(care.des.log.adm["pid"])
        care.close_year()
    total = time.process_time() - t_all
    st = care.stats
    return {"executor_s": executor, "care_model_s": total,
            "patient_years": st["simulated_patient_years"], "intervals": intervals,
            "state_events": st.get("simpy_events", 0), "claims": st["claims"],
            "stays_waited_for_bed": st.get("stays_waited_for_bed", float("nan"))}


def numpy_limit(intervals: int, events: int, requests_per_interval: float, seed: int
                ) -> float:
    """Seconds to draw the fast engine's random numbers and nothing else."""
    rng = np.random.default_rng(seed)
    t = time.process_time()
    rng.standard_exponential(intervals)
    rng.random(events)
    rng.random(events)  # event choice and lengths of stay
    rng.poisson(np.full(intervals, requests_per_interval))
    return time.process_time() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--beds", type=float, default=None,
                    help="capacity.beds_per_1000 (default: the scenario's, 5)")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    runs: dict[str, list[dict[str, float]]] = {"des": [], "fast": []}
    for r in range(args.repeat):
        for engine in ("des", "fast"):
            runs[engine].append(time_engine(engine, args.size, args.beds, 7 + r))
            print(engine, {k: round(v, 3) for k, v in runs[engine][-1].items()}, flush=True)
    med = {e: {k: statistics.median(x[k] for x in v) for k in v[0]} for e, v in runs.items()}
    f = med["fast"]
    limit = statistics.median(
        numpy_limit(int(f["intervals"]), int(f["state_events"]), 1.5, r)
        for r in range(max(args.repeat, 3)))
    py = f["patient_years"]
    rows = [("SimPy engine (des)", med["des"]["executor_s"], med["des"]["care_model_s"],
             med["des"]["patient_years"]),
            ("fast engine", f["executor_s"], f["care_model_s"], py),
            ("plain NumPy limit (draws only)", limit, float("nan"), py)]
    lines = [
        f"Measured {dt.date.today().isoformat()} on {platform.processor() or platform.machine()}"
        f" ({os.cpu_count()} CPUs, shared; load average "
        f"{os.getloadavg()[0]:.1f} at the end): `python benchmarks/fast_engine.py "
        + " ".join(sys.argv[1:]) + f"` — ffs_baseline, {args.size:,} patients x "
        f"{int(round(py / args.size))} simulated years, median of {args.repeat}.",
        "",
        "| executor | executor CPU s | patient-years per CPU-s | care model CPU s (incl. rates, claims) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, ex, cm, p in rows:
        cm_txt = "" if np.isnan(cm) else f"{cm:.2f}"
        lines.append(f"| {name} | {ex:.3f} | {p / ex:,.0f} | {cm_txt} |")
    lines += ["", f"Fast / SimPy: executor {med['des']['executor_s'] / f['executor_s']:.1f}x, "
              f"whole care model {med['des']['care_model_s'] / f['care_model_s']:.1f}x; the "
              f"fast executor is {f['executor_s'] / limit:.0f}x the NumPy limit. Stays that "
              f"waited for a bed (fast, whole run): {f['stays_waited_for_bed']:.0f}."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        replace_section(README, START, END, text, "Fast engine speed (issue 16 items 1 and 4)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
