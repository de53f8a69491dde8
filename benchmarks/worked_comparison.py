"""Re-create the README's worked comparison: the same provider under four payment models.

    python benchmarks/worked_comparison.py [--replications 4] [--size 10000]

Runs ffs_baseline, mssp_one_sided, mssp_two_sided and capitation_global with the same
seeds (common random numbers) and prints a Markdown table of means over replications
and plan years (levers: the last plan year).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.replication import simulate_replication  # noqa: E402
from sim.rng import replication_seeds  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCENARIOS = ("ffs_baseline", "mssp_one_sided", "mssp_two_sided", "capitation_global")
ROWS = [
    ("population", "spend_per_capita_usd", "allowed spending per capita (USD)", "{:,.0f}"),
    ("population", "payer_spend_per_capita_usd", "payer spending per capita (USD)", "{:,.0f}"),
    ("population", "specialist_visits_per_1000", "specialist visits /1,000", "{:,.0f}"),
    ("population", "tests_per_1000", "tests and imaging /1,000", "{:,.0f}"),
    ("population", "outpatient_procedures_per_1000", "ambulatory procedures /1,000", "{:,.0f}"),
    ("population", "ed_visits_per_1000", "ED visits /1,000", "{:,.0f}"),
    ("population", "acsc_admissions_per_1000", "preventable (ACSC) admissions /1,000", "{:,.1f}"),
    ("population", "admissions_per_1000", "all admissions /1,000", "{:,.0f}"),
    ("population", "snf_admissions_per_1000", "SNF stays /1,000", "{:,.1f}"),
    ("population", "readmission_rate_30d", "30-day readmission rate", "{:.3f}"),
    ("population", "diabetes_controlled_share", "diabetics controlled", "{:.3f}"),
    ("population", "deaths_per_1000", "deaths /1,000", "{:.1f}"),
    ("population", "risk_score_mean", "mean coded risk score", "{:.3f}"),
    ("primary_care_group", "quality_score", "group's quality score", "{:.1f}"),
    ("primary_care_group", "settlement_usd", "group's settlement per year (USD)", "{:,.0f}"),
    ("primary_care_group", "margin_usd", "group's margin per year (USD)", "{:,.0f}"),
]
LEVERS = ("discretionary_intensity", "prevention_effort", "transitional_care_effort",
          "coding_intensity")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--size", type=int, default=10_000)
    args = ap.parse_args()
    tables = {}
    for name in SCENARIOS:
        sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        sc = sc.model_copy(update={"population": sc.population.model_copy(
            update={"size": args.size})})
        frames = [simulate_replication(sc, r, s).results
                  for r, s in enumerate(replication_seeds(sc.seed, args.replications))]
        tables[name] = pd.concat(frames)
    last = max(tables[SCENARIOS[0]]["year"])
    print("| | " + " | ".join(SCENARIOS) + " |")
    print("| --- |" + " ---: |" * len(SCENARIOS))
    for entity, metric, label, fmt in ROWS:
        vals = [tables[n][(tables[n].entity == entity) & (tables[n].metric == metric)]["value"].mean()
                for n in SCENARIOS]
        print(f"| {label} | " + " | ".join(fmt.format(v) for v in vals) + " |")
    for lv in LEVERS:
        vals = [tables[n][(tables[n].entity == "primary_care_group") & (tables[n].metric == f"lever_{lv}")
                          & (tables[n].year == last)]["value"].mean() for n in SCENARIOS]
        print(f"| lever: {lv.replace('_', ' ')} (year {last}) | " + " | ".join(f"{v:.2f}" for v in vals)
              + " |")


if __name__ == "__main__":
    main()
