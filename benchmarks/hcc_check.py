"""Checks of the prospective CMS-HCC risk score (sim.coding.hcc; docs/coding.md).

    python benchmarks/hcc_check.py [--size 10000] [--years 3] [--seed 1] [--growth]

1. Under FFS coding (scenarios/ffs_baseline.yaml, fixed levers): the person-year-weighted
   individual R^2 of the score of plan year y (from the diagnoses documented in y - 1)
   against the annualised allowed spending of y, target 0.08-0.20 (CMS-HCC: ~0.11-0.12);
   the mean score (target ~1.0 in plan year 0, normalisation year); the recapture rate;
   the coded prevalence of each modelled HCC (V24) against published FFS rates.
2. The score at coding intensity 0 vs 1 for the same patients (the size of the lever).
3. ``--growth``: coding intensity growth under risk contracts: the mean score by plan year
   under capitation_global.yaml and mssp_one_sided.yaml with incentive behaviour vs FFS
   (target ~1-2 points a year, Kronick & Welch 2014; Geruso & Layton 2020).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.care.engine import CareSimulation  # noqa: E402
from sim.coding import hcc  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.scenario.schema import Levers  # noqa: E402

#: Approximate one-year coded prevalence in FFS Medicare, aged. CCW's claims-based period
#: prevalence (FFS 2019, 1-2 year look-back; CMS Chronic Conditions Warehouse, Table B.2a) is
#: the upper bound: diabetes 27.5%, heart failure 14.6%, COPD ~11%, CKD 26% (all stages);
#: a single year's documentation catches ~75-85% of it (Health Affairs 2024,
#: doi:10.1377/hlthaff.2024.00169, persistence of 16 chronic conditions in traditional
#: Medicare). ACO-assigned beneficiaries 2018: specified heart arrhythmias (HCC96) 18.7%
#: (Health Serv Res 2022, incidence/persistence of coding). Ranges are judgement.
EVIDENCE = ("CCW FFS 2019 (1-2 year look-back): diabetes 27.5%, heart failure 14.6%, COPD ~11%; "
            "one year's coding catches ~75-85% (Health Affairs 2024, "
            "doi:10.1377/hlthaff.2024.00169)")
TARGETS = {19: "diabetes (HCC 18+19): 0.20-0.25", 85: "CHF: 0.09-0.12", 111: "COPD: 0.08-0.11",
           96: "arrhythmia: 0.10-0.15", 108: "vascular: 0.08-0.12", 138: "CKD 3: 0.05-0.10",
           52: "dementia: 0.05-0.08", 22: "morbid obesity: 0.03-0.06"}


def weighted_r2(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Squared weighted correlation."""
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - xm) * (y - ym), weights=w)
    return float(cov**2 / (np.average((x - xm) ** 2, weights=w)
                           * np.average((y - ym) ** 2, weights=w)))


def run(sc, seed: int, levers: dict[str, Levers] | None = None):
    """Step a care run; keep each closed year's codes."""
    care = CareSimulation(sc, np.random.SeedSequence(seed), levers=levers)
    codes = {}
    for _ in range(care.sim_years):
        care.start_year(None)
        care.run_to_year_end()
        plan = care.year - care.warmup
        care.close_year()
        codes[plan] = care.hcc.codes.copy()  # documented in plan year `plan`
    return care, codes


def check_ffs(size: int, years: int, seed: int) -> None:
    sc = load_scenario(ROOT / "scenarios" / "ffs_baseline.yaml")
    sc = sc.model_copy(update={"population": sc.population.model_copy(update={"size": size}),
                               "horizon_years": years, "behavior": "fixed"})
    t = time.perf_counter()
    care, codes = run(sc, seed)
    led = care.ledger
    print(f"## FFS coding ({size:,} patients, {years} plan years, seed {seed}; "
          f"{time.perf_counter() - t:.0f} s)\n")
    print("| plan year | mean score | R^2 vs same-year spending | recapture | coded HCCs "
          "| unsupported HCCs |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for y in range(years):
        w = led.pyear("person_years", y)
        m = w > 0
        c = led.claims_in(y)
        spend = np.bincount(c["patient"], weights=c["amount"], minlength=len(w))[m] / w[m]
        score = led.pyear("risk_score", y)[m]
        rec = (np.sum(led.pyear("hcc_recaptured_families", y)[m] * w[m])
               / np.sum(led.pyear("hcc_true_families", y)[m] * w[m]))
        coded = np.average(led.pyear("hcc_coded_n", y)[m], weights=w[m])
        sup = np.average(led.pyear("hcc_supported_n", y)[m], weights=w[m])
        print(f"| {y} | {np.average(score, weights=w[m]):.3f} | "
              f"{weighted_r2(score, spend, w[m]):.3f} | {rec:.3f} | {coded:.2f} | "
              f"{1 - sup / coded:.3f} |")
    # Coded prevalence of plan year 0's documentation among that year's person-years
    # (the diagnoses that score plan year 1).
    w = led.pyear("person_years", 0)
    m = w > 0
    truth = hcc.true_states(care.pop.conditions, care.z, care.pop.hcc_draws)
    print(f"\nTrue prevalence at the end (heart failure, COPD): "
          f"{np.average(truth[m, hcc.STATE_INDEX['heart_failure']], weights=w[m]):.3f}, "
          f"{np.average(truth[m, hcc.STATE_INDEX['copd']], weights=w[m]):.3f}")
    print(f"\nTargets: {EVIDENCE}.")
    print("\n| HCC (V24) | coded prevalence | target |")
    print("| --- | ---: | --- |")
    table = hcc.load_tables()["V24"]
    mat = hcc.hcc_matrix(codes[0], table)
    for i, h in enumerate(table.hccs):
        prev = np.average(mat[m, i], weights=w[m])
        if h == 19:
            prev = np.average(mat[m, i] | mat[m, table.hccs.index(18)], weights=w[m])
        print(f"| HCC{h} | {prev:.3f} | {TARGETS.get(h, '')} |")
    # The lever: the same patients at coding intensity 1 from the start.
    full = {p.name: p.levers.model_copy(update={"coding_intensity": 1.0})
            for p in sc.providers if p.levers is not None}
    care1, _ = run(sc, seed, levers=full)
    print("\n| plan year | mean score, intensity 0 | intensity 1 | unsupported share at 1 |")
    print("| ---: | ---: | ---: | ---: |")
    for y in range(years):
        w = led.pyear("person_years", y)
        w1 = care1.ledger.pyear("person_years", y)
        s0 = np.average(led.pyear("risk_score", y), weights=w)
        s1 = np.average(care1.ledger.pyear("risk_score", y), weights=w1)
        c1 = np.average(care1.ledger.pyear("hcc_coded_n", y), weights=w1)
        u1 = 1 - np.average(care1.ledger.pyear("hcc_supported_n", y), weights=w1) / c1
        print(f"| {y} | {s0:.3f} | {s1:.3f} | {u1:.3f} |")


def check_growth(size: int, years: int, seed: int) -> None:
    from sim.replication import simulate_replication
    from sim.rng import replication_seeds

    print(f"\n## Coding under risk contracts ({size:,} patients, {years} plan years)\n")
    print("| scenario | mean score by plan year | coding intensity by plan year |")
    print("| --- | --- | --- |")
    for name in ("ffs_baseline", "mssp_one_sided", "capitation_global"):
        sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        sc = sc.model_copy(update={"population": sc.population.model_copy(
            update={"size": size}), "horizon_years": years})
        res = simulate_replication(sc, 0, replication_seeds(sc.seed, 1)[0]).results
        pop = res[(res.entity == "population") & (res.metric == "risk_score_mean")]
        lev = res[(res.entity == "primary_care_group") & (res.metric == "lever_coding_intensity")]
        s = " ".join(f"{v:.3f}" for v in pop.sort_values("year")["value"])
        c = " ".join(f"{v:.2f}" for v in lev.sort_values("year")["value"])
        print(f"| {name} | {s} | {c} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--growth", action="store_true")
    args = ap.parse_args()
    check_ffs(args.size, args.years, args.seed)
    if args.growth:
        check_growth(args.size, max(args.years, 4), args.seed)


if __name__ == "__main__":
    main()
