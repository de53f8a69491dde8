"""The shipped FFS baseline reproduces published Medicare figures within stated tolerances.

Runs scenarios/ffs_baseline.yaml at its full size (10,000 patients, 5 plan years) for
two replications and compares the mean over years and replications with each target.
Tolerances are the published ranges of the issue where one was given, otherwise the
point estimate +- a stated margin (a few percentage points for shares: more than the
Monte Carlo error of 100,000 person-years, less than the gaps between real settings).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.replication import simulate_replication
from sim.rng import replication_seeds
from sim.scenario import load_scenario

# A long integration test (the whole model at size); skipped by `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "ffs_baseline.yaml"


@pytest.fixture(scope="module")
def population_rows():
    sc = load_scenario(BASELINE)
    assert sc.population.size == 10_000 and sc.horizon_years == 5
    seeds = replication_seeds(sc.seed, 2)
    frames = [simulate_replication(sc, r, s).results for r, s in enumerate(seeds)]
    df = pd.concat(frames)
    return df[df.entity == "population"]


@pytest.fixture(scope="module")
def means(population_rows):
    return population_rows.groupby("metric")["value"].mean().to_dict()


def share(m, cat):
    return m[f"spend_{cat}_usd"] / m["spend_total_usd"]


# (label, function of the metric means, low, high, source)
TARGETS = [
    ("spending per capita", lambda m: m["spend_per_capita_usd"], 12_000, 13_500,
     "CMS MSSP PUF: $12,251 (2023), $13,167 (2024)"),
    ("inpatient share", lambda m: share(m, "inpatient"), 0.23, 0.29, "~26%"),
    ("outpatient share", lambda m: share(m, "outpatient"), 0.22, 0.28, "~25%"),
    ("professional share", lambda m: share(m, "professional"), 0.29, 0.35, "~32%"),
    ("post-acute + other share", lambda m: share(m, "post_acute") + share(m, "other"),
     0.12, 0.22, "the rest (~17%)"),
    ("discharges /1,000", lambda m: m["admissions_per_1000"], 250, 310, "PUF2024 ADM 258"),
    ("ED visits /1,000", lambda m: m["ed_visits_per_1000"], 610, 710, "PUF2024 627"),
    ("SNF admissions /1,000", lambda m: m["snf_admissions_per_1000"], 44, 60, "PUF2024 44"),
    ("E&M visits /1,000", lambda m: m["pcp_visits_per_1000"] + m["specialist_visits_per_1000"],
     10_000, 12_600, "PUF2024 P_EM_Total 12,600"),
    ("top 1% share", lambda m: m["spend_top1pct_share"], 0.12, 0.18, "Wallis 2021: 15%"),
    ("top 5% share", lambda m: m["spend_top5pct_share"], 0.37, 0.45, "Wallis 2021: 41%"),
    ("top 20% share", lambda m: m["spend_top20pct_share"], 0.74, 0.84, "Wallis 2021: 79%"),
    ("30-day readmission rate", lambda m: m["readmission_rate_30d"], 0.15, 0.20, "15-20%"),
    ("deaths /1,000", lambda m: m["deaths_per_1000"], 35, 55, "Medicare aged ~45"),
    ("diabetic HbA1c control", lambda m: m["diabetes_controlled_share"], 0.62, 0.78,
     "HEDIS ~65-72%"),
    ("mean risk score", lambda m: m["risk_score_mean"], 0.97, 1.04, "normalised to 1.0"),
]


@pytest.mark.parametrize("label,fn,lo,hi,source", TARGETS, ids=[t[0] for t in TARGETS])
def test_baseline_matches_published_figure(means, label, fn, lo, hi, source):
    value = fn(means)
    assert lo <= value <= hi, f"{label} = {value:.4g}, expected {lo}-{hi} ({source})"


def test_spending_is_stable_across_plan_years(population_rows):
    # After the warm-up the panel is near its steady state: in a scenario without price
    # trend, no plan year's per-capita spending is more than 8% from the 5-year mean.
    pc = population_rows[population_rows.metric == "spend_per_capita_usd"]
    by_year = pc.groupby("year")["value"].mean()
    assert np.all(np.abs(by_year / by_year.mean() - 1) < 0.08), by_year.round(0).tolist()
