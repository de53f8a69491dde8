"""Peak RSS of one replication by stage (issue 18, item 7: where the memory goes).

Samples ``VmRSS`` every 20 ms in a thread and keeps the peak per stage: each simulation
year's DES and year close, the ledger's ``finalise``, settlement and metrics. Usage, from
the repository root::

    PYTHONPATH=$PWD python benchmarks/profile_memory.py 100000 5          # care model only
    PYTHONPATH=$PWD python benchmarks/profile_memory.py 100000 5 --full   # whole replication
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
from pathlib import Path

import numpy as np


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("patients", type=int)
    ap.add_argument("years", type=int)
    ap.add_argument("--full", action="store_true", help="settlement and metrics too")
    args = ap.parse_args()
    stage = ["import"]
    peaks: dict[str, float] = {}

    def sample() -> None:
        while True:
            peaks[stage[0]] = max(peaks.get(stage[0], 0.0), _rss_mb())
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()
    import sim.care.engine as engine
    import sim.replication as rep
    from sim.scenario import scenario_from_dict

    sc = scenario_from_dict({"population": {"size": args.patients},
                             "horizon_years": args.years})
    close, fin = engine.CareSimulation.close_year, engine.Ledger.finalise

    def close_year(self, year):  # noqa: ANN001, ANN202
        stage[0] = f"sim year {year} close"
        close(self, year)
        stage[0] = f"sim year {year + 1} DES"

    def finalise(self):  # noqa: ANN001, ANN202
        before = stage[0]
        stage[0] = "ledger finalise"
        fin(self)
        stage[0] = before

    engine.CareSimulation.close_year, engine.Ledger.finalise = close_year, finalise
    stage[0] = "sim year 0 DES"
    seed = np.random.SeedSequence(20_240_101)
    if args.full:
        simulate, metrics = rep.simulate_population, rep.population_metrics

        def sim_then_settle(*a, **k):  # noqa: ANN002, ANN003, ANN202
            out = simulate(*a, **k)
            stage[0] = "settlement"
            return out

        def metrics_stage(*a, **k):  # noqa: ANN002, ANN003, ANN202
            stage[0] = "metrics"
            return metrics(*a, **k)

        rep.simulate_population, rep.population_metrics = sim_then_settle, metrics_stage
        rep.simulate_replication(sc, 0, seed)
    else:
        engine.simulate_population(sc, seed)
    stage[0] = "end"
    time.sleep(0.1)
    for name, mb in peaks.items():
        print(f"{name:22s} {mb:8.0f} MB")
    print(f"peak RSS (ru_maxrss)   {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MB")


if __name__ == "__main__":
    main()
