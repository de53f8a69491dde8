"""Every effect vbcsim produces next to its published evidence: writes docs/validation.md.

Runs the shipped scenarios (resized) with common random numbers and, by default, their
parameter uncertainty (each replication draws the ``uncertainty:`` parameters, the same
draw in every scenario), computes each effect per replication, and renders a table of
target/check, evidence range and source, simulated mean with the 2.5-97.5 percentile
range over replications, and whether the mean falls inside the evidence range.

    PYTHONPATH=$PWD python benchmarks/validation.py --group mssp      # ~3 min on 2 cores
    PYTHONPATH=$PWD python benchmarks/validation.py --group aco
    PYTHONPATH=$PWD python benchmarks/validation.py --group other
    PYTHONPATH=$PWD python benchmarks/validation.py --group global_budget  # hospital global budget
    PYTHONPATH=$PWD python benchmarks/validation.py --render          # docs/validation.md

Each run's results are cached in ``benchmarks/.validation_cache`` (keyed by scenario,
size, years, replications, seed and the flag), so groups can be run one at a time and the
page rendered from what is cached. ``--no-parameter-uncertainty`` runs every replication at
the parameters' means (patient-level chance alone).
"""

from __future__ import annotations

import argparse
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.replication import simulate_replication
from sim.rng import replication_seeds
from sim.scenario import load_scenario
from sim.scenario.schema import Prices
from sim.scenario.uncertain import drawn_scenario

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
CACHE = ROOT / "benchmarks" / ".validation_cache"
DOC = ROOT / "docs" / "validation.md"
PC = "primary_care_group"


# --------------------------------------------------------------------------- runs


def _fees_up() -> dict:
    p = Prices()
    return {f"prices.{k}": getattr(p, k) * 1.02 for k in Prices.model_fields
            if k.endswith("_usd")}


def _mature() -> dict:
    return {"providers.primary_care_group.behavior.prior_experience_years": 10.0}


#: run name -> (scenario file, overrides)
RUNS: dict[str, tuple[str, Callable[[], dict] | None]] = {
    "ffs": ("ffs_baseline", None),
    "ffs_fees_up": ("ffs_baseline", _fees_up),
    "mssp_one_sided": ("mssp_one_sided", None),
    "mssp_two_sided": ("mssp_two_sided", None),
    "aco_enhanced": ("aco_enhanced", None),
    "aco_basic_glide": ("aco_basic_glide", None),
    "reach_global": ("reach_global", None),
    "capitation_global": ("capitation_global", None),
    "capitation_global_mature": ("capitation_global", _mature),
    "bundled": ("bundled_joint_replacement", None),
    # The comparator: the same hospital at reference practice; its documentation (CDI) is
    # its reference effort, which is also what it chooses under fee-for-service (issue 13).
    "bundled_fixed": ("bundled_joint_replacement", lambda: {"behavior": "fixed"}),
    # P(owing) depends on the ACO's size: at the shipped scenarios' 10,000 patients.
    "mssp_two_sided_10k": ("mssp_two_sided", lambda: {"population.size": 10_000}),
    "aco_enhanced_10k": ("aco_enhanced", lambda: {"population.size": 10_000}),
    # Not a shipped scenario: benchmarks/validation_scenarios/ (issue 14, global budgets).
    "global_budget": ("../benchmarks/validation_scenarios/hospital_global_budget", None),
}
GROUPS = {
    "mssp": ["ffs", "ffs_fees_up", "mssp_one_sided", "mssp_two_sided"],
    "aco": ["ffs", "aco_enhanced", "aco_basic_glide", "reach_global"],
    "other": ["ffs", "capitation_global", "capitation_global_mature", "bundled",
              "bundled_fixed"],
    "owing": ["mssp_two_sided_10k", "aco_enhanced_10k"],
    "global_budget": ["ffs", "global_budget"],
}


@dataclass(frozen=True)
class Settings:
    size: int
    years: int
    reps: int
    seed: int
    uncertainty: bool

    def key(self, run: str) -> str:
        return (f"{run}-n{self.size}-y{self.years}-r{self.reps}-s{self.seed}-"
                f"{'pu' if self.uncertainty else 'nopu'}")


def simulate(run: str, st: Settings) -> list[dict[str, pd.DataFrame]]:
    """Per replication: the results and settlement statements of ``run`` (cached)."""
    path = CACHE / f"{st.key(run)}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    name, change = RUNS[run]
    overrides = {"population.size": st.size, "horizon_years": st.years,
                 "parameter_uncertainty": st.uncertainty, **(change() if change else {})}
    sc = load_scenario(SCEN / f"{name}.yaml", overrides=overrides)
    out = []
    for r, seed in enumerate(replication_seeds(st.seed, st.reps)):
        drawn, _ = drawn_scenario(sc, seed)
        rep = simulate_replication(drawn, r, seed)
        st_table = rep.tables.get("settlements")
        out.append({"results": rep.results, "settlements": st_table})
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


# --------------------------------------------------------------------------- measures


def pop(rep: dict, metric: str, year: int | None = None) -> float:
    df = rep["results"]
    m = (df.entity == "population") & (df.metric == metric)
    if year is not None:
        m &= df.year == year
    return float(df[m]["value"].mean())


def change(a: dict, b: dict, metric: str, year: int | None = None) -> float:
    return pop(a, metric, year) / pop(b, metric, year) - 1.0


def owing(rep: dict, entity: str = PC) -> np.ndarray:
    """Per plan year: whether the entity owes (settlement < 0)."""
    df = rep["results"]
    s = df[(df.entity == entity) & (df.metric == "settlement_usd")].groupby("year")["value"].sum()
    return (s < 0).to_numpy(dtype=float)


def per_episode(rep: dict) -> float:
    st = rep["settlements"]
    if st is None:
        return np.nan
    v = st[(st.contract == "bundled") & (st.kind == "value")]
    spend = v[v["item"] == "actual_spending_usd"]["value"].sum()
    n = v[v["item"] == "episodes"]["value"].sum()
    return float(spend / n) if n > 0 else np.nan


_DISCRETIONARY = ("tests_per_1000", "specialist_visits_per_1000",
                  "outpatient_procedures_per_1000", "elective_admissions_per_1000")


def _fee_response(r: dict, years: int) -> float:
    return float(np.mean([change(r["ffs_fees_up"], r["ffs"], m, years - 1)
                          for m in _DISCRETIONARY]))


def _coding_per_year(r: dict, years: int) -> float:
    return (change(r["capitation_global_mature"], r["ffs"], "risk_score_mean", years - 1)
            / years)


@dataclass(frozen=True)
class Effect:
    label: str
    role: str  # "target" (calibrated to) or "check"
    low: float
    high: float
    unit: str  # "%" (shown x100) or "share"
    evidence: str
    source: str
    needs: tuple[str, ...]
    measure: Callable[[dict, int], float] | None = None
    pooled: Callable[[list[dict], int], tuple[float, float, float]] | None = None


def _owing_pooled(run: str) -> Callable[[list[dict], int], tuple[float, float, float]]:
    def f(reps: list[dict], years: int) -> tuple[float, float, float]:
        x = np.concatenate([owing(r[run]) for r in reps])
        n, k = len(x), float(x.sum())
        p = k / n if n else np.nan
        z = 1.96  # Wilson interval over replication-years
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return p, max(0.0, centre - half), min(1.0, centre + half)
    return f


EFFECTS = [
    Effect("One-sided MSSP (BASIC B), spending, first performance year", "target",
           -0.02, -0.01, "%", "-1% to -2% (2012 cohort -1.4% in its first full year; 2013 "
           "cohort ~0)", "McWilliams et al., NEJM 2016;374:2357",
           ("ffs", "mssp_one_sided"), lambda r, y: change(r["mssp_one_sided"], r["ffs"],
                                                           "spend_per_capita_usd", 0)),
    Effect("+2% fees: discretionary volume (tests, specialist visits, ambulatory and "
           "elective procedures), last year", "target", 0.015, 0.045, "%",
           "~+3% (elasticity ~1.5); test tolerance 1.5-4.5%",
           "Clemens & Gottlieb, AER 2014", ("ffs", "ffs_fees_up"), _fee_response),
    Effect("One-sided MSSP, spending, mean of 5 years", "check", -0.04, -0.01, "%",
           "early ~1-2%, mature ~2-4%", "McWilliams et al., NEJM 2016; NEJM 2018;379:1139",
           ("ffs", "mssp_one_sided"), lambda r, y: change(r["mssp_one_sided"], r["ffs"],
                                                           "spend_per_capita_usd")),
    Effect("One-sided MSSP, elective inpatient surgery, mean of 5 years", "check", -0.03,
           0.01, "%", "no study shows a reduction (judgement: within -3% to +1%)",
           "McWilliams et al., NEJM 2016 (savings from post-acute, outpatient, imaging)",
           ("ffs", "mssp_one_sided"), lambda r, y: change(r["mssp_one_sided"], r["ffs"],
                                                           "elective_admissions_per_1000")),
    Effect("Two-sided MSSP (BASIC E), spending, mean of 5 years", "check", -0.04, -0.01, "%",
           "as one-sided: mature ACOs ~2-4%", "McWilliams et al., NEJM 2018",
           ("ffs", "mssp_two_sided"), lambda r, y: change(r["mssp_two_sided"], r["ffs"],
                                                           "spend_per_capita_usd")),
    Effect("Two-sided MSSP (BASIC E): P(owing) in a year", "check", 0.04, 0.09, "share",
           "5.8-7.3% of BASIC E ACOs owed losses (PY2024, PY2023)",
           "CMS MSSP ACO PUF PY2023, PY2024 (/work/shared/data/cms); 10,000 patients",
           ("mssp_two_sided_10k",), pooled=_owing_pooled("mssp_two_sided_10k")),
    Effect("ENHANCED, spending, mean of 5 years", "check", -0.04, -0.01, "%",
           "no ACO evidence beyond mature MSSP's ~2-4%; NGACO (high sharing, two-sided) "
           "~1-2% gross (approx.)", "McWilliams et al., NEJM 2018; NORC NGACO evaluation "
           "reports 2018-2021", ("ffs", "aco_enhanced"),
           lambda r, y: change(r["aco_enhanced"], r["ffs"], "spend_per_capita_usd")),
    Effect("ENHANCED: P(owing) in a year", "check", 0.04, 0.09, "share",
           "4.9-5.6% of ENHANCED ACOs owed losses (PY2024, PY2023)",
           "CMS MSSP ACO PUF PY2023, PY2024; 10,000 patients", ("aco_enhanced_10k",),
           pooled=_owing_pooled("aco_enhanced_10k")),
    Effect("MSSP glide path (BASIC A to E), spending, year 5", "check", -0.04, -0.02, "%",
           "mature ACOs ~2-4%", "McWilliams et al., NEJM 2018",
           ("ffs", "aco_basic_glide"), lambda r, y: change(r["aco_basic_glide"], r["ffs"],
                                                            "spend_per_capita_usd", y - 1)),
    Effect("ACO REACH Global (with PCC), spending, mean of 5 years", "check", -0.03, -0.005,
           "%", "NGACO, REACH's predecessor: ~1-2% gross (approx.)",
           "NORC NGACO evaluation reports 2018-2021", ("ffs", "reach_global"),
           lambda r, y: change(r["reach_global"], r["ffs"], "spend_per_capita_usd")),
    Effect("Global capitation, mature group: spending", "check", -0.30, -0.09, "%",
           "MA plans spend 9-30% less than TM on similar enrollees",
           "Curto et al., AEJ: Policy 2019", ("ffs", "capitation_global_mature"),
           lambda r, y: change(r["capitation_global_mature"], r["ffs"],
                               "spend_per_capita_usd")),
    Effect("Global capitation, mature group: ED visits", "check", -0.40, -0.15, "%",
           "~25-30% fewer in MA HMOs (test tolerance 15-40%)", "Landon et al. 2012",
           ("ffs", "capitation_global_mature"),
           lambda r, y: change(r["capitation_global_mature"], r["ffs"], "ed_visits_per_1000")),
    Effect("Global capitation, group new to it (as shipped): spending", "check", -0.30, -0.09,
           "%", "mature-plan evidence; a new organisation is expected below it (AQC: savings "
           "1.9% in year 1, growing)", "Curto et al. 2019; Song et al., NEJM 2012",
           ("ffs", "capitation_global"),
           lambda r, y: change(r["capitation_global"], r["ffs"], "spend_per_capita_usd")),
    Effect("Coding under risk-adjusted capitation: risk score vs FFS, per year", "check",
           0.01, 0.02, "share", "MA coding intensity grows ~1-2 points a year",
           "MedPAC, March 2024 report, ch. 12", ("ffs", "capitation_global_mature"),
           _coding_per_year),
    Effect("Bundled joint replacement (hospital initiator): spending per episode", "check",
           -0.05, -0.02, "%", "-3% to -4% (CJR -3.1%; BPCI LEJR ~-4%)",
           "Barnett et al., NEJM 2019; Dummit et al., JAMA 2016", ("bundled", "bundled_fixed"),
           lambda r, y: per_episode(r["bundled"]) / per_episode(r["bundled_fixed"]) - 1),
    Effect("Bundled joint replacement: whole-panel spending (spillover)", "check",
           -0.01, 0.0, "%", "little or no spillover to other patients (judgement)",
           "Einav et al., 2022 (CJR); judgement", ("ffs", "bundled"),
           lambda r, y: change(r["bundled"], r["ffs"], "spend_per_capita_usd")),
]

NOT_MODELLED: list[tuple[str, str, str]] = []


NOTES = """
## Reading the misses

Measured 2026-12-07 after the hospital's CDI choice (issue 13; its norm keeps the
reference documentation under FFS), the corrected CY2025 E/M RVUs and FY2025 DRG weights,
the warm-started optimiser (issue 16) and the recalibration of the two targets
(pass_through 0.60, the group's fee_elasticity 1.13): 13 of 18 rows within, one fewer than
before: BASIC E's P(owing) is 12% (3 of 25 replication-years against 2 of 25 before; the
interval, 4-30%, covers the evidence); ENHANCED's spending -4.3% (-4.7% before) is still
just past the -4% edge. Earlier in the session (pass_through 0.64, fee_elasticity 1.19,
no CDI choice): ENHANCED -4.7%, REACH -6.7%, BASIC E P(owing) 8%.

* **Why the ACO effects grew.** A recalibration earlier in the session raised
  pass_through from 0.50 to 0.64 (now 0.60) to keep the first-year target (-1.3%).
  With E/M level pricing alone (before the optimiser changed) the first-year effect in
  `tests/behaviour/test_responses.py`
  had fallen from about -1.5% to -0.1%: E/M coding now pays under FFS
  (`sim/coding/fees.py`), the norms that make FFS practice optimal absorb that coding
  incentive, and an MSSP partly removes it. How much the smooth expected payoffs moved
  the first-year effect on their own was not measured. A larger pass-through then raises
  every later-year ACO effect.
* **ENHANCED** (75% sharing, two-sided) saves -4.3%, just past the -4% edge of the
  mature-MSSP range. **REACH Global** (100% sharing, with primary-care capitation) saves
  -6.5%, against ~1-2% gross for NGACO, REACH's predecessor. The response scales with the
  sharing rate once capability has built up, while the evidence shows no larger
  savings at higher rates. Candidate causes: one pass-through for every contract, and
  risk aversion that barely binds at the default. The group plans with the care given
  outside it (about 30% of non-primary care) at reference practice
  (`sim/behaviour/leakage.py`), so its levers move its contracts' expenditure by 70% of
  what the panel alone would say.
* **Elective inpatient surgery under MSSP** does not fall (+0.1%). Elective volume is the
  hospital's lever (`elective_volume`, docs/behaviour.md section 4), chosen from the
  hospital's own margins and contracts with a small price elasticity (0.1: Dafny 2005;
  Januleviciute et al. 2016), and an MSSP ACO's incentive is not the hospital's money.
* **P(owing)**: ENHANCED ACOs owe in 8.0% of replication-years (2.2% to 25.0%, 10,000
  patients), BASIC E in 12.0% (4.2% to 30.0%), against CMS's 4.9-5.6% and 5.8-7.3%.
  BASIC E was 8.0% earlier in the session and 12.0% before it: one replication-year moves
  it 4 points. Both rest on 25 replication-years (5 replications x 5
  years), so the intervals are wide. They depend on the benchmark-trend gap (a judgement
  distribution in the MSSP scenarios) and on size (10,000 patients here; CMS's ACOs
  range from 5,000 to 100,000+).
* **Global capitation**: the mature group -11.0%, inside the mature-plan range (-9% to
  -30%); the group new to it -7.9%, short of it, as a new organisation is expected to be.
  In these runs 30% of the capitated group's non-primary care is given outside at
  reference practice, which its levers cannot reach. Medicare Advantage HMOs, the
  evidence's plans, have closed networks, so a lower `attribution.outside_share` in the
  capitation scenarios would be closer to the plans measured (not changed here).
* **Coding under capitation**: the prospective CMS-HCC score (issue 13; docs/coding.md)
  rises 2.5 points a year over FFS, above Medicare Advantage's 1-2. The coding lever
  moves recapture, specificity and unsupported codes (and, under FFS, the E/M level), and
  costs `costs.documentation_usd_per_patient_year`; its curvature
  (`coding_effort_cost_usd`) is an assumption, not calibrated. RADV audits
  (`revenue_cycle.radv`, off by default) enter the expected payoff when on
  (`sim/behaviour/revenue_cycle.py`). They cut the marginal value of coding by about a
  third under global capitation, not enough to move the chosen intensity off the top.
* **Coded HCC prevalence** (`benchmarks/hcc_check.py --size 5000`, FFS coding): diabetes
  (HCC 18/19) 21.4%, heart failure (HCC85) 9.7%, COPD (HCC111) 9.7%, against 20-25%,
  9-12% and 8-11%. The evidence is CCW FFS 2019 (27.5%, 14.6%, ~11% over 1-2 years of
  claims), of which one year's coding catches ~75-85% (Health Affairs 2024). Before
  per-condition documentation and heart-failure/COPD onset they were 18%, 5% and 5%
  (docs/coding.md). R² of the score against next-year spending is 0.08-0.14, and the
  mean score 1.000 at normalisation.
* **Days in accounts receivable** (`days_in_ar`, revenue cycle on, FFS, 2,000 patients):
  33.5 days for the primary-care group and specialists, ~35 for hospitals (30 with the
  revenue cycle off: the claims payment lag). MGMA practice medians are ~28-40 days
  (primary care lowest; 30-45 the usual target) and hospitals ~45-50 (HFMA). Those cover
  all payers with patient balances, so a traditional-Medicare-only panel at the low end
  is expected.
* **Bundled joint replacement**: the hospital chooses its post-acute intensity after
  joint replacement (discharge to SNF/IRF and SNF length of stay) besides transitional
  care and elective volume (no change, as CJR found). Spending per episode is -2.1%,
  inside the -2% to -5% row but short of CJR's -3.1%. The comparator is the same hospital
  at reference practice; its documentation (CDI) is the reference effort, which is also
  what it chooses under the bundle (the target follows the anchor stay's DRG). The
  cut comes mostly from fewer SNF/IRF discharges and shorter SNF stays, as in CJR. The
  post-acute curvature (`post_acute_effort_cost_usd`) is a judgement, not fitted to
  this row. Transitional care applies to every discharge of the panel (the spillover
  row): -0.4%, within the judgement range.
* **Hospital global budget (Maryland-like)** (`global_budget`, docs/contracts.md; the run
  is `benchmarks/validation_scenarios/hospital_global_budget.yaml`: the community
  hospital's Medicare facility revenue reconciled to a budget from its three baseline
  years, growth 0, a 5% corridor, 50% variable cost factor). The hospital raises
  transitional care, trims elective volume and keeps its documentation at the reference
  (CDI effort 0 in every replication-year: the corridor takes the uplift back): hospital
  spending -0.5% and total spending on care -0.7%, within the ranges (-1.0% and -1.0%
  earlier in the session; the warm-started optimiser and the recalibration moved them).
  That is between Roberts et al.'s null early effect and RTI's -4.1% hospital and -2.8%
  total over four years. Maryland hospitals cut mostly hospital outpatient spending and
  avoidable admissions, with care-management investment the model gives the hospital no
  lever for.
* Ranges over few replications are crude; the two targets were met with the parameters
  at their means in `tests/behaviour/test_responses.py` as well.
* Attribution, churn and leakage (issue 14 item 1) are on in these runs: CMS assigns
  beneficiaries by the plurality of primary care, about 30% of non-primary care is given
  outside the group, and its spending counts in the ACO's expenditure.

## Before issue 14 (from the issue, same scenarios, no parameter uncertainty)

| effect | before | evidence |
| --- | --- | --- |
| one-sided MSSP, spending | -3.5% in year 1, -4.5% average | ~-1 to -2% early |
| ENHANCED, spending | -9.1% | no ACO evidence at that size |
| glide path, year 5 | -6% to -10% | mature ACOs ~2-4% |
| elective surgery under MSSP | -17% | no study shows it |
| coding under risk adjustment | 0.5 -> 0.97 in 4 years | ~1-2 points a year |
| bundled joint replacement | no response | -3% to -4% |
| P(owing), two-sided | 0% | 5-7% of two-sided ACOs |

The behaviour parameters were fitted to the two targets with
`vbcsim calibrate scenarios/calibration/behaviour_first_year.yaml` (docs/calibration.md) after
the merges of 2026-12-07 (the hospital's CDI choice, the warm-started optimiser):
pass_through 0.60 and the group's fee_elasticity 1.13 (Nelder-Mead, 30 evaluations, 3
scenarios x 2 replications of 4,000 patients each; simulated -1.43% and +2.94%; before
0.64 and 1.19, and before the smooth expected payoffs and FFS coding revenue 0.50 and 1.13).
"""


# --------------------------------------------------------------------------- CMS PUF


def _hospital_spend(rep: dict) -> float:
    """Facility (inpatient + hospital outpatient) spending over the plan years."""
    return pop(rep, "spend_inpatient_usd") + pop(rep, "spend_outpatient_usd")


EFFECTS += [
    Effect("Hospital global budget (Maryland-like): hospital spending, mean of 5 years",
           "check", -0.05, 0.0, "%", "Medicare hospital expenditure -4.1% over 2014-2018 "
           "(RTI final evaluation); no consistent change in hospital use after 2 years "
           "(Roberts et al.)", "Haber et al., RTI for CMS, Nov 2019; Roberts et al., JAMA "
           "Intern Med 2018;178:260", ("ffs", "global_budget"),
           lambda r, y: _hospital_spend(r["global_budget"]) / _hospital_spend(r["ffs"]) - 1),
    Effect("Hospital global budget: total spending on care (claims), mean of 5 years",
           "check", -0.04, 0.0, "%", "total Medicare expenditure -2.8% (RTI); no "
           "significant change early (Roberts et al.)", "Haber et al., RTI for CMS, 2019; "
           "Roberts et al. 2018", ("ffs", "global_budget"),
           lambda r, y: change(r["global_budget"], r["ffs"], "spend_per_capita_usd")),
]

PUF_DIR = Path("/work/shared/data/cms")


def puf_owing() -> pd.DataFrame:
    """Per performance year and track (BASIC E, ENHANCED): ACOs, the share owing losses
    (``EarnSaveLoss < 0``) and the mean and SD of the savings rate, from CMS's MSSP ACO
    public use files (empty when the files are not there)."""
    rows = []
    for year in (2023, 2024):
        path = PUF_DIR / f"mssp_aco_puf_py{year}.csv"
        if not path.exists():
            continue
        df = pd.read_csv(path, low_memory=False, encoding="latin-1")
        for col in ("Sav_rate", "EarnSaveLoss"):
            df[col] = pd.to_numeric(df[col].astype(str).str.replace(r"[%,$]", "", regex=True),
                                    errors="coerce")
        track = df["Current_Track"].astype(str).str.strip()
        for code, label in (("E", "BASIC E"), ("EN", "ENHANCED")):
            d = df[track == code]
            rows.append({"year": year, "track": label, "acos": len(d),
                         "owing": float((d["EarnSaveLoss"] < 0).mean()),
                         "sav_mean": float(d["Sav_rate"].mean()) / 100,
                         "sav_sd": float(d["Sav_rate"].std()) / 100})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- table


def evaluate(st: Settings) -> pd.DataFrame:
    rows = []
    for e in EFFECTS:
        if not all((CACHE / f"{st.key(run)}.pkl").exists() for run in e.needs):
            rows.append({"effect": e.label, "role": e.role, "status": "not run"})
            continue
        data = {run: simulate(run, st) for run in e.needs}
        reps = [{run: data[run][i] for run in e.needs} for i in range(st.reps)]
        if e.pooled is not None:
            mean, lo, hi = e.pooled(reps, st.years)
        else:
            vals = np.array([e.measure(r, st.years) for r in reps], dtype=float)
            mean = float(np.nanmean(vals))
            lo, hi = (float(x) for x in np.nanpercentile(vals, [2.5, 97.5]))
        rows.append({"effect": e.label, "role": e.role, "status": "run", "mean": mean,
                     "lo": lo, "hi": hi, "ev_lo": e.low, "ev_hi": e.high, "unit": e.unit,
                     "evidence": e.evidence, "source": e.source,
                     "within": e.low <= mean <= e.high})
    return pd.DataFrame(rows)


def _fmt(x: float, unit: str) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x * 100:+.1f}%" if unit == "%" else f"{x * 100:.1f}%"


def render(table: pd.DataFrame, st: Settings) -> str:
    pu = ("ON (each replication draws the scenarios' uncertainty: block)" if st.uncertainty
          else "OFF (means)")
    lines = [
        "# Validation: every effect vbcsim produces, next to its evidence",
        "",
        "Generated by `benchmarks/validation.py` (do not edit by hand; re-run it). "
        f"Runs: the shipped scenarios at {st.size:,} patients, {st.years} plan years, "
        f"{st.reps} replications, seed {st.seed}, common random numbers, parameter "
        f"uncertainty {pu}.",
        "",
        "**Targets** are what the behaviour parameters were calibrated to (first-year "
        "one-sided MSSP effect and the fee elasticity only). Every other row is a "
        "**check**: nothing was tuned to it, and misses are reported as they are. "
        "*Simulated*: mean over replications, and the 2.5-97.5 percentile range over "
        "replications (parameter and patient-level uncertainty together; with few "
        "replications a crude range). P(owing): share of replication-years in which the "
        "ACO owes, with a Wilson 95% interval. *Within?*: the simulated mean lies in the "
        "evidence range.",
        "",
        "| effect | role | evidence | source | simulated (range) | within? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in table.iterrows():
        if r["status"] != "run":
            lines.append(f"| {r['effect']} | {r['role']} | | | not run | |")
            continue
        ev = f"{_fmt(r['ev_lo'], r['unit'])} to {_fmt(r['ev_hi'], r['unit'])}: {r['evidence']}"
        sim = (f"{_fmt(r['mean'], r['unit'])} ({_fmt(r['lo'], r['unit'])} to "
               f"{_fmt(r['hi'], r['unit'])})")
        lines.append(f"| {r['effect']} | {r['role']} | {ev} | {r['source']} | {sim} | "
                     f"{'yes' if r['within'] else '**no**'} |")
    for label, ev, why in NOT_MODELLED:
        lines.append(f"| {label} | check | {ev} | | not modelled: {why} | — |")
    puf = puf_owing()
    if len(puf):
        lines += ["", "## P(owing) in CMS's results", "",
                  "Share of two-sided ACOs that owed shared losses, and their savings rates "
                  "(benchmark minus expenditure, % of benchmark), from the MSSP ACO public "
                  "use files (`/work/shared/data/cms`, computed by this script):", "",
                  "| performance year | track | ACOs | owed losses | savings rate, mean | "
                  "savings rate, SD across ACOs |", "| --- | --- | --- | --- | --- | --- |"]
        for _, r in puf.iterrows():
            lines.append(f"| {r['year']} | {r['track']} | {r['acos']} | {r['owing']:.1%} | "
                         f"{r['sav_mean']:.1%} | {r['sav_sd']:.1%} |")
    return "\n".join(lines) + "\n"


#: sections other scripts write and this page includes as they are (each between its own
#: begin/end markers): the PUF predictive check (benchmarks/puf_predictive.py, issue 15);
#: coding and what FFS pays (hand-written from docs/coding.md's runs, issue 13 item 3)
INCLUDED = (ROOT / "benchmarks" / "puf_predictive.md", ROOT / "benchmarks" / "coding_fees.md")


def included_sections() -> str:
    """The text of :data:`INCLUDED` files that exist, each after a blank line."""
    return "".join("\n" + f.read_text(encoding="utf-8") for f in INCLUDED if f.exists())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--group", choices=sorted(GROUPS), action="append", default=[])
    ap.add_argument("--size", type=int, default=8000)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-parameter-uncertainty", action="store_true")
    ap.add_argument("--render", action="store_true", help="write docs/validation.md")
    ap.add_argument("--notes", type=Path, help="markdown appended to the page")
    args = ap.parse_args(argv)
    st = Settings(args.size, args.years, args.reps, args.seed, not args.no_parameter_uncertainty)
    for group in args.group:
        for run in GROUPS[group]:
            t = time.process_time()
            simulate(run, st)
            print(f"{run}: {time.process_time() - t:.0f} s CPU", flush=True)
    table = evaluate(st)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table[[c for c in ("effect", "role", "mean", "lo", "hi", "within")
                     if c in table]].to_string())
    if args.render:
        text = render(table, st)
        text += NOTES
        if args.notes and args.notes.exists():
            text += "\n" + args.notes.read_text(encoding="utf-8")
        text += included_sections()
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
