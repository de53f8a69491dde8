"""First-year behaviour effect of a PUF-fitted ACO under its own MSSP track (issue 15).

For a few ACOs, builds the scenario from the PUF row and runs one FFS + MSSP plan year with
``behavior: incentives`` and with ``behavior: fixed`` (same seeds: common random numbers;
parameters at their means), and with FFS only under incentives (which must equal fixed:
under FFS at the ACO's own prices the fitted practice is the optimum). Prints per-capita
spending and the effect (incentives / fixed - 1). Before ``reference_prices`` (issue 15) the
incentives run drifted +25-40% at the fitted prices.

    PYTHONPATH=. python benchmarks/puf_behaviour.py [--size 3000] [--reps 3]
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np

CMS = Path("/work/shared/data/cms")
CASES = [("mssp_aco_puf_py2023.csv", "A1247"), ("mssp_aco_puf_py2024.csv", "A1001"),
         ("mssp_aco_puf_py2024.csv", "A1652")]


def spend(data: dict, reps: int, levers: list | None = None) -> np.ndarray:
    """Per-capita spending of plan year 0, one value per replication (the primary-care
    group's discretionary intensity of each replication appended to ``levers``)."""
    from sim.replication import simulate_replication
    from sim.rng import replication_seeds
    from sim.scenario import scenario_from_dict

    sc = scenario_from_dict(data, source="<puf behaviour>")
    out = []
    for r, ss in enumerate(replication_seeds(sc.seed, reps)):
        res = simulate_replication(sc, r, ss).results
        pop = res[(res.entity == "population") & (res.metric == "spend_per_capita_usd")]
        out.append(float(pop[pop.year == 0]["value"].iloc[0]))
        lv = res[(res.metric == "lever_discretionary_intensity") & (res.year == 0)]
        if levers is not None and len(lv):
            levers.append(float(lv["value"].iloc[0]))
    return np.asarray(out)


def main() -> None:
    from sim.contracts.mssp.rules import minimum_savings_rate
    from sim.puf import scenario_from_puf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--calibration-size", type=int, default=3000)
    args = ap.parse_args()
    print(f"{args.size:,} patients, {args.reps} replications, parameters at their means")
    print("| file | ACO | track | fixed | incentives | effect (SE) | discretionary intensity | "
          "FFS: incentives - fixed | CPU s |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, aco in CASES:
        t0 = time.process_time()
        built = scenario_from_puf(CMS / name, aco, calibration_size=args.calibration_size)
        d = copy.deepcopy(built.data)
        d.update(horizon_years=1, parameter_uncertainty=False)
        d["population"]["size"] = args.size
        mssp = d["plan"][0]["contracts"][1]
        if mssp["track"] in ("BASIC_A", "BASIC_B") and "msr" not in mssp:
            mssp["msr"] = minimum_savings_rate(built.data["population"]["size"])  # real size
        fixed = spend({**d, "behavior": "fixed"}, args.reps)
        levers: list[float] = []
        inc = spend({**d, "behavior": "incentives"}, args.reps, levers)
        ffs = {**{k: v for k, v in d.items() if k != "uncertainty"},
               "plan": [{"years": "all", "contracts": [d["plan"][0]["contracts"][0]]}]}
        gap = spend({**ffs, "behavior": "incentives"}, 1) - spend({**ffs, "behavior": "fixed"}, 1)
        ratio = inc / fixed - 1  # paired by replication (common random numbers)
        se = ratio.std(ddof=1) / np.sqrt(len(ratio)) if len(ratio) > 1 else float("nan")
        print(f"| {name} | {aco} | {mssp['track']} | {fixed.mean():,.0f} | {inc.mean():,.0f} | "
              f"{100 * ratio.mean():+.1f}% ({100 * se:.1f}) | {np.mean(levers):.3f} | "
              f"{gap[0]:+.2f} | {time.process_time() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
