"""Peak RSS of one replication by stage (issue 18, item 7: where the memory goes).

Samples ``VmRSS`` every 20 ms in a thread and keeps the peak per stage of the year loop:
each simulation year's DES and year close, behaviour, settlement and metrics (with
``--full``; the care model alone otherwise). Usage, from the repository root::

    PYTHONPATH=$PWD python benchmarks/profile_memory.py 100000 5          # care model only
    PYTHONPATH=$PWD python benchmarks/profile_memory.py 100000 5 --full   # whole replication
"""

from __future__ import annotations

import argparse
import functools
import resource
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _staged(stage: list[str], name: Callable[..., str], fn: Callable[..., Any]
            ) -> Callable[..., Any]:
    """``fn`` run under the stage label ``name(*args)`` (the label before is restored)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        before, stage[0] = stage[0], name(*args)
        try:
            return fn(*args, **kw)
        finally:
            stage[0] = before

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("patients", type=int)
    ap.add_argument("years", type=int)
    ap.add_argument("--full", action="store_true", help="behaviour, settlement, metrics too")
    args = ap.parse_args()
    stage = ["import"]
    peaks: dict[str, float] = {}

    def sample() -> None:
        while True:
            peaks[stage[0]] = max(peaks.get(stage[0], 0.0), _rss_mb())
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()
    import sim.behaviour.decide as decide
    import sim.care.engine as engine
    import sim.replication as rep
    import sim.settlement.engine as settlement
    from sim.scenario import scenario_from_dict

    sc = scenario_from_dict({"population": {"size": args.patients},
                             "horizon_years": args.years})
    care = engine.CareSimulation
    care.start_year = _staged(stage, lambda s, *a: f"sim year {s.year + 1} set-up",
                              care.start_year)
    care.run_to_year_end = _staged(stage, lambda s: f"sim year {s.year} DES",
                                   care.run_to_year_end)
    care.close_year = _staged(stage, lambda s: f"sim year {s.year} close", care.close_year)
    decide.Behaviour.choose = _staged(stage, lambda *a: "behaviour", decide.Behaviour.choose)
    settlement.SettlementRun.settle_year = _staged(stage, lambda *a: "settlement",
                                                   settlement.SettlementRun.settle_year)
    rep.population_metrics = _staged(stage, lambda *a: "metrics", rep.population_metrics)
    stage[0] = "population"
    seed = np.random.SeedSequence(20_240_101)
    if args.full:
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
